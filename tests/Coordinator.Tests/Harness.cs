using Aspire.Kafka.Coordinator.Apis;
using Aspire.Kafka.Coordinator.Groups;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Coordinator.Tests;

/// <summary>A coordinator over an in-memory log owning every partition of a 1-partition offsets topic, with a clock the test moves.</summary>
internal sealed class Harness
{
    public const string Group = "g";

    public Harness(GroupConfig? config = null, InMemoryGroupLog? log = null, bool load = true)
    {
        Config = config ?? new GroupConfig { InitialRebalanceDelayMs = 3000, OffsetsTopicPartitions = 1 };
        Log = log ?? new InMemoryGroupLog();
        Manager = new GroupMetadataManager(Config, Log);
        Coordinator = new GroupCoordinator(Manager);
        if (load)
        {
            Load();
        }
    }

    public GroupConfig Config { get; }

    public InMemoryGroupLog Log { get; }

    public GroupMetadataManager Manager { get; }

    public GroupCoordinator Coordinator { get; }

    public long Now { get; set; } = 1_700_000_000_000;

    public void Load(int partition = 0, int epoch = 1)
    {
        Task load = Manager.LoadPartitionAsync(partition, epoch, () => Now, CancellationToken.None);
        Assert.True(load.IsCompletedSuccessfully);
    }

    public void Advance(long ms)
    {
        Now += ms;
        Coordinator.Tick(Now);
    }

    public static byte[] Subscription(params string[] topics)
    {
        using var w = new KafkaWriter();
        w.WriteInt16(0);
        w.WriteInt32(topics.Length);
        foreach (string t in topics)
        {
            w.WriteString(t);
        }

        w.WriteInt32(-1);
        return w.ToArray();
    }

    public Task<JoinGroupResult> Join(string memberId = "", string? instanceId = null, short version = 3, int sessionMs = 10_000, int rebalanceMs = 30_000,
        string group = Group, string protocolType = "consumer", params (string Name, byte[] Metadata)[] protocols)
    {
        var request = new JoinGroupRequest
        {
            GroupId = group,
            MemberId = memberId,
            GroupInstanceId = instanceId,
            SessionTimeoutMs = sessionMs,
            RebalanceTimeoutMs = rebalanceMs,
            ProtocolType = protocolType,
            Protocols = [.. (protocols.Length == 0 ? [("range", Subscription("t"))] : protocols).Select(p => new JoinGroupRequest.JoinGroupRequestProtocol { Name = p.Name, Metadata = p.Metadata })],
        };
        return Coordinator.JoinGroupAsync(JoinGroupApi.Args(request, version, "client", "/127.0.0.1"), Now);
    }

    public Task<SyncGroupResult> Sync(string memberId, int generation, Dictionary<string, byte[]>? assignments = null, string? instanceId = null, string group = Group) =>
        Coordinator.SyncGroupAsync(SyncGroupApi.Args(new SyncGroupRequest
        {
            GroupId = group,
            MemberId = memberId,
            GenerationId = generation,
            GroupInstanceId = instanceId,
            Assignments = [.. (assignments ?? []).Select(a => new SyncGroupRequest.SyncGroupRequestAssignment { MemberId = a.Key, Assignment = a.Value })],
        }), Now);

    public ErrorCode Heartbeat(string memberId, int generation, string? instanceId = null, string group = Group) =>
        Coordinator.Heartbeat(HeartbeatApi.Args(new HeartbeatRequest { GroupId = group, MemberId = memberId, GenerationId = generation, GroupInstanceId = instanceId }), Now);

    public Task<OffsetCommitResponse> Commit(string topic, int partition, long offset, int generation = -1, string memberId = "", string group = Group, string metadata = "", short version = 7) =>
        OffsetCommitApi.CommitAsync(Coordinator, new OffsetCommitRequest
        {
            GroupId = group,
            GenerationIdOrMemberEpoch = generation,
            MemberId = memberId,
            Topics = [new() { Name = topic, Partitions = [new() { PartitionIndex = partition, CommittedOffset = offset, CommittedMetadata = metadata }] }],
        }, version, Now, Topics.Snapshot());

    /// <summary>The metadata the commit path checks: every topic exists except <see cref="TestTopics.Missing"/>.</summary>
    public TestTopics Topics { get; } = new();

    public long Committed(string topic, int partition, string group = Group)
    {
        (ErrorCode error, List<OffsetFetchResponse.OffsetFetchResponseTopics> topics) = FetchOffsets(group, [(topic, [partition])]);
        Assert.Equal(ErrorCode.None, error);
        return Assert.Single(Assert.Single(topics).Partitions).CommittedOffset;
    }

    public GroupMetadata? GroupState(string group = Group) => Manager.Get(group);

    // The coordinator's answers as the wire carries them, through the APIs' own translation.

    public (ErrorCode Error, List<OffsetFetchResponse.OffsetFetchResponseTopics> Topics) FetchOffsets(string group, IReadOnlyList<(string Topic, IReadOnlyList<int> Partitions)>? topics)
    {
        OffsetFetchResult result = Coordinator.FetchOffsets(group, topics);
        return (result.Error, OffsetFetchApi.GroupTopics(result));
    }

    public (ErrorCode Error, List<ListGroupsResponse.ListedGroup> Groups) ListGroups(IReadOnlyCollection<string> states, IReadOnlyCollection<string> types) =>
        ListGroupsApi.List(Coordinator, states, types);

    public DescribeGroupsResponse.DescribedGroup DescribeGroup(string group) => DescribeGroupsApi.Described(Coordinator.DescribeGroup(group));

    public Task<OffsetDeleteResponse> DeleteOffsetsAsync(OffsetDeleteRequest request, long nowMs) => OffsetDeleteApi.DeleteAsync(Coordinator, request, nowMs);

    public Task<List<DeleteGroupsResponse.DeletableGroupResult>> DeleteGroupsAsync(IReadOnlyList<string> groups, long nowMs) => DeleteGroupsApi.DeleteAsync(Coordinator, groups, nowMs);

    /// <summary>Joins <paramref name="count"/> members (v3, one generation thanks to an initial delay or a join deadline) and syncs; returns their ids, leader first.</summary>
    public async Task<(List<string> Members, int Generation)> StableGroupAsync(int count)
    {
        var joins = Enumerable.Range(0, count).Select(_ => Join()).ToList();
        for (int i = 0; i < 20 && !joins.All(j => j.IsCompleted); i++)
        {
            Advance(Math.Max(1, Config.InitialRebalanceDelayMs));
        }

        JoinGroupResult[] results = await Task.WhenAll(joins);
        Assert.All(results, r => Assert.Equal(ErrorCode.None, r.Error));
        int generation = results[0].GenerationId;
        string leader = results[0].LeaderId;
        var members = results.Select(r => r.MemberId).OrderBy(m => m == leader ? 0 : 1).ToList();
        var assignments = members.Select((m, i) => (m, new byte[] { (byte)i })).ToDictionary(x => x.m, x => x.Item2);
        var syncs = members.Select(m => Sync(m, generation, m == leader ? assignments : null)).ToList();
        SyncGroupResult[] synced = await Task.WhenAll(syncs);
        Assert.All(synced, s => Assert.Equal(ErrorCode.None, s.Error));
        return (members, generation);
    }
}

/// <summary>Every topic exists, with every partition, except those in <see cref="Missing"/>.</summary>
public sealed class TestTopics : ITopicPartitionCatalog
{
    public HashSet<string> Missing { get; } = [];

    public Func<string, int, bool> Snapshot() => (topic, _) => !Missing.Contains(topic);
}
