using Aspire.Kafka.Metadata;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Controller.Tests;

public sealed class ClusterControlTests
{
    [Fact]
    public void ActivationOnAnEmptyLogWritesTheMetadataVersion()
    {
        var h = new ControllerHarness();
        Assert.Equal(RecordVersions.MetadataVersion, h.Image.Features.MetadataVersion);
        Assert.Single(h.Log);
        Assert.Equal(1, h.Log[0].Offset);
    }

    [Fact]
    public void RegistrationEpochIsTheOffsetOfTheRegistrationRecord()
    {
        var h = new ControllerHarness();
        ControllerResult<BrokerRegistrationResponse> result = h.Controller.RegisterBroker(ControllerHarness.RegistrationRequest(1, new KafkaUuid(1, 1), rack: "r1"), h.NowMs);
        Assert.Equal(Errors.None, result.Response.ErrorCode);
        Assert.Equal(result.BaseOffset, result.Response.BrokerEpoch);
        Assert.Equal(result.LastOffset, result.ResponseOffset);
        h.Commit(result);
        BrokerRegistration broker = h.Image.Cluster.Broker(1)!;
        Assert.Equal(result.Response.BrokerEpoch, broker.Epoch);
        Assert.True(broker.Fenced);
        Assert.Equal("r1", broker.Rack);
        Assert.Equal(new Endpoint("PLAINTEXT", "localhost", 9091, 0), broker.Listener("PLAINTEXT"));
        h.AssertReplayReproducesState();
    }

    [Fact]
    public void AnotherIncarnationIsRejectedWhileTheLeaseIsValid()
    {
        var h = new ControllerHarness();
        h.Start(1);
        long epoch = h.Image.Cluster.Broker(1)!.Epoch;

        Assert.Equal(Errors.DuplicateBrokerRegistration, h.Register(1, incarnation: new KafkaUuid(99, 99)).ErrorCode);

        // The same incarnation may register again (a retry): new epoch, fenced until caught up.
        BrokerRegistrationResponse again = h.Register(1, incarnation: new KafkaUuid(1, 1_000_000));
        Assert.Equal(Errors.None, again.ErrorCode);
        Assert.True(again.BrokerEpoch > epoch);
        Assert.True(h.Image.Cluster.Broker(1)!.Fenced);

        // Once the lease has lapsed a new incarnation (a restarted process) may take the id.
        h.Heartbeat(1);
        h.NowMs += 10_000;
        Assert.Equal([1], h.Tick().FencedNodes);
        Assert.Equal(Errors.None, h.Register(1, incarnation: new KafkaUuid(7, 7)).ErrorCode);
        h.AssertReplayReproducesState();
    }

    [Fact]
    public void WrongClusterIdIsInconsistentClusterId()
    {
        var h = new ControllerHarness();
        BrokerRegistrationResponse response = h.Commit(h.Controller.RegisterBroker(ControllerHarness.RegistrationRequest(1, new KafkaUuid(1, 1), clusterId: "other"), h.NowMs));
        Assert.Equal(Errors.InconsistentClusterId, response.ErrorCode);
        Assert.Null(h.Image.Cluster.Node(1));
    }

    [Fact]
    public void UnsupportedMetadataVersionIsRejected()
    {
        var h = new ControllerHarness();
        BrokerRegistrationRequest request = ControllerHarness.RegistrationRequest(1, new KafkaUuid(1, 1));
        request.Features[0].MaxSupportedVersion = 5;
        Assert.Equal(Errors.UnsupportedVersion, h.Commit(h.Controller.RegisterBroker(request, h.NowMs)).ErrorCode);
    }

    [Fact]
    public void HeartbeatErrors()
    {
        var h = new ControllerHarness();
        BrokerHeartbeatResponse unknown = h.Commit(h.Controller.ProcessBrokerHeartbeat(new BrokerHeartbeatRequest { BrokerId = 5, BrokerEpoch = 1 }, h.NowMs));
        Assert.Equal(Errors.BrokerIdNotRegistered, unknown.ErrorCode);

        h.Register(1);
        BrokerHeartbeatResponse stale = h.Commit(h.Controller.ProcessBrokerHeartbeat(new BrokerHeartbeatRequest { BrokerId = 1, BrokerEpoch = 1 }, h.NowMs));
        Assert.Equal(Errors.StaleBrokerEpoch, stale.ErrorCode);
    }

    [Fact]
    public void ABrokerIsUnfencedOnlyOnceCaughtUpToItsRegistration()
    {
        var h = new ControllerHarness();
        long epoch = h.Register(1).BrokerEpoch;

        BrokerHeartbeatResponse behind = h.Heartbeat(1, metadataOffset: epoch - 1);
        Assert.True(behind.IsFenced);
        Assert.False(behind.IsCaughtUp);

        BrokerHeartbeatResponse wantsFence = h.Heartbeat(1, wantFence: true, metadataOffset: epoch);
        Assert.True(wantsFence.IsFenced);

        BrokerHeartbeatResponse caughtUp = h.Heartbeat(1, metadataOffset: epoch);
        Assert.False(caughtUp.IsFenced);
        Assert.True(caughtUp.IsCaughtUp);
        Assert.False(h.Image.Cluster.Broker(1)!.Fenced);
        h.AssertReplayReproducesState();
    }

    [Fact]
    public void FencingTimelineMovesLeadersShrinksIsrAndElectsUncleanOnlyWhenEnabled()
    {
        var h = new ControllerHarness();
        h.Start(1, 2, 3);
        Assert.Equal(Errors.None, h.CreateTopic("orders", 6, 3).ErrorCode);
        CreateManual(h, "solo", [1]);
        CreateManual(h, "safe", [1, 2]);
        CreateManual(h, "lossy", [1, 2], ("unclean.leader.election.enable", "true"));
        // The leader (1) shrinks the ISR of "safe" and "lossy" to itself.
        ShrinkIsrTo(h, "safe", [1]);
        ShrinkIsrTo(h, "lossy", [1]);
        long lastHeartbeatOf1 = h.NowMs;
        var ledBy1 = Enumerable.Range(0, 6).Where(p => h.Partition("orders", p).Leader == 1).ToList();
        Assert.Equal(2, ledBy1.Count);

        // Broker 1 stops heartbeating; 2 and 3 go on. Nothing happens within the session timeout.
        List<TickResult> ticks = h.Advance(9000, 2, 3);
        Assert.All(ticks, t => Assert.Empty(t.FencedNodes));
        Assert.Equal(lastHeartbeatOf1 + 9000, h.NowMs);
        Assert.False(h.Image.Cluster.Broker(1)!.Fenced);

        // One millisecond later the lease has lapsed.
        h.NowMs += 1;
        Assert.Equal([1], h.Tick().FencedNodes);
        Assert.True(h.Image.Cluster.Broker(1)!.Fenced);
        for (int p = 0; p < 6; p++)
        {
            PartitionRegistration partition = h.Partition("orders", p);
            Assert.NotEqual(1, partition.Leader);
            Assert.True(partition.HasLeader);
            Assert.DoesNotContain(1, partition.Isr);
            Assert.Equal(2, partition.Isr.Count);
        }

        Assert.All(ledBy1, p => Assert.Equal(1, h.Partition("orders", p).LeaderEpoch));

        // The last in-sync replica stays in the ISR; without unclean election there is no leader.
        Assert.Equal(-1, h.Partition("solo", 0).Leader);
        Assert.Equal([1], h.Partition("solo", 0).Isr);
        Assert.Equal(-1, h.Partition("safe", 0).Leader);
        Assert.Equal([1], h.Partition("safe", 0).Isr);

        // With unclean.leader.election.enable the out-of-sync replica takes over, recovering.
        PartitionRegistration lossy = h.Partition("lossy", 0);
        Assert.Equal(2, lossy.Leader);
        Assert.Equal([2], lossy.Isr);
        Assert.Equal(LeaderRecoveryState.Recovering, lossy.LeaderRecoveryState);

        // Later ticks do not elect anyone uncleanly for the topics that do not allow it.
        h.Advance(3000, 2, 3);
        Assert.Equal(-1, h.Partition("safe", 0).Leader);
        Assert.Equal(-1, h.Partition("solo", 0).Leader);

        // Broker 1 comes back: it registers again and is unfenced once caught up; the
        // leaderless partitions whose ISR it is in get it as leader again.
        h.Register(1, incarnation: new KafkaUuid(11, 11));
        Assert.False(h.Heartbeat(1).IsFenced);
        Assert.Equal(1, h.Partition("solo", 0).Leader);
        Assert.Equal(1, h.Partition("safe", 0).Leader);
        h.AssertReplayReproducesState();
    }

    [Fact]
    public void ControlledShutdownMovesLeadershipThenGrantsShutdownOnceOthersCaughtUp()
    {
        var h = new ControllerHarness();
        h.Start(1, 2, 3);
        h.CreateTopic("orders", 3, 3);
        Assert.Contains(Enumerable.Range(0, 3), p => h.Partition("orders", p).Leader == 1);

        BrokerHeartbeatResponse first = h.Heartbeat(1, wantShutDown: true);
        Assert.False(first.ShouldShutDown);
        Assert.False(first.IsFenced);
        Assert.True(h.Image.Cluster.Broker(1)!.InControlledShutdown);
        for (int p = 0; p < 3; p++)
        {
            Assert.NotEqual(1, h.Partition("orders", p).Leader);
            Assert.DoesNotContain(1, h.Partition("orders", p).Isr);
        }

        // Brokers 2 and 3 have not yet seen the records that moved leadership.
        Assert.False(h.Heartbeat(1, wantShutDown: true).ShouldShutDown);

        h.Heartbeat(2);
        h.Heartbeat(3);
        BrokerHeartbeatResponse granted = h.Heartbeat(1, wantShutDown: true);
        Assert.True(granted.ShouldShutDown);
        Assert.True(granted.IsFenced);
        Assert.True(h.Image.Cluster.Broker(1)!.Fenced);
        h.AssertReplayReproducesState();
    }

    [Fact]
    public void AnIdleLeaderWritesANoOpRecord()
    {
        var h = new ControllerHarness(new QuorumControllerConfig { MetadataMaxIdleIntervalMs = 500 });
        h.NowMs += 499;
        Assert.False(h.Tick().WroteNoOp);
        h.NowMs += 1;
        TickResult tick = h.Tick();
        Assert.True(tick.WroteNoOp);
        Assert.IsType<Aspire.Kafka.Protocol.MetadataRecords.NoOpRecord>(h.Log[^1].Record.Message);
        Assert.False(h.Tick().WroteNoOp);
    }

    [Fact]
    public void AFencedBrokerAskingToShutDownMayGoAtOnce()
    {
        var h = new ControllerHarness();
        h.Register(1);
        BrokerHeartbeatResponse response = h.Heartbeat(1, wantShutDown: true);
        Assert.True(response.ShouldShutDown);
        Assert.True(response.IsFenced);
    }

    [Fact]
    public void UnregisterRemovesTheNodeAndItsLeadership()
    {
        var h = new ControllerHarness();
        h.Start(1, 2);
        h.CreateTopic("orders", 2, 2);
        Assert.Equal(Errors.None, h.Commit(h.Controller.UnregisterBroker(1, h.NowMs)).Code);
        Assert.Null(h.Image.Cluster.Node(1));
        Assert.All(h.Image.Topics.GetTopic("orders")!.Partitions.Values, p => Assert.Equal(2, p.Leader));
        Assert.Equal(Errors.BrokerIdNotRegistered, h.Commit(h.Controller.UnregisterBroker(1, h.NowMs)).Code);
        h.AssertReplayReproducesState();
    }

    [Fact]
    public void AnInactiveControllerRefusesOperations()
    {
        var controller = new QuorumController(new QuorumControllerConfig());
        Assert.Throws<NotControllerException>(() => controller.RegisterBroker(ControllerHarness.RegistrationRequest(1, new KafkaUuid(1, 1)), 0));
        Assert.Throws<NotControllerException>(() => controller.Tick(0));
    }

    [Fact]
    public void RenounceDropsUncommittedRecords()
    {
        var h = new ControllerHarness();
        h.Start(1);
        ControllerResult<CreateTopicsResponse> pending = h.Controller.CreateTopics(new CreateTopicsRequest { Topics = [ControllerHarness.Topic("orders", 1, 1)] }, h.NowMs);
        Assert.NotNull(h.Controller.LatestImage.Topics.GetTopic("orders"));
        Assert.Null(h.Controller.CommittedImage.Topics.GetTopic("orders"));

        // A second request before the commit sees the first one's effect.
        ControllerResult<CreateTopicsResponse> second = h.Controller.CreateTopics(new CreateTopicsRequest { Topics = [ControllerHarness.Topic("orders", 1, 1)] }, h.NowMs);
        Assert.Equal(Errors.TopicAlreadyExists, second.Response.Topics[0].ErrorCode);
        Assert.Equal(pending.LastOffset, second.ResponseOffset);

        h.Controller.Renounce();
        Assert.Null(h.Controller.LatestImage.Topics.GetTopic("orders"));
        Assert.False(h.Controller.IsActive);
    }

    internal static void CreateManual(ControllerHarness h, string name, int[] replicas, params (string Key, string Value)[] configs)
    {
        var topic = ControllerHarness.Topic(name, -1, -1, configs);
        topic.Assignments.Add(new CreateTopicsRequest.CreatableReplicaAssignment { PartitionIndex = 0, BrokerIds = [.. replicas] });
        CreateTopicsResponse response = h.Commit(h.Controller.CreateTopics(new CreateTopicsRequest { Topics = [topic] }, h.NowMs));
        Assert.Equal(Errors.None, response.Topics[0].ErrorCode);
    }

    internal static AlterPartitionResponse.PartitionData ShrinkIsrTo(ControllerHarness h, string topic, int[] isr, short version = 2)
    {
        TopicImage t = h.Image.Topics.GetTopic(topic)!;
        PartitionRegistration p = t.Partition(0)!;
        var request = new AlterPartitionRequest
        {
            BrokerId = p.Leader,
            BrokerEpoch = h.Image.Cluster.Broker(p.Leader)!.Epoch,
            Topics =
            [
                new AlterPartitionRequest.TopicData
                {
                    TopicId = t.Id,
                    TopicName = topic,
                    Partitions = [new AlterPartitionRequest.PartitionData { PartitionIndex = 0, LeaderEpoch = p.LeaderEpoch, PartitionEpoch = p.PartitionEpoch, NewIsr = [.. isr] }],
                },
            ],
        };
        AlterPartitionResponse response = h.Commit(h.Controller.AlterPartition(request, version, h.NowMs));
        Assert.Equal(Errors.None, response.ErrorCode);
        Assert.Equal(Errors.None, response.Topics[0].Partitions[0].ErrorCode);
        return response.Topics[0].Partitions[0];
    }
}

public sealed class LogFollowerTests
{
    [Fact]
    public void ABrokerFollowingTheLogSeesLeadershipChangesAndDeletes()
    {
        var h = new ControllerHarness();
        h.Start(1, 2, 3);
        h.CreateTopic("orders", 3, 3);
        var loader = new MetadataLoader();
        int applied = 0;
        MetadataUpdate CatchUp()
        {
            var batch = h.Log.Skip(applied).Select(l => MetadataLogRecord.Decode(l.Offset, ControllerHarness.RaftEpoch, MetadataRecordSerde.Serialize(l.Record))).ToList();
            applied = h.Log.Count;
            return loader.Apply(batch);
        }

        MetadataUpdate initial = CatchUp();
        Assert.Equal(h.Controller.CommittedImage.Describe(), initial.Image.Describe());
        LocalReplicaChanges b2 = initial.LocalChanges(2);
        Assert.Single(b2.Leaders);
        Assert.Equal(2, b2.Followers.Count);

        // Broker 1 is fenced: brokers 2 and 3 take over its partition; 1 itself learns it follows now.
        h.Heartbeat(1, wantFence: true);
        MetadataUpdate fenced = CatchUp();
        int moved = fenced.LocalChanges(2).Leaders.Count + fenced.LocalChanges(3).Leaders.Count;
        Assert.Equal(1, fenced.LocalChanges(2).Leaders.Count(p => p.LeaderChanged) + fenced.LocalChanges(3).Leaders.Count(p => p.LeaderChanged));
        Assert.True(moved >= 1);
        Assert.Empty(fenced.LocalChanges(1).Leaders);

        h.Commit(h.Controller.DeleteTopics(new Aspire.Kafka.Protocol.Messages.DeleteTopicsRequest { TopicNames = ["orders"] }, h.NowMs));
        MetadataUpdate deleted = CatchUp();
        Assert.Equal(3, deleted.LocalChanges(3).Deletes.Count);
        Assert.Equal(h.Controller.CommittedImage.Describe(), loader.Image.Describe());
    }

    [Fact]
    public void AShutDownBrokerMustRegisterAgain()
    {
        var h = new ControllerHarness();
        h.Start(1, 2);
        h.Heartbeat(1, wantShutDown: true);
        h.Heartbeat(2);
        Assert.True(h.Heartbeat(1, wantShutDown: true).ShouldShutDown);
        BrokerHeartbeatResponse again = h.Heartbeat(1);
        Assert.True(again.IsFenced);
        Assert.True(again.ShouldShutDown);
        h.Register(1, incarnation: new KafkaUuid(1, 2));
        Assert.False(h.Heartbeat(1).IsFenced);
        Assert.False(h.Image.Cluster.Broker(1)!.InControlledShutdown);
    }
}

public sealed class ErrorsTests
{
    [Fact]
    public void NamesAreKafkas()
    {
        Assert.Equal("TOPIC_ALREADY_EXISTS", Errors.Name(Errors.TopicAlreadyExists));
        Assert.Equal("INVALID_TOPIC_EXCEPTION", Errors.Name(17));
        Assert.Equal("INELIGIBLE_REPLICA", Errors.Name(107));
        Assert.Equal(95, Errors.InvalidUpdateVersion);
        Assert.Equal("INVALID_REPLICATION_FACTOR: only 1", new ApiError(Errors.InvalidReplicationFactor, "only 1").ToString());
    }
}
