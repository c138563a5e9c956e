using Aspire.Kafka.Metadata;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Controller.Tests;

public sealed class AlterPartitionTests
{
    private static ControllerHarness Setup()
    {
        var h = new ControllerHarness();
        h.Start(1, 2, 3);
        ClusterControlTests.CreateManual(h, "t", [1, 2, 3]);
        return h;
    }

    private static AlterPartitionResponse Send(ControllerHarness h, int fromBroker, long brokerEpoch, int leaderEpoch, int partitionEpoch, int[] isr, short version = 3, sbyte recovery = 0)
    {
        TopicImage t = h.Image.Topics.GetTopic("t")!;
        var data = new AlterPartitionRequest.PartitionData { PartitionIndex = 0, LeaderEpoch = leaderEpoch, PartitionEpoch = partitionEpoch, LeaderRecoveryState = recovery };
        if (version >= 3)
        {
            data.NewIsrWithEpochs = [.. isr.Select(id => new AlterPartitionRequest.BrokerState { BrokerId = id, BrokerEpoch = h.Image.Cluster.Broker(id)?.Epoch ?? -1 })];
        }
        else
        {
            data.NewIsr = [.. isr];
        }

        return h.Commit(h.Controller.AlterPartition(new AlterPartitionRequest
        {
            BrokerId = fromBroker,
            BrokerEpoch = brokerEpoch,
            Topics = [new AlterPartitionRequest.TopicData { TopicId = t.Id, TopicName = "t", Partitions = [data] }],
        }, version, h.NowMs));
    }

    private static long Epoch(ControllerHarness h, int id) => h.Image.Cluster.Broker(id)!.Epoch;

    [Fact]
    public void ShrinkAndExpandBumpThePartitionEpochButNotTheLeaderEpoch()
    {
        var h = Setup();
        AlterPartitionResponse shrink = Send(h, 1, Epoch(h, 1), 0, 0, [1, 2]);
        AlterPartitionResponse.PartitionData result = shrink.Topics[0].Partitions[0];
        Assert.Equal(Errors.None, result.ErrorCode);
        Assert.Equal([1, 2], result.Isr);
        Assert.Equal(1, result.LeaderId);
        Assert.Equal(0, result.LeaderEpoch);
        Assert.Equal(1, result.PartitionEpoch);
        Assert.Equal([1, 2], h.Partition("t", 0).Isr);

        AlterPartitionResponse expand = Send(h, 1, Epoch(h, 1), 0, 1, [1, 2, 3]);
        Assert.Equal(2, expand.Topics[0].Partitions[0].PartitionEpoch);
        Assert.Equal([1, 2, 3], h.Partition("t", 0).Isr);
        h.AssertReplayReproducesState();
    }

    [Fact]
    public void EpochChecks()
    {
        var h = Setup();
        Send(h, 1, Epoch(h, 1), 0, 0, [1, 2]); // partition epoch is now 1

        Assert.Equal(Errors.StaleBrokerEpoch, Send(h, 1, Epoch(h, 1) - 1, 0, 1, [1]).ErrorCode);
        Assert.Equal(Errors.InvalidUpdateVersion, Send(h, 1, Epoch(h, 1), 0, 0, [1]).Topics[0].Partitions[0].ErrorCode);
        Assert.Equal(Errors.NotController, Send(h, 1, Epoch(h, 1), 0, 5, [1]).Topics[0].Partitions[0].ErrorCode);
        Assert.Equal(Errors.NotController, Send(h, 1, Epoch(h, 1), 3, 1, [1]).Topics[0].Partitions[0].ErrorCode);
        Assert.Equal(Errors.InvalidRequest, Send(h, 2, Epoch(h, 2), 0, 1, [1, 2]).Topics[0].Partitions[0].ErrorCode);

        // Leadership moves (broker 1 fenced): the old leader's epoch is fenced.
        h.Heartbeat(1, wantFence: true);
        int newLeader = h.Partition("t", 0).Leader;
        Assert.Equal(2, newLeader);
        PartitionRegistration p = h.Partition("t", 0);
        Assert.Equal(Errors.FencedLeaderEpoch, Send(h, 2, Epoch(h, 2), p.LeaderEpoch - 1, p.PartitionEpoch, [2]).Topics[0].Partitions[0].ErrorCode);
        Assert.Equal(Errors.None, Send(h, 2, Epoch(h, 2), p.LeaderEpoch, p.PartitionEpoch, [2]).Topics[0].Partitions[0].ErrorCode);
        h.AssertReplayReproducesState();
    }

    [Fact]
    public void IneligibleReplicasAndBadIsrs()
    {
        var h = Setup();
        Send(h, 1, Epoch(h, 1), 0, 0, [1, 2]);
        h.Heartbeat(3, wantFence: true);
        Assert.True(h.Image.Cluster.Broker(3)!.Fenced);

        Assert.Equal(Errors.IneligibleReplica, Send(h, 1, Epoch(h, 1), 0, 1, [1, 2, 3]).Topics[0].Partitions[0].ErrorCode);
        Assert.Equal(Errors.IneligibleReplica, Send(h, 1, Epoch(h, 1), 0, 1, [1, 2, 3], version: 1).Topics[0].Partitions[0].ErrorCode);
        Assert.Equal(Errors.OperationNotAttempted, Send(h, 1, Epoch(h, 1), 0, 1, [1, 2, 3], version: 0).Topics[0].Partitions[0].ErrorCode);

        // The leader must stay in the ISR; members must be replicas, once each.
        Assert.Equal(Errors.InvalidRequest, Send(h, 1, Epoch(h, 1), 0, 1, [2]).Topics[0].Partitions[0].ErrorCode);
        Assert.Equal(Errors.InvalidRequest, Send(h, 1, Epoch(h, 1), 0, 1, [1, 1]).Topics[0].Partitions[0].ErrorCode);
        Assert.Equal(Errors.InvalidRequest, Send(h, 1, Epoch(h, 1), 0, 1, [1, 7], version: 2).Topics[0].Partitions[0].ErrorCode);

        // A replica in controlled shutdown is ineligible too.
        h.Heartbeat(3);
        h.Heartbeat(2, wantShutDown: true);
        PartitionRegistration p = h.Partition("t", 0);
        Assert.Equal(Errors.IneligibleReplica, Send(h, 1, Epoch(h, 1), p.LeaderEpoch, p.PartitionEpoch, [1, 2]).Topics[0].Partitions[0].ErrorCode);
    }

    [Fact]
    public void UnknownTopicAndPartition()
    {
        var h = Setup();
        AlterPartitionResponse byId = h.Commit(h.Controller.AlterPartition(new AlterPartitionRequest
        {
            BrokerId = 1,
            BrokerEpoch = Epoch(h, 1),
            Topics = [new AlterPartitionRequest.TopicData { TopicId = new KafkaUuid(9, 9), Partitions = [new AlterPartitionRequest.PartitionData { PartitionIndex = 0 }] }],
        }, 2, h.NowMs));
        Assert.Equal(Errors.UnknownTopicId, byId.Topics[0].Partitions[0].ErrorCode);

        AlterPartitionResponse byName = h.Commit(h.Controller.AlterPartition(new AlterPartitionRequest
        {
            BrokerId = 1,
            BrokerEpoch = Epoch(h, 1),
            Topics = [new AlterPartitionRequest.TopicData { TopicName = "t", Partitions = [new AlterPartitionRequest.PartitionData { PartitionIndex = 4 }] }],
        }, 1, h.NowMs));
        Assert.Equal(Errors.UnknownTopicOrPartition, byName.Topics[0].Partitions[0].ErrorCode);
    }

    [Fact]
    public void RecoveredLeaderClearsTheRecoveringState()
    {
        var h = Setup();
        h.Commit(h.Controller.IncrementalAlterConfigs(new IncrementalAlterConfigsRequest
        {
            Resources = [new IncrementalAlterConfigsRequest.AlterConfigsResource { ResourceType = 2, ResourceName = "t", Configs = [new IncrementalAlterConfigsRequest.AlterableConfig { Name = "unclean.leader.election.enable", Value = "true" }] }],
        }, h.NowMs));
        Send(h, 1, Epoch(h, 1), 0, 0, [1]);
        h.Heartbeat(1, wantFence: true);
        PartitionRegistration p = h.Partition("t", 0);
        Assert.Equal(LeaderRecoveryState.Recovering, p.LeaderRecoveryState);
        int leader = p.Leader;

        Assert.Equal(Errors.InvalidRequest, Send(h, leader, Epoch(h, leader), p.LeaderEpoch, p.PartitionEpoch, [leader, leader == 2 ? 3 : 2], recovery: 1).Topics[0].Partitions[0].ErrorCode);
        AlterPartitionResponse done = Send(h, leader, Epoch(h, leader), p.LeaderEpoch, p.PartitionEpoch, [leader], recovery: 0);
        Assert.Equal(Errors.None, done.Topics[0].Partitions[0].ErrorCode);
        Assert.Equal(LeaderRecoveryState.Recovered, h.Partition("t", 0).LeaderRecoveryState);
        h.AssertReplayReproducesState();
    }
}
