using System.Globalization;
using Aspire.Kafka.Hosting;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Xunit.Abstractions;

namespace Aspire.Kafka.ControllerService.Tests;

/// <summary>KIP-630 on real processes: snapshots every few KiB of records, the log start moves, a voter that was away fetches the snapshot.</summary>
public sealed class SnapshotTests(ITestOutputHelper output)
{
    private const int Topics = 120;

    [Fact]
    public async Task A_voter_behind_the_leaders_log_start_fetches_the_snapshot_and_ends_with_every_topic()
    {
        await using Quorum quorum = await Quorum.StartAsync(config: new Dictionary<string, string>
        {
            ["metadata.log.max.record.bytes.between.snapshots"] = "4096",
            ["metadata.log.segment.bytes"] = "8192",
        });
        (int leader, _) = await quorum.WaitForLeaderAsync(Quorum.Ids, TimeSpan.FromSeconds(10));
        await using TestBroker broker = (await TestBroker.RegisterUnfencedAsync(quorum, 101))[0];
        await CreateTopicsAsync(quorum, 0, 10);

        // A follower stops cleanly: its metadata log dir gets the clean-shutdown marker.
        int away = Quorum.Ids.First(id => id != leader);
        string awayDir = Path.Combine(quorum.DataDirectory(away), "__cluster_metadata-0");
        await quorum.Node(away).StopAsync();
        Assert.True(File.Exists(Path.Combine(quorum.DataDirectory(away), ".kafka_cleanshutdown")), "no .kafka_cleanshutdown after a clean stop");
        long awayEnd = LogEndOffset(awayDir);

        await CreateTopicsAsync(quorum, 10, Topics);

        // Every running voter snapshotted past the stopped one's log end and deleted the first segment.
        foreach (int id in Quorum.Ids.Where(id => id != away))
        {
            string dir = Path.Combine(quorum.DataDirectory(id), "__cluster_metadata-0");
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
            while (!(LatestSnapshotEnd(dir) > awayEnd && !File.Exists(Path.Combine(dir, "00000000000000000000.log"))))
            {
                Assert.True(DateTime.UtcNow < deadline,
                    $"controller-{id}: no snapshot past {awayEnd} with the first segment deleted; files: {string.Join(' ', Directory.GetFiles(dir).Select(Path.GetFileName))}");
                await Task.Delay(50);
            }

            output.WriteLine($"controller-{id}: snapshot at {LatestSnapshotEnd(dir)}, files {string.Join(' ', Directory.GetFiles(dir).Select(Path.GetFileName))}");
        }

        // Restarted, it is behind the leader's log start: FetchSnapshot, load, then the log after it.
        await quorum.Node(away).RestartAsync();
        Assert.False(File.Exists(Path.Combine(quorum.DataDirectory(away), ".kafka_cleanshutdown")), "the marker must be removed once the log is loaded");
        MetadataResponse metadata = await quorum.WaitForMetadataAsync(away, m => m.Topics.Count == Topics, TimeSpan.FromSeconds(20), $"{Topics} topics");
        Assert.Equal(Enumerable.Range(0, Topics).Select(TopicName).Order(StringComparer.Ordinal), metadata.Topics.Select(t => t.Name).Order(StringComparer.Ordinal));
        Assert.Equal(101, Assert.Single(metadata.Brokers).NodeId);
        Assert.True(LatestSnapshotEnd(awayDir) > awayEnd, $"controller-{away} holds no snapshot past {awayEnd}");
        Assert.False(File.Exists(Path.Combine(awayDir, "00000000000000000000.log")), "the installed snapshot replaced the old log");

        // It keeps following: a topic created now reaches it through the log.
        await CreateTopicsAsync(quorum, Topics, Topics + 1);
        await quorum.WaitForMetadataAsync(away, m => m.Topics.Any(t => t.Name == TopicName(Topics)), TimeSpan.FromSeconds(10), TopicName(Topics));

        // A restart of the leader loads its own snapshot and replays the rest: the same topics.
        (int current, _) = await quorum.WaitForLeaderAsync(Quorum.Ids, TimeSpan.FromSeconds(10));
        await quorum.Node(current).RestartAsync();
        await quorum.WaitForMetadataAsync(current, m => m.Topics.Count == Topics + 1, TimeSpan.FromSeconds(20), $"{Topics + 1} topics after restart");
    }

    private static string TopicName(int i) => string.Create(CultureInfo.InvariantCulture, $"topic-{i:D4}");

    private static async Task CreateTopicsAsync(Quorum quorum, int from, int to)
    {
        for (int i = from; i < to; i++)
        {
            CreateTopicsResponse created = await quorum.SendToControllerAsync<CreateTopicsRequest, CreateTopicsResponse>(new CreateTopicsRequest
            {
                Topics = [new CreateTopicsRequest.CreatableTopic { Name = TopicName(i), NumPartitions = 1, ReplicationFactor = 1 }],
                TimeoutMs = 5000,
            }, r => r.Topics.Any(t => t.ErrorCode == (short)ErrorCode.NotController));
            short error = Assert.Single(created.Topics).ErrorCode;
            // A retry after a leader change may find the topic already created by the first attempt.
            Assert.True(error is 0 or (short)ErrorCode.TopicAlreadyExists, $"CreateTopics {TopicName(i)}: {error}");
        }
    }

    private static long LatestSnapshotEnd(string dir) => Directory.GetFiles(dir, "*.checkpoint")
        .Select(f => long.Parse(Path.GetFileName(f)[..20], CultureInfo.InvariantCulture))
        .DefaultIfEmpty(-1)
        .Max();

    /// <summary>The log end of a stopped voter: the end of its last segment's last batch (base offset + last offset delta + 1).</summary>
    private static long LogEndOffset(string dir)
    {
        long end = Math.Max(0, LatestSnapshotEnd(dir));
        foreach (string segment in Directory.GetFiles(dir, "*.log"))
        {
            byte[] bytes = File.ReadAllBytes(segment);
            int position = 0;
            while (position + 61 <= bytes.Length)
            {
                long baseOffset = System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(position));
                int length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(position + 8));
                int lastDelta = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(position + 23));
                if (length <= 0)
                {
                    break;
                }

                end = Math.Max(end, baseOffset + lastDelta + 1);
                position += 12 + length;
            }
        }

        return end;
    }
}
