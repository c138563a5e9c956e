using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Aspire.Kafka.Broker.Tests;

/// <summary>kill -9 of a partition leader: the controller elects another, acknowledged records survive, the killed broker truncates and rejoins.</summary>
[Collection(ProcessCluster.Collection)]
public sealed partial class FailoverProcessTests
{
    [GeneratedRegex(@"partition (\d+), leader (-?\d+), replicas: ([\d,]+), isrs: ([\d,]*)")]
    private static partial Regex PartitionLine();

    private static async Task<(int Leader, int[] Isr)> DescribeAsync(ProcessCluster cluster, string topic)
    {
        string metadata = await ProcessCluster.KcatAsync("", 30, "-b", cluster.Bootstrap, "-L", "-t", topic);
        Match m = PartitionLine().Match(metadata);
        Assert.True(m.Success, $"no partition line in kcat -L output: {metadata}");
        int[] isr = m.Groups[4].Value.Length == 0 ? [] : [.. m.Groups[4].Value.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))];
        return (int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), isr);
    }

    private static string Records(int from, int count)
    {
        var sb = new StringBuilder();
        for (int i = from; i < from + count; i++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"k{i}:v{i}\n");
        }

        return sb.ToString();
    }

    [Fact]
    public async Task KillingTheLeaderLosesNoAcknowledgedRecordAndTheBrokerRejoinsTheIsr()
    {
        await using ProcessCluster cluster = await ProcessCluster.StartAsync(3, new Dictionary<string, string>
        {
            ["num.partitions"] = "1",
            ["default.replication.factor"] = "3",
            ["min.insync.replicas"] = "2",
            ["replica.lag.time.max.ms"] = "3000",
        });
        string[] produce = ["-b", cluster.Bootstrap, "-P", "-t", "failover", "-K:", "-X", "acks=all", "-X", "message.timeout.ms=60000"];

        await ProcessCluster.KcatAsync(Records(0, 500), 90, produce);
        (int leader, _) = await DescribeAsync(cluster, "failover");
        string leaderName = $"broker-{leader - 100}";
        await cluster.Cluster.Node(leaderName).KillAsync();

        // librdkafka refreshes metadata and sends to the new leader once the controller fences the dead one.
        await ProcessCluster.KcatAsync(Records(500, 500), 90, produce);
        (int newLeader, int[] isrAfterKill) = await DescribeAsync(cluster, "failover");
        Assert.NotEqual(leader, newLeader);
        Assert.DoesNotContain(leader, isrAfterKill);

        await cluster.Cluster.Node(leaderName).RestartAsync();
        DateTime deadline = DateTime.UtcNow.AddSeconds(60);
        int[] isr;
        while (!(isr = (await DescribeAsync(cluster, "failover")).Isr).Contains(leader))
        {
            Assert.True(DateTime.UtcNow < deadline, $"broker {leader} did not rejoin the ISR [{string.Join(',', isr)}] within 60 s");
            await Task.Delay(250);
        }

        string consumed = await ProcessCluster.KcatAsync("", 60, "-b", cluster.Bootstrap, "-C", "-t", "failover", "-o", "beginning", "-e", "-f", "%s\n");
        string[] values = consumed.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => $"v{i}"), values);
    }

    [Fact]
    public async Task SigtermMovesLeadershipAwayAndClosesTheLogsCleanly()
    {
        await using ProcessCluster cluster = await ProcessCluster.StartAsync(3, new Dictionary<string, string>
        {
            ["num.partitions"] = "1",
            ["default.replication.factor"] = "3",
        });
        await ProcessCluster.KcatAsync(Records(0, 100), 90, "-b", cluster.Bootstrap, "-P", "-t", "graceful", "-K:", "-X", "acks=all");
        (int leader, _) = await DescribeAsync(cluster, "graceful");
        Hosting.ResourceProcess node = cluster.Cluster.Node($"broker-{leader - 100}");
        string dataDirectory = node.Resource.DataDirectory!;

        await node.StopAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(0, node.ExitCode);
        Assert.True(File.Exists(Path.Combine(dataDirectory, ".kafka_cleanshutdown")), "no clean-shutdown marker after SIGTERM");
        Assert.True(File.Exists(Path.Combine(dataDirectory, "replication-offset-checkpoint")), "no high watermark checkpoint after SIGTERM");
        (int newLeader, _) = await DescribeAsync(cluster, "graceful");
        Assert.NotEqual(leader, newLeader);
        Assert.NotEqual(-1, newLeader);
        await ProcessCluster.KcatAsync(Records(100, 100), 90, "-b", cluster.Bootstrap, "-P", "-t", "graceful", "-K:", "-X", "acks=all");
        string consumed = await ProcessCluster.KcatAsync("", 60, "-b", cluster.Bootstrap, "-C", "-t", "graceful", "-o", "beginning", "-e", "-f", "%s\n");
        Assert.Equal(Enumerable.Range(0, 200).Select(i => $"v{i}"), consumed.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>
    /// An idempotent producer (confluent-kafka, librdkafka 2.0.2, enable.idempotence=true) keeps
    /// producing while (1) the partition leader is killed — in-flight batches are retried on the new
    /// leader, which recognises those the old one had replicated — and (2) the leader stops (SIGSTOP)
    /// for longer than the producer's request timeout, so the producer resends batches the leader
    /// then writes from its socket buffer: the leader answers the resent ones from its producer
    /// state. Every record is in the log exactly once, in order, and the log's batches carry the
    /// producers' ids with contiguous sequences.
    /// </summary>
    [Fact]
    public async Task AnIdempotentProducerLosesAndDuplicatesNothingWhenTheLeaderIsKilledOrStalls()
    {
        const int Count = 20_000;
        await using ProcessCluster cluster = await ProcessCluster.StartAsync(3, new Dictionary<string, string>
        {
            ["num.partitions"] = "1",
            ["default.replication.factor"] = "3",
            ["min.insync.replicas"] = "2",
        });
        await ProcessCluster.KcatAsync(Records(0, 1), 90, "-b", cluster.Bootstrap, "-P", "-t", "exactly-once", "-K:", "-X", "acks=all");
        (int leader, _) = await DescribeAsync(cluster, "exactly-once");

        string script = Path.Combine(AppContext.BaseDirectory, "idempotent_failover_flow.py");
        string count = Count.ToString(CultureInfo.InvariantCulture);
        await using (var producer = StreamingProcess.Start("/usr/bin/python3", script, cluster.Bootstrap, "exactly-once", count, "v"))
        {
            await producer.WaitForLineAsync(l => l == "acked 2000", TimeSpan.FromSeconds(60));
            await cluster.Cluster.Node($"broker-{leader - 100}").KillAsync();
            (int exitCode, string output) = await producer.WaitForExitAsync(TimeSpan.FromSeconds(180));
            Assert.True(exitCode == 0, $"the idempotent producer failed ({exitCode}):\n{output}");
            Assert.Contains($"done delivered={Count} errors=0", output, StringComparison.Ordinal);
        }

        (int newLeader, _) = await DescribeAsync(cluster, "exactly-once");
        Assert.NotEqual(leader, newLeader);
        int stalled = cluster.Cluster.Node($"broker-{newLeader - 100}").ProcessId;
        await using (var producer = StreamingProcess.Start("/usr/bin/python3", script, cluster.Bootstrap, "exactly-once", count, "w",
            "request.timeout.ms=1000", "socket.timeout.ms=1000"))
        {
            await producer.WaitForLineAsync(l => l == "acked 2000", TimeSpan.FromSeconds(60));
            Signal(stalled, "STOP");
            try
            {
                await producer.WaitForLineAsync(l => l.Contains("timed out", StringComparison.OrdinalIgnoreCase) || l.Contains("Timed out", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
            }
            finally
            {
                Signal(stalled, "CONT");
            }

            (int exitCode, string output) = await producer.WaitForExitAsync(TimeSpan.FromSeconds(180));
            Assert.True(exitCode == 0, $"the idempotent producer failed ({exitCode}):\n{output}");
            Assert.Contains($"done delivered={Count} errors=0", output, StringComparison.Ordinal);
        }

        string consumed = await ProcessCluster.KcatAsync("", 60, "-b", cluster.Bootstrap, "-C", "-t", "exactly-once", "-o", "beginning", "-e", "-f", "%s\n");
        string[] values = consumed.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string[] expected = ["v0", .. Enumerable.Range(0, Count).Select(i => $"v{i}"), .. Enumerable.Range(0, Count).Select(i => $"w{i}")];
        Assert.True(values.SequenceEqual(expected),
            $"{values.Length} records (expected {expected.Length}), {values.Length - values.Distinct().Count()} duplicated, first out of place at {Enumerable.Range(0, Math.Min(values.Length, expected.Length)).FirstOrDefault(i => values[i] != expected[i], -1)}");

        // In the leader's log: two producer ids, each with sequences 0..Count-1 without gap or repeat.
        List<Records.RecordBatchHeader> batches = SegmentBatches.Read(Path.Combine(cluster.Cluster.Node($"broker-{newLeader - 100}").Resource.DataDirectory!, "exactly-once-0"));
        var producers = batches.Where(b => b.ProducerId >= 0).GroupBy(b => b.ProducerId).ToList();
        Assert.Equal(2, producers.Count);
        foreach (IGrouping<long, Records.RecordBatchHeader> batchesOfOne in producers)
        {
            int next = 0;
            foreach (Records.RecordBatchHeader b in batchesOfOne)
            {
                Assert.Equal(next, b.BaseSequence);
                next = b.LastSequence + 1;
            }

            Assert.Equal(Count, next);
        }
    }

    private static void Signal(int processId, string signal)
    {
        using var kill = System.Diagnostics.Process.Start("kill", ["-" + signal, processId.ToString(CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }
}
