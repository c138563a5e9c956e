using Aspire.Kafka.Metadata;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Controller.Tests;

public sealed class CoordinatorTests
{
    private static Dictionary<int, int> Counts(MetadataImage image) =>
        image.Coordinators.Assignments.Values.GroupBy(a => a.CoordinatorId).ToDictionary(g => g.Key, g => g.Count());

    [Fact]
    public void ConsumerOffsetsIsCreatedOnDemandWithKafkasDefaults()
    {
        var h = new ControllerHarness();
        h.Start(1, 2);
        Assert.Equal(Errors.None, h.Commit(h.Controller.EnsureConsumerOffsetsTopic(h.NowMs)).Code);
        TopicImage offsets = h.Image.Topics.GetTopic("__consumer_offsets")!;
        Assert.Equal(50, offsets.Partitions.Count);
        Assert.All(offsets.Partitions.Values, p => Assert.Equal(2, p.Replicas.Count)); // 3 capped to the 2 brokers
        Assert.Equal("compact", h.Image.Configs.Get(ConfigResource.Topic("__consumer_offsets"), "cleanup.policy"));
        Assert.True(h.Image.Coordinators.IsEmpty); // no coordinator registered yet

        // Idempotent.
        Assert.Empty(h.Controller.EnsureConsumerOffsetsTopic(h.NowMs).Records);
        h.AssertReplayReproducesState();
    }

    [Fact]
    public void CreateTopicsForConsumerOffsetsUsesTheOffsetsSettings()
    {
        var h = new ControllerHarness(new QuorumControllerConfig { OffsetsTopicNumPartitions = 10, OffsetsTopicReplicationFactor = 3 });
        h.Start(1, 2, 3, 4);
        CreateTopicsResponse.CreatableTopicResult result = h.CreateTopic("__consumer_offsets", -1, -1);
        Assert.Equal(Errors.None, result.ErrorCode);
        Assert.Equal(10, result.NumPartitions);
        Assert.Equal(3, result.ReplicationFactor);
        Assert.Contains(result.Configs!, c => c.Name == "cleanup.policy" && c.Value == "compact");
    }

    [Fact]
    public void PartitionsAreBalancedOverLiveCoordinatorsAndMoveOnFailure()
    {
        var h = new ControllerHarness();
        h.Start(1, 2, 3);
        h.StartCoordinators(100, 101);
        Assert.Equal(3, h.Image.Cluster.Brokers.Count);
        Assert.Equal([100, 101], h.Image.Cluster.Coordinators.Keys);
        h.Commit(h.Controller.EnsureConsumerOffsetsTopic(h.NowMs));
        Assert.Equal(new Dictionary<int, int> { [100] = 25, [101] = 25 }, Counts(h.Image));
        Assert.All(h.Image.Coordinators.Assignments.Values, a => Assert.Equal(0, a.AssignmentEpoch));
        Assert.All(h.Image.Topics.GetTopic("__consumer_offsets")!.Partitions.Values, p => Assert.DoesNotContain(p.Replicas, r => r >= 100));

        // FindCoordinator from the image: "hello" hashes to partition 22 (Java's String.hashCode % 50).
        CoordinatorLookup hello = h.Image.FindCoordinator("hello")!;
        Assert.Equal(22, hello.Partition);
        Assert.NotNull(hello.Coordinator);

        // A third coordinator joins: 17/17/16, only moved partitions get a new epoch.
        var before = h.Image.Coordinators.Assignments;
        h.StartCoordinators(102);
        Dictionary<int, int> counts = Counts(h.Image);
        Assert.Equal(50, counts.Values.Sum());
        Assert.True(counts.Values.Max() - counts.Values.Min() <= 1, string.Join(", ", counts));
        Assert.Equal(3, counts.Count);
        foreach (CoordinatorAssignment a in h.Image.Coordinators.Assignments.Values)
        {
            CoordinatorAssignment old = before[a.PartitionId];
            Assert.Equal(old.CoordinatorId == a.CoordinatorId ? old.AssignmentEpoch : old.AssignmentEpoch + 1, a.AssignmentEpoch);
        }

        // Coordinator 100 stops heartbeating: after the session timeout its partitions move.
        var ownedBy100 = h.Image.Coordinators.AssignmentsOf(100).Select(a => a.PartitionId).ToList();
        List<TickResult> ticks = h.Advance(10_000, 1, 2, 3, 101, 102);
        Assert.Contains(ticks, t => t.FencedNodes.Contains(100));
        Assert.Empty(h.Image.Coordinators.AssignmentsOf(100));
        Assert.Equal(new Dictionary<int, int> { [101] = 25, [102] = 25 }, Counts(h.Image));
        Assert.All(ownedBy100, p => Assert.NotEqual(100, h.Image.Coordinators.Assignment(p)!.CoordinatorId));

        // Everyone gone: unassigned, FindCoordinator has no node to give.
        h.Heartbeat(101, wantFence: true);
        h.Heartbeat(102, wantFence: true);
        Assert.All(h.Image.Coordinators.Assignments.Values, a => Assert.Equal(-1, a.CoordinatorId));
        Assert.Null(h.Image.FindCoordinator("hello")!.Coordinator);

        // One comes back: it gets everything.
        h.Heartbeat(101);
        Assert.Equal(new Dictionary<int, int> { [101] = 50 }, Counts(h.Image));
        h.AssertReplayReproducesState();
    }

    [Fact]
    public void ControlledShutdownOfACoordinatorHandsItsPartitionsOver()
    {
        var h = new ControllerHarness();
        h.Start(1);
        h.StartCoordinators(100, 101);
        h.Commit(h.Controller.EnsureConsumerOffsetsTopic(h.NowMs));
        Assert.False(h.Heartbeat(100, wantShutDown: true).ShouldShutDown);
        Assert.Equal(new Dictionary<int, int> { [101] = 50 }, Counts(h.Image));
        h.Heartbeat(1);
        h.Heartbeat(101);
        Assert.True(h.Heartbeat(100, wantShutDown: true).ShouldShutDown);
        h.AssertReplayReproducesState();
    }

    [Fact]
    public void NodeIdsAreUniqueAcrossRoles()
    {
        var h = new ControllerHarness();
        h.Start(1);
        Assert.Equal(Errors.DuplicateBrokerRegistration, h.Register(1, coordinator: true).ErrorCode);
        h.StartCoordinators(100);
        Assert.Equal(Errors.DuplicateBrokerRegistration, h.Register(100).ErrorCode);
    }

    [Fact]
    public void ACoordinatorIsNotAValidReplica()
    {
        var h = new ControllerHarness();
        h.Start(1);
        h.StartCoordinators(100);
        var topic = ControllerHarness.Topic("t", -1, -1);
        topic.Assignments.Add(new CreateTopicsRequest.CreatableReplicaAssignment { PartitionIndex = 0, BrokerIds = [1, 100] });
        CreateTopicsResponse.CreatableTopicResult result = h.Commit(h.Controller.CreateTopics(new CreateTopicsRequest { Topics = [topic] }, h.NowMs)).Topics[0];
        Assert.Equal(Errors.InvalidReplicaAssignment, result.ErrorCode);
        Assert.Contains("group coordinator", result.ErrorMessage);
    }
}
