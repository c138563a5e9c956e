using Aspire.Kafka.Coordinator.Apis;
using Aspire.Kafka.Coordinator.Groups;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Xunit.Abstractions;

namespace Aspire.Kafka.Coordinator.Tests;

/// <summary>
/// Groups committing at the same time: each partition's writes are batched (one append for the
/// commits that waited), every group keeps its own latest offsets, and a new owner replaying the
/// partitions finds exactly those.
/// </summary>
public sealed class ConcurrentCommitTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Many_groups_committing_concurrently_keep_their_latest_offsets_after_a_takeover()
    {
        int seed = Environment.GetEnvironmentVariable("COORDINATOR_TEST_SEED") is { } fixedSeed ? int.Parse(fixedSeed, System.Globalization.CultureInfo.InvariantCulture) : Random.Shared.Next();
        output.WriteLine($"seed {seed} (COORDINATOR_TEST_SEED={seed} repeats it)");
        var random = new Random(seed);
        const int Partitions = 4;
        const int Groups = 40;
        var config = new GroupConfig { InitialRebalanceDelayMs = 0, OffsetsTopicPartitions = Partitions };
        var log = new InMemoryGroupLog();
        var owner = new Harness(config, log, load: false);
        for (int p = 0; p < Partitions; p++)
        {
            owner.Load(p, epoch: 1);
        }

        log.CompleteAsynchronously = true;

        // Each group has one committer (its commits in order); the groups run at once. Offsets go
        // up and down at random, so a commit applied or written out of order shows.
        string[] topics = ["orders", "payments", "audit"];
        List<(string Group, List<List<(string Topic, int Partition, long Offset)>> Commits)> plans = [.. Enumerable.Range(0, Groups).Select(g =>
            ($"group-{g}", Enumerable.Range(0, random.Next(5, 25)).Select(_ =>
                Enumerable.Range(0, random.Next(1, 4)).Select(_ => (topics[random.Next(topics.Length)], random.Next(0, 3), (long)random.Next(0, 1_000_000)))
                    .DistinctBy(o => (o.Item1, o.Item2)).ToList()).ToList()))];
        var expected = new Dictionary<(string Group, string Topic, int Partition), long>();
        foreach ((string group, List<List<(string Topic, int Partition, long Offset)>> commits) in plans)
        {
            foreach ((string topic, int partition, long offset) in commits.SelectMany(c => c))
            {
                expected[(group, topic, partition)] = offset;
            }
        }

        await Task.WhenAll(plans.Select(plan => Task.Run(async () =>
        {
            foreach (List<(string Topic, int Partition, long Offset)> commit in plan.Commits)
            {
                OffsetCommitResponse response = await OffsetCommitApi.CommitAsync(owner.Coordinator, new OffsetCommitRequest
                {
                    GroupId = plan.Group,
                    GenerationIdOrMemberEpoch = -1,
                    MemberId = "",
                    Topics = [.. commit.GroupBy(o => o.Topic).Select(t => new OffsetCommitRequest.OffsetCommitRequestTopic
                    {
                        Name = t.Key,
                        Partitions = [.. t.Select(o => new OffsetCommitRequest.OffsetCommitRequestPartition { PartitionIndex = o.Partition, CommittedOffset = o.Offset })],
                    })],
                }, 7, owner.Now, owner.Topics.Snapshot());
                Assert.All(response.Topics.SelectMany(t => t.Partitions), p => Assert.Equal((short)ErrorCode.None, p.ErrorCode));
            }
        })));

        log.CompleteAsynchronously = false;
        AssertCommitted(owner, expected, $"the first owner (seed {seed})");
        long writes = plans.Sum(p => p.Commits.Count);
        Assert.Equal(writes, owner.Coordinator.LogWrites);
        output.WriteLine($"{writes} commits in {owner.Coordinator.LogAppends} appends");

        // Takeover: another coordinator owns the partitions at the next epoch and replays them.
        var successor = new Harness(config, log, load: false);
        for (int p = 0; p < Partitions; p++)
        {
            successor.Load(p, epoch: 2);
        }

        AssertCommitted(successor, expected, $"the new owner after replay (seed {seed})");
        Assert.Equal(ErrorCode.NotCoordinator, await CommitOnceAsync(owner, "group-0", 1));
    }

    [Fact]
    public async Task Commits_waiting_for_one_partition_are_written_in_one_append()
    {
        var log = new InMemoryGroupLog();
        var h = new Harness(new GroupConfig { InitialRebalanceDelayMs = 0, OffsetsTopicPartitions = 1 }, log);
        int appendsBefore = log.AppendCount;
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        log.AppendGate = held.Task;

        // The first commit's append is in flight (held); the next nine wait for it and go together.
        Task<ErrorCode> first = CommitOnceAsync(h, "group-0", 100);
        List<Task<ErrorCode>> waiting = [.. Enumerable.Range(1, 9).Select(g => CommitOnceAsync(h, $"group-{g}", 100 + g))];
        Assert.False(first.IsCompleted);
        Assert.All(waiting, w => Assert.False(w.IsCompleted));
        Assert.Equal(-1, h.Committed("t", 0, "group-1")); // not visible before it is written

        log.AppendGate = null;
        held.SetResult();
        Assert.Equal(ErrorCode.None, await first);
        Assert.All(await Task.WhenAll(waiting), e => Assert.Equal(ErrorCode.None, e));
        Assert.Equal(2, log.AppendCount - appendsBefore);
        Assert.Equal(2, h.Coordinator.LogAppends);
        Assert.Equal(10, h.Coordinator.LogWrites);
        for (int g = 0; g < 10; g++)
        {
            Assert.Equal(100 + g, h.Committed("t", 0, $"group-{g}"));
        }
    }

    [Fact]
    public async Task A_failed_batched_append_fails_every_commit_in_it()
    {
        var log = new InMemoryGroupLog();
        var h = new Harness(new GroupConfig { InitialRebalanceDelayMs = 0, OffsetsTopicPartitions = 1 }, log);
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        log.AppendGate = held.Task;
        Task<ErrorCode> first = CommitOnceAsync(h, "group-0", 1);
        List<Task<ErrorCode>> waiting = [.. Enumerable.Range(1, 4).Select(g => CommitOnceAsync(h, $"group-{g}", 2))];

        log.AppendGate = null;
        log.AppendFailure = new IOException("the brokers are unreachable");
        held.SetResult();
        Assert.All(await Task.WhenAll([first, .. waiting]), e => Assert.Equal(ErrorCode.CoordinatorNotAvailable, e));
        Assert.All(Enumerable.Range(0, 5), g => Assert.Equal(-1, h.Committed("t", 0, $"group-{g}")));
    }

    private static async Task<ErrorCode> CommitOnceAsync(Harness h, string group, long offset)
    {
        OffsetCommitResponse response = await h.Commit("t", 0, offset, group: group);
        return (ErrorCode)Assert.Single(Assert.Single(response.Topics).Partitions).ErrorCode;
    }

    private static void AssertCommitted(Harness h, Dictionary<(string Group, string Topic, int Partition), long> expected, string who)
    {
        foreach (IGrouping<string, KeyValuePair<(string Group, string Topic, int Partition), long>> group in expected.GroupBy(e => e.Key.Group))
        {
            OffsetFetchResult fetched = h.Coordinator.FetchOffsets(group.Key, null);
            Assert.Equal(ErrorCode.None, fetched.Error);
            Dictionary<(string, int), long> actual = fetched.Topics.SelectMany(t => t.Partitions.Select(p => ((t.Topic, p.Partition), p.Offset!.Offset))).ToDictionary();
            Dictionary<(string, int), long> wanted = group.ToDictionary(e => (e.Key.Topic, e.Key.Partition), e => e.Value);
            Assert.True(wanted.Count == actual.Count && wanted.All(w => actual.GetValueOrDefault(w.Key, -1) == w.Value),
                $"{who}: group {group.Key} has [{string.Join(", ", actual.OrderBy(a => a.Key).Select(a => $"{a.Key}={a.Value}"))}], "
                + $"expected [{string.Join(", ", wanted.OrderBy(a => a.Key).Select(a => $"{a.Key}={a.Value}"))}]");
        }
    }
}
