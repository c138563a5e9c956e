using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.MetadataRecords;

namespace Aspire.Kafka.Metadata.Tests;

public sealed class MetadataDeltaTests
{
    private static readonly KafkaUuid Orders = new(0x1111, 0x2222);
    private static readonly KafkaUuid Offsets = new(0x3333, 0x4444);

    internal static ApiMessageAndVersion Broker(int id, long epoch, string? rack = null, bool fenced = true) => RecordVersions.Of(new RegisterBrokerRecord
    {
        BrokerId = id,
        BrokerEpoch = epoch,
        IncarnationId = new KafkaUuid(id, epoch),
        EndPoints = [new RegisterBrokerRecord.BrokerEndpoint { Name = "PLAINTEXT", Host = $"broker{id}", Port = (ushort)(9090 + id) }],
        Rack = rack,
        Fenced = fenced,
    });

    internal static ApiMessageAndVersion Partition(KafkaUuid topic, int p, int[] replicas, int[] isr, int leader) =>
        RecordVersions.Of(new PartitionRecord { TopicId = topic, PartitionId = p, Replicas = [.. replicas], Isr = [.. isr], Leader = leader, LeaderEpoch = 0, PartitionEpoch = 0 });

    internal static MetadataImage Replay(MetadataImage image, params ApiMessageAndVersion[] records)
    {
        var delta = new MetadataDelta(image);
        foreach (ApiMessageAndVersion r in records)
        {
            delta.Replay(r);
        }

        return delta.Apply(new MetadataProvenance(image.Offset + records.Length, 1));
    }

    private static MetadataImage ThreeBrokersAndOrders() => Replay(
        MetadataImage.Empty,
        RecordVersions.Of(new FeatureLevelRecord { Name = "metadata.version", FeatureLevel = 7 }),
        Broker(1, 10, "a"),
        Broker(2, 11, "b"),
        Broker(3, 12, "c", fenced: false),
        RecordVersions.Of(new TopicRecord { Name = "orders", TopicId = Orders }),
        Partition(Orders, 0, [1, 2, 3], [1, 2, 3], 1),
        Partition(Orders, 1, [2, 3, 1], [2, 3, 1], 2),
        RecordVersions.Of(new ConfigRecord { ResourceType = 2, ResourceName = "orders", Name = "retention.ms", Value = "1000" }));

    [Fact]
    public void RecordsBuildTheImage()
    {
        MetadataImage image = ThreeBrokersAndOrders();
        Assert.Equal(7, image.Offset); // records at offsets 0..7
        Assert.Equal(7, image.Features.MetadataVersion);
        Assert.Equal([1, 2, 3], image.Cluster.Brokers.Keys);
        Assert.Empty(image.Cluster.Coordinators);
        BrokerRegistration b1 = image.Cluster.Broker(1)!;
        Assert.Equal(10, b1.Epoch);
        Assert.Equal("a", b1.Rack);
        Assert.True(b1.Fenced);
        Assert.Equal(new Endpoint("PLAINTEXT", "broker1", 9091, 0), b1.Listener("PLAINTEXT"));
        Assert.False(image.Cluster.Broker(3)!.Fenced);
        Assert.True(image.Cluster.IsActiveBroker(3));

        TopicImage topic = image.Topics.GetTopic("orders")!;
        Assert.Same(topic, image.Topics.GetTopic(Orders));
        Assert.Equal(2, topic.Partitions.Count);
        Assert.Equal([2, 3, 1], topic.Partition(1)!.Replicas);
        Assert.Equal("1000", image.Configs.Get(ConfigResource.Topic("orders"), "retention.ms"));
    }

    [Fact]
    public void PartitionChangeBumpsLeaderEpochOnlyWhenTheLeaderChanges()
    {
        MetadataImage image = ThreeBrokersAndOrders();
        image = Replay(image, RecordVersions.Of(new PartitionChangeRecord { TopicId = Orders, PartitionId = 0, Isr = [1, 2] }));
        PartitionRegistration p = image.Topics.GetPartition(Orders, 0)!;
        Assert.Equal([1, 2], p.Isr);
        Assert.Equal(1, p.Leader);
        Assert.Equal(0, p.LeaderEpoch);
        Assert.Equal(1, p.PartitionEpoch);

        image = Replay(image, RecordVersions.Of(new PartitionChangeRecord { TopicId = Orders, PartitionId = 0, Leader = 2, Isr = [2] }));
        p = image.Topics.GetPartition(Orders, 0)!;
        Assert.Equal(2, p.Leader);
        Assert.Equal(1, p.LeaderEpoch);
        Assert.Equal(2, p.PartitionEpoch);
        Assert.Equal([1, 2, 3], p.Replicas);

        image = Replay(image, RecordVersions.Of(new PartitionChangeRecord { TopicId = Orders, PartitionId = 0, Leader = -1, LeaderRecoveryState = 1 }));
        p = image.Topics.GetPartition(Orders, 0)!;
        Assert.False(p.HasLeader);
        Assert.Equal(2, p.LeaderEpoch);
        Assert.Equal(LeaderRecoveryState.Recovering, p.LeaderRecoveryState);
    }

    [Fact]
    public void FencingRecordsOfBothKindsChangeTheRegistration()
    {
        MetadataImage image = ThreeBrokersAndOrders();
        image = Replay(image,
            RecordVersions.Of(new UnfenceBrokerRecord { Id = 1, Epoch = 10 }),
            RecordVersions.Of(new BrokerRegistrationChangeRecord { BrokerId = 2, BrokerEpoch = 11, Fenced = -1 }),
            RecordVersions.Of(new BrokerRegistrationChangeRecord { BrokerId = 3, BrokerEpoch = 12, InControlledShutdown = 1 }));
        Assert.False(image.Cluster.Broker(1)!.Fenced);
        Assert.False(image.Cluster.Broker(2)!.Fenced);
        Assert.True(image.Cluster.Broker(3)!.InControlledShutdown);
        Assert.False(image.Cluster.IsActiveBroker(3));

        image = Replay(image,
            RecordVersions.Of(new FenceBrokerRecord { Id = 1, Epoch = 10 }),
            RecordVersions.Of(new BrokerRegistrationChangeRecord { BrokerId = 2, BrokerEpoch = 11, Fenced = 1 }),
            RecordVersions.Of(new UnregisterBrokerRecord { BrokerId = 3, BrokerEpoch = 12 }));
        Assert.True(image.Cluster.Broker(1)!.Fenced);
        Assert.True(image.Cluster.Broker(2)!.Fenced);
        Assert.Null(image.Cluster.Node(3));
    }

    [Fact]
    public void ReRegistrationReplacesTheOldRegistration()
    {
        MetadataImage image = Replay(ThreeBrokersAndOrders(), Broker(3, 20, "z"));
        Assert.Equal(20, image.Cluster.Broker(3)!.Epoch);
        Assert.True(image.Cluster.Broker(3)!.Fenced);
        Assert.Equal("z", image.Cluster.Broker(3)!.Rack);
    }

    [Fact]
    public void RecordsThatContradictTheImageAreRejected()
    {
        MetadataImage image = ThreeBrokersAndOrders();
        var delta = new MetadataDelta(image);
        Assert.Throws<MetadataReplayException>(() => delta.Replay(RecordVersions.Of(new FenceBrokerRecord { Id = 1, Epoch = 99 })));
        Assert.Throws<MetadataReplayException>(() => delta.Replay(RecordVersions.Of(new FenceBrokerRecord { Id = 9, Epoch = 1 })));
        Assert.Throws<MetadataReplayException>(() => delta.Replay(RecordVersions.Of(new PartitionChangeRecord { TopicId = Orders, PartitionId = 7, Leader = 1 })));
        Assert.Throws<MetadataReplayException>(() => delta.Replay(Partition(new KafkaUuid(9, 9), 0, [1], [1], 1)));
        Assert.Throws<MetadataReplayException>(() => delta.Replay(RecordVersions.Of(new TopicRecord { Name = "orders", TopicId = Orders })));
        Assert.Throws<MetadataReplayException>(() => delta.Replay(RecordVersions.Of(new RemoveTopicRecord { TopicId = new KafkaUuid(9, 9) })));
    }

    [Fact]
    public void ConfigRecordsSetAndDeleteKeys()
    {
        MetadataImage image = Replay(ThreeBrokersAndOrders(),
            RecordVersions.Of(new ConfigRecord { ResourceType = 2, ResourceName = "orders", Name = "cleanup.policy", Value = "compact" }),
            RecordVersions.Of(new ConfigRecord { ResourceType = 2, ResourceName = "orders", Name = "retention.ms", Value = null }),
            RecordVersions.Of(new ConfigRecord { ResourceType = 4, ResourceName = "", Name = "log.retention.ms", Value = "5" }));
        Assert.Equal(["cleanup.policy"], image.Configs.ConfigMap(ConfigResource.Topic("orders")).Keys);
        Assert.Equal("5", image.Configs.Get(ConfigResource.ClusterDefault, "log.retention.ms"));

        image = Replay(image, RecordVersions.Of(new ConfigRecord { ResourceType = 2, ResourceName = "orders", Name = "cleanup.policy", Value = null }));
        Assert.False(image.Configs.Resources.ContainsKey(ConfigResource.Topic("orders")));
    }

    [Fact]
    public void RemoveTopicDropsPartitionsAndConfigsAndTheNameCanBeReused()
    {
        KafkaUuid second = new(7, 7);
        MetadataImage image = Replay(ThreeBrokersAndOrders(),
            RecordVersions.Of(new RemoveTopicRecord { TopicId = Orders }),
            RecordVersions.Of(new TopicRecord { Name = "orders", TopicId = second }),
            Partition(second, 0, [3], [3], 3));
        Assert.Null(image.Topics.GetTopic(Orders));
        Assert.Equal(second, image.Topics.GetTopic("orders")!.Id);
        Assert.Single(image.Topics.GetTopic("orders")!.Partitions);
        Assert.Empty(image.Configs.ConfigMap(ConfigResource.Topic("orders")));
    }

    [Fact]
    public void LocalChangesTellABrokerWhatItLeadsFollowsAndDrops()
    {
        MetadataImage image = ThreeBrokersAndOrders();
        var delta = new MetadataDelta(image);
        // Broker 1 loses leadership of 0 to broker 2; partition 1 moves off broker 1 entirely.
        delta.Replay(RecordVersions.Of(new PartitionChangeRecord { TopicId = Orders, PartitionId = 0, Leader = 2, Isr = [2, 3] }));
        delta.Replay(RecordVersions.Of(new PartitionChangeRecord { TopicId = Orders, PartitionId = 1, Replicas = [2, 3], Isr = [2, 3] }));
        delta.Replay(RecordVersions.Of(new TopicRecord { Name = "payments", TopicId = Offsets }));
        delta.Replay(Partition(Offsets, 0, [1, 2], [1, 2], 1));

        LocalReplicaChanges b1 = delta.GetLocalChanges(1);
        Assert.Equal([("orders", 0)], b1.Followers.Select(p => (p.TopicName, p.PartitionId)));
        Assert.Equal([("payments", 0)], b1.Leaders.Select(p => (p.TopicName, p.PartitionId)));
        Assert.Equal([("orders", 1)], b1.Deletes.Select(p => (p.TopicName, p.PartitionId)));
        Assert.True(b1.Followers[0].LeaderChanged);

        LocalReplicaChanges b2 = delta.GetLocalChanges(2);
        Assert.Equal([("orders", 0), ("orders", 1)], b2.Leaders.Select(p => (p.TopicName, p.PartitionId)));
        Assert.Equal([("payments", 0)], b2.Followers.Select(p => (p.TopicName, p.PartitionId)));
        Assert.False(b2.Leaders[1].LeaderChanged);

        MetadataImage after = delta.Apply(new MetadataProvenance(20, 1));
        var deleteDelta = new MetadataDelta(after);
        deleteDelta.Replay(RecordVersions.Of(new RemoveTopicRecord { TopicId = Orders }));
        LocalReplicaChanges b3 = deleteDelta.GetLocalChanges(3);
        Assert.Equal([0, 1], b3.Deletes.Select(p => p.PartitionId));
        Assert.Empty(b3.Leaders);
    }

    [Fact]
    public void CoordinatorsAreNodesThatAreNotBrokers()
    {
        MetadataImage image = Replay(ThreeBrokersAndOrders(),
            RecordVersions.Of(new RegisterCoordinatorRecord
            {
                CoordinatorId = 100,
                CoordinatorEpoch = 30,
                IncarnationId = new KafkaUuid(1, 100),
                EndPoints = [new RegisterCoordinatorRecord.CoordinatorEndpoint { Name = "PLAINTEXT", Host = "coord", Port = 9200 }],
                Fenced = true,
            }),
            RecordVersions.Of(new BrokerRegistrationChangeRecord { BrokerId = 100, BrokerEpoch = 30, Fenced = -1 }));
        Assert.DoesNotContain(100, image.Cluster.Brokers.Keys);
        BrokerRegistration c = image.Cluster.Coordinators[100];
        Assert.True(c.IsCoordinator);
        Assert.True(c.IsActive);
        Assert.Equal(4, image.Cluster.Nodes.Count);
        Assert.False(image.Cluster.IsActiveBroker(100));
    }

    [Fact]
    public void FindCoordinatorHashesLikeKafkaAndUsesTheAssignment()
    {
        // Java: "hello".hashCode() == 99162322; "polygenelubricants".hashCode() == int.MinValue (Utils.abs -> 0).
        Assert.Equal(99162322, CoordinatorsImage.JavaStringHashCode("hello"));
        Assert.Equal(int.MinValue, CoordinatorsImage.JavaStringHashCode("polygenelubricants"));
        Assert.Equal(0, CoordinatorsImage.PartitionFor("polygenelubricants", 50));
        Assert.Equal(99162322 % 50, CoordinatorsImage.PartitionFor("hello", 50));
        Assert.Equal(0, CoordinatorsImage.PartitionFor("", 50));

        var records = new List<ApiMessageAndVersion>
        {
            RecordVersions.Of(new RegisterCoordinatorRecord { CoordinatorId = 100, CoordinatorEpoch = 30, IncarnationId = new KafkaUuid(1, 100), Fenced = false }),
            RecordVersions.Of(new TopicRecord { Name = "__consumer_offsets", TopicId = Offsets }),
        };
        for (int p = 0; p < 50; p++)
        {
            records.Add(Partition(Offsets, p, [3], [3], 3));
            records.Add(RecordVersions.Of(new CoordinatorAssignmentRecord { PartitionId = p, CoordinatorId = p == 22 ? 100 : -1, AssignmentEpoch = 0 }));
        }

        MetadataImage image = Replay(ThreeBrokersAndOrders(), [.. records]);
        CoordinatorLookup hello = image.FindCoordinator("hello")!;
        Assert.Equal(22, hello.Partition);
        Assert.Equal(100, hello.Coordinator!.Id);
        CoordinatorLookup other = image.FindCoordinator("polygenelubricants")!;
        Assert.Equal(0, other.Partition);
        Assert.Null(other.Coordinator);

        var delta = new MetadataDelta(image);
        delta.Replay(RecordVersions.Of(new CoordinatorAssignmentRecord { PartitionId = 22, CoordinatorId = -1, AssignmentEpoch = 1 }));
        delta.Replay(RecordVersions.Of(new CoordinatorAssignmentRecord { PartitionId = 0, CoordinatorId = 100, AssignmentEpoch = 1 }));
        CoordinatorChanges changes = delta.GetCoordinatorChanges(100);
        Assert.Equal([0], changes.Gained.Select(a => a.PartitionId));
        Assert.Equal([22], changes.Lost.Select(a => a.PartitionId));

        // Deleting the offsets topic drops the assignments with it.
        MetadataImage deleted = Replay(image, RecordVersions.Of(new RemoveTopicRecord { TopicId = Offsets }));
        Assert.True(deleted.Coordinators.IsEmpty);
        Assert.Null(deleted.FindCoordinator("hello"));
    }

    [Fact]
    public void SnapshotRecordsRebuildTheSameImage()
    {
        MetadataImage image = Replay(ThreeBrokersAndOrders(),
            RecordVersions.Of(new RegisterCoordinatorRecord { CoordinatorId = 100, CoordinatorEpoch = 30, IncarnationId = new KafkaUuid(1, 100), Rack = null }),
            RecordVersions.Of(new PartitionChangeRecord { TopicId = Orders, PartitionId = 0, Leader = 3, Isr = [3] }),
            RecordVersions.Of(new ProducerIdsRecord { BrokerId = 1, BrokerEpoch = 10, NextProducerId = 2000 }),
            RecordVersions.Of(new ConfigRecord { ResourceType = 4, ResourceName = "", Name = "log.retention.ms", Value = "5" }));
        var records = image.ToRecords().ToList();
        var serialized = records.Select(MetadataRecordSerde.Serialize).ToList();
        var loader = new MetadataLoader();
        MetadataUpdate update = loader.LoadSnapshot(serialized.Select(b => MetadataRecordSerde.Read(b)), image.Provenance);
        Assert.Equal(image.Describe(), update.Image.Describe());
        Assert.Equal(2000, update.Image.ProducerIds.NextProducerId);
        Assert.Equal(image.Describe(), MetadataImage.FromRecords(records, image.Provenance).Describe());
        Assert.Contains(update.LocalChanges(3).Leaders, p => p.TopicName == "orders" && p.PartitionId == 0);
    }

    [Fact]
    public void LoaderAppliesCommittedRecordsOnceInOffsetOrder()
    {
        var loader = new MetadataLoader();
        MetadataUpdate first = loader.Apply(
        [
            new MetadataLogRecord(1, 1, Broker(1, 1, fenced: false)),
            new MetadataLogRecord(2, 1, RecordVersions.Of(new TopicRecord { Name = "orders", TopicId = Orders })),
            new MetadataLogRecord(3, 1, Partition(Orders, 0, [1], [1], 1)),
        ]);
        Assert.Equal(3, first.Image.Offset);
        Assert.Single(first.LocalChanges(1).Leaders);

        byte[] change = MetadataRecordSerde.Serialize(RecordVersions.Of(new PartitionChangeRecord { TopicId = Orders, PartitionId = 0, Leader = -1 }));
        MetadataUpdate second = loader.Apply(
        [
            new MetadataLogRecord(3, 1, Partition(Orders, 0, [1], [1], 1)),
            MetadataLogRecord.Decode(4, 2, change),
        ]);
        Assert.Equal(new MetadataProvenance(4, 2), second.Image.Provenance);
        Assert.Equal(-1, second.Image.Topics.GetPartition(Orders, 0)!.Leader);
        Assert.Same(first.Image, second.Previous);
    }
}
