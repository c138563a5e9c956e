using Aspire.Kafka.Metadata;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Controller.Tests;

public sealed class TopicTests
{
    private static ControllerHarness Cluster(QuorumControllerConfig? config = null)
    {
        var h = new ControllerHarness(config);
        h.Start(1, 2, 3);
        return h;
    }

    [Theory]
    [InlineData("", "Topic name is illegal, it can't be empty")]
    [InlineData(".", "Topic name cannot be \".\" or \"..\"")]
    [InlineData("..", "Topic name cannot be \".\" or \"..\"")]
    [InlineData("bad name", "contains a character other than ASCII alphanumerics, '.', '_' and '-'")]
    [InlineData("bad/name", "contains a character other than ASCII alphanumerics")]
    [InlineData("tōpic", "contains a character other than ASCII alphanumerics")]
    public void IllegalNamesAreInvalidTopicException(string name, string message)
    {
        var h = Cluster();
        CreateTopicsResponse.CreatableTopicResult result = h.CreateTopic(name, 1, 1);
        Assert.Equal(Errors.InvalidTopicException, result.ErrorCode);
        Assert.Contains(message, result.ErrorMessage);
        Assert.Empty(h.Image.Topics.TopicsById);
    }

    [Fact]
    public void NameLengthLimitIs249()
    {
        var h = Cluster();
        Assert.Equal(Errors.None, h.CreateTopic(new string('a', 249), 1, 1).ErrorCode);
        CreateTopicsResponse.CreatableTopicResult tooLong = h.CreateTopic(new string('b', 250), 1, 1);
        Assert.Equal(Errors.InvalidTopicException, tooLong.ErrorCode);
        Assert.Contains("can't be longer than 249 characters", tooLong.ErrorMessage);
        Assert.Equal(Errors.None, h.CreateTopic("Legal.name_with-all-0123", 1, 1).ErrorCode);
    }

    [Fact]
    public void ExistingAndCollidingNames()
    {
        var h = Cluster();
        Assert.Equal(Errors.None, h.CreateTopic("a.b", 1, 1).ErrorCode);
        CreateTopicsResponse.CreatableTopicResult again = h.CreateTopic("a.b", 1, 1);
        Assert.Equal(Errors.TopicAlreadyExists, again.ErrorCode);
        Assert.Equal("Topic 'a.b' already exists.", again.ErrorMessage);
        CreateTopicsResponse.CreatableTopicResult collides = h.CreateTopic("a_b", 1, 1);
        Assert.Equal(Errors.InvalidTopicException, collides.ErrorCode);
        Assert.Equal("Topic 'a_b' collides with existing topic: a.b", collides.ErrorMessage);
    }

    [Fact]
    public void DuplicateNamesInOneRequestAreInvalidRequest()
    {
        var h = Cluster();
        CreateTopicsResponse response = h.Commit(h.Controller.CreateTopics(new CreateTopicsRequest { Topics = [ControllerHarness.Topic("x", 1, 1), ControllerHarness.Topic("x", 1, 1), ControllerHarness.Topic("y", 1, 1)] }, h.NowMs));
        Assert.Equal([Errors.InvalidRequest, Errors.InvalidRequest, Errors.None], response.Topics.Select(t => t.ErrorCode));
    }

    [Fact]
    public void ReplicationFactorAboveUnfencedBrokersIsInvalid()
    {
        var h = Cluster();
        h.Register(4); // registered but fenced
        CreateTopicsResponse.CreatableTopicResult result = h.CreateTopic("t", 1, 4);
        Assert.Equal(Errors.InvalidReplicationFactor, result.ErrorCode);
        Assert.Contains("only 3 broker(s)", result.ErrorMessage);
        Assert.Equal(Errors.InvalidReplicationFactor, h.CreateTopic("t", 1, 0).ErrorCode);
        Assert.Equal(Errors.InvalidReplicationFactor, h.CreateTopic("t", 1, -2).ErrorCode);
    }

    [Fact]
    public void NonPositivePartitionCountsAreInvalidPartitions()
    {
        var h = Cluster();
        Assert.Equal(Errors.InvalidPartitions, h.CreateTopic("t", 0, 1).ErrorCode);
        CreateTopicsResponse.CreatableTopicResult negative = h.CreateTopic("t", -5, 1);
        Assert.Equal(Errors.InvalidPartitions, negative.ErrorCode);
        Assert.Equal("Number of partitions was set to an invalid non-positive value.", negative.ErrorMessage);
    }

    [Theory]
    [InlineData("no.such.config", "1", "Unknown topic config name: no.such.config")]
    [InlineData("retention.ms", "soon", "Invalid value soon for configuration retention.ms: Not a number of type LONG")]
    [InlineData("retention.ms", "-2", "Invalid value -2 for configuration retention.ms: Value must be at least -1")]
    [InlineData("segment.bytes", "10", "Value must be at least 14")]
    [InlineData("segment.bytes", "99999999999", "Not a number of type INT")]
    [InlineData("cleanup.policy", "compact,shred", "String must be one of: compact, delete")]
    [InlineData("compression.type", "brotli", "String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer")]
    [InlineData("min.insync.replicas", "0", "Value must be at least 1")]
    [InlineData("unclean.leader.election.enable", "maybe", "Expected value to be either true or false")]
    [InlineData("message.timestamp.type", "Now", "String must be one of: CreateTime, LogAppendTime")]
    [InlineData("min.cleanable.dirty.ratio", "1.5", "Value must be no more than 1")]
    [InlineData("min.cleanable.dirty.ratio", "-0.1", "Value must be at least 0")]
    [InlineData("min.cleanable.dirty.ratio", "half", "Not a number of type DOUBLE")]
    [InlineData("flush.messages", "0", "Value must be at least 1")]
    [InlineData("preallocate", "yes", "Expected value to be either true or false")]
    public void BadTopicConfigsAreInvalidConfig(string key, string value, string message)
    {
        var h = Cluster();
        CreateTopicsResponse.CreatableTopicResult result = h.CreateTopic("t", 1, 1, (key, value));
        Assert.Equal(Errors.InvalidConfig, result.ErrorCode);
        Assert.Contains(message, result.ErrorMessage);
        Assert.Null(h.Image.Topics.GetTopic("t"));
    }

    [Fact]
    public void ValidateOnlyWritesNothingButAnswersAsIfCreated()
    {
        var h = Cluster();
        var request = new CreateTopicsRequest { ValidateOnly = true, Topics = [ControllerHarness.Topic("t", 4, 2, ("cleanup.policy", "compact"))] };
        ControllerResult<CreateTopicsResponse> result = h.Controller.CreateTopics(request, h.NowMs);
        Assert.Empty(result.Records);
        CreateTopicsResponse.CreatableTopicResult topic = result.Response.Topics[0];
        Assert.Equal(Errors.None, topic.ErrorCode);
        Assert.Equal(4, topic.NumPartitions);
        Assert.Equal(2, topic.ReplicationFactor);
        Assert.Contains(topic.Configs!, c => c.Name == "cleanup.policy" && c.Value == "compact" && c.ConfigSource == (sbyte)ConfigSource.DynamicTopicConfig);
        Assert.Null(h.Image.Topics.GetTopic("t"));
    }

    [Fact]
    public void MinusOneUsesNumPartitionsAndDefaultReplicationFactor()
    {
        var h = Cluster(new QuorumControllerConfig { NumPartitions = 5, DefaultReplicationFactor = 2 });
        CreateTopicsResponse.CreatableTopicResult result = h.CreateTopic("t", -1, -1);
        Assert.Equal(Errors.None, result.ErrorCode);
        Assert.Equal(5, result.NumPartitions);
        Assert.Equal(2, result.ReplicationFactor);
        Assert.False(result.TopicId.IsZero);
        TopicImage topic = h.Image.Topics.GetTopic("t")!;
        Assert.Equal(result.TopicId, topic.Id);
        Assert.All(topic.Partitions.Values, p =>
        {
            Assert.Equal(2, p.Replicas.Count);
            Assert.Equal(p.Replicas, p.Isr);
            Assert.Equal(p.Replicas[0], p.Leader);
            Assert.Equal(0, p.LeaderEpoch);
            Assert.Equal(0, p.PartitionEpoch);
        });
        Assert.Contains(result.Configs!, c => c.Name == "retention.ms" && c.Value == "604800000" && c.ConfigSource == (sbyte)ConfigSource.DefaultConfig);
        h.AssertReplayReproducesState();
    }

    [Fact]
    public void ManualAssignments()
    {
        var h = Cluster();
        h.Register(4); // fenced
        var topic = ControllerHarness.Topic("m", -1, -1);
        topic.Assignments.Add(new CreateTopicsRequest.CreatableReplicaAssignment { PartitionIndex = 1, BrokerIds = [4, 3] });
        topic.Assignments.Add(new CreateTopicsRequest.CreatableReplicaAssignment { PartitionIndex = 0, BrokerIds = [2, 1] });
        CreateTopicsResponse response = h.Commit(h.Controller.CreateTopics(new CreateTopicsRequest { Topics = [topic] }, h.NowMs));
        Assert.Equal(Errors.None, response.Topics[0].ErrorCode);
        Assert.Equal([2, 1], h.Partition("m", 0).Replicas);
        Assert.Equal(2, h.Partition("m", 0).Leader);
        Assert.Equal([4, 3], h.Partition("m", 1).Replicas);
        Assert.Equal([3], h.Partition("m", 1).Isr);
        Assert.Equal(3, h.Partition("m", 1).Leader);

        static CreateTopicsRequest.CreatableTopic With(string name, int partitions, short rf, params int[][] lists)
        {
            var t = ControllerHarness.Topic(name, partitions, rf);
            for (int i = 0; i < lists.Length; i++)
            {
                t.Assignments.Add(new CreateTopicsRequest.CreatableReplicaAssignment { PartitionIndex = i, BrokerIds = [.. lists[i]] });
            }

            return t;
        }

        (CreateTopicsRequest.CreatableTopic Topic, short Error, string Message)[] bad =
        [
            (With("b1", 2, -1, [1]), Errors.InvalidRequest, "numPartitions was not set to -1"),
            (With("b2", -1, 1, [1]), Errors.InvalidRequest, "replicationFactor was not set to -1"),
            (With("b3", -1, -1, [1, 1]), Errors.InvalidReplicaAssignment, "includes the broker 1 more than once"),
            (With("b4", -1, -1, [1, 9]), Errors.InvalidReplicaAssignment, "broker 9, but no such broker is registered"),
            (With("b5", -1, -1, [1, 2], [3]), Errors.InvalidReplicaAssignment, "not consistent with previous partitions"),
            (With("b6", -1, -1, [4]), Errors.InvalidReplicaAssignment, "are fenced or in controlled shutdown"),
            (With("b7", -1, -1, [[]]), Errors.InvalidReplicaAssignment, "empty replica list"),
        ];
        foreach ((CreateTopicsRequest.CreatableTopic t, short error, string message) in bad)
        {
            CreateTopicsResponse.CreatableTopicResult result = h.Commit(h.Controller.CreateTopics(new CreateTopicsRequest { Topics = [t] }, h.NowMs)).Topics[0];
            Assert.Equal(error, result.ErrorCode);
            Assert.Contains(message, result.ErrorMessage);
        }

        var gap = ControllerHarness.Topic("gap", -1, -1);
        gap.Assignments.Add(new CreateTopicsRequest.CreatableReplicaAssignment { PartitionIndex = 1, BrokerIds = [1] });
        Assert.Equal(Errors.InvalidReplicaAssignment, h.Commit(h.Controller.CreateTopics(new CreateTopicsRequest { Topics = [gap] }, h.NowMs)).Topics[0].ErrorCode);
        h.AssertReplayReproducesState();
    }

    [Fact]
    public void DeleteTopicsByNameAndById()
    {
        var h = Cluster();
        h.CreateTopic("a", 1, 1, ("retention.ms", "5"));
        KafkaUuid b = h.CreateTopic("b", 1, 1).TopicId;

        DeleteTopicsResponse byName = h.Commit(h.Controller.DeleteTopics(new DeleteTopicsRequest { TopicNames = ["a", "zzz"] }, h.NowMs));
        Assert.Equal([Errors.None, Errors.UnknownTopicOrPartition], byName.Responses.Select(r => r.ErrorCode));
        Assert.Null(h.Image.Topics.GetTopic("a"));
        Assert.Empty(h.Image.Configs.ConfigMap(ConfigResource.Topic("a")));

        DeleteTopicsResponse byId = h.Commit(h.Controller.DeleteTopics(new DeleteTopicsRequest
        {
            Topics = [new DeleteTopicsRequest.DeleteTopicState { TopicId = b }, new DeleteTopicsRequest.DeleteTopicState { TopicId = new KafkaUuid(5, 5) }],
        }, h.NowMs));
        Assert.Equal([Errors.None, Errors.UnknownTopicId], byId.Responses.Select(r => r.ErrorCode));
        Assert.Equal("b", byId.Responses[0].Name);
        Assert.True(h.Image.Topics.IsEmpty);
        h.AssertReplayReproducesState();
    }

    [Fact]
    public void DeleteTopicsDisabled()
    {
        var h = Cluster(new QuorumControllerConfig { DeleteTopicEnable = false });
        h.CreateTopic("a", 1, 1);
        DeleteTopicsResponse response = h.Commit(h.Controller.DeleteTopics(new DeleteTopicsRequest { TopicNames = ["a"] }, h.NowMs));
        Assert.Equal(Errors.TopicDeletionDisabled, response.Responses[0].ErrorCode);
        Assert.NotNull(h.Image.Topics.GetTopic("a"));
    }

    [Fact]
    public void CreatePartitionsOnlyIncreases()
    {
        var h = Cluster();
        h.CreateTopic("t", 3, 2);
        CreatePartitionsResponse response = h.Commit(h.Controller.CreatePartitions(new CreatePartitionsRequest
        {
            Topics =
            [
                new CreatePartitionsRequest.CreatePartitionsTopic { Name = "t", Count = 5, Assignments = null },
            ],
        }, h.NowMs));
        Assert.Equal(Errors.None, response.Results[0].ErrorCode);
        Assert.Equal(5, h.Image.Topics.GetTopic("t")!.Partitions.Count);
        Assert.All(h.Image.Topics.GetTopic("t")!.Partitions.Values, p => Assert.Equal(2, p.Replicas.Count));

        CreatePartitionsResponse bad = h.Commit(h.Controller.CreatePartitions(new CreatePartitionsRequest
        {
            Topics =
            [
                new CreatePartitionsRequest.CreatePartitionsTopic { Name = "t", Count = 4 },
                new CreatePartitionsRequest.CreatePartitionsTopic { Name = "nope", Count = 4 },
            ],
        }, h.NowMs));
        Assert.Equal(Errors.InvalidPartitions, bad.Results[0].ErrorCode);
        Assert.Equal("The topic t currently has 5 partition(s); 4 would not be an increase.", bad.Results[0].ErrorMessage);
        Assert.Equal(Errors.UnknownTopicOrPartition, bad.Results[1].ErrorCode);

        CreatePartitionsResponse same = h.Commit(h.Controller.CreatePartitions(new CreatePartitionsRequest { Topics = [new CreatePartitionsRequest.CreatePartitionsTopic { Name = "t", Count = 5 }] }, h.NowMs));
        Assert.Equal(Errors.InvalidPartitions, same.Results[0].ErrorCode);
        Assert.Equal("Topic already has 5 partition(s).", same.Results[0].ErrorMessage);

        CreatePartitionsResponse mismatch = h.Commit(h.Controller.CreatePartitions(new CreatePartitionsRequest
        {
            Topics = [new CreatePartitionsRequest.CreatePartitionsTopic { Name = "t", Count = 7, Assignments = [new CreatePartitionsRequest.CreatePartitionsAssignment { BrokerIds = [1, 2] }] }],
        }, h.NowMs));
        Assert.Equal(Errors.InvalidReplicaAssignment, mismatch.Results[0].ErrorCode);

        CreatePartitionsResponse manual = h.Commit(h.Controller.CreatePartitions(new CreatePartitionsRequest
        {
            Topics = [new CreatePartitionsRequest.CreatePartitionsTopic { Name = "t", Count = 6, Assignments = [new CreatePartitionsRequest.CreatePartitionsAssignment { BrokerIds = [3, 1] }] }],
        }, h.NowMs));
        Assert.Equal(Errors.None, manual.Results[0].ErrorCode);
        Assert.Equal([3, 1], h.Partition("t", 5).Replicas);

        CreatePartitionsResponse validateOnly = h.Commit(h.Controller.CreatePartitions(new CreatePartitionsRequest { ValidateOnly = true, Topics = [new CreatePartitionsRequest.CreatePartitionsTopic { Name = "t", Count = 10 }] }, h.NowMs));
        Assert.Equal(Errors.None, validateOnly.Results[0].ErrorCode);
        Assert.Equal(6, h.Image.Topics.GetTopic("t")!.Partitions.Count);
        h.AssertReplayReproducesState();
    }

    [Fact]
    public void PreferredAndUncleanElectLeaders()
    {
        var h = Cluster();
        h.CreateTopic("t", 3, 3);
        int partitionLedBy1 = Enumerable.Range(0, 3).Single(p => h.Partition("t", p).PreferredReplica == 1);

        // Broker 1 shuts down and comes back: its partition is led by another broker.
        h.Heartbeat(1, wantFence: true);
        Assert.NotEqual(1, h.Partition("t", partitionLedBy1).Leader);
        h.Heartbeat(1);
        Assert.NotEqual(1, h.Partition("t", partitionLedBy1).Leader);

        // Not in the ISR yet: the preferred leader is not available.
        var request = new ElectLeadersRequest { ElectionType = 0, TopicPartitions = [new ElectLeadersRequest.TopicPartitionsData { Topic = "t", Partitions = [partitionLedBy1] }] };
        ElectLeadersResponse notAvailable = h.Commit(h.Controller.ElectLeaders(request, h.NowMs));
        Assert.Equal(Errors.PreferredLeaderNotAvailable, notAvailable.ReplicaElectionResults[0].PartitionResult[0].ErrorCode);

        // The leader adds it back to the ISR; now the election moves leadership to it.
        PartitionRegistration p = h.Partition("t", partitionLedBy1);
        AlterIsr(h, "t", partitionLedBy1, [.. p.Isr, 1]);
        ElectLeadersResponse elected = h.Commit(h.Controller.ElectLeaders(request, h.NowMs));
        Assert.Equal(Errors.None, elected.ReplicaElectionResults[0].PartitionResult[0].ErrorCode);
        Assert.Equal(1, h.Partition("t", partitionLedBy1).Leader);

        ElectLeadersResponse notNeeded = h.Commit(h.Controller.ElectLeaders(request, h.NowMs));
        Assert.Equal(Errors.ElectionNotNeeded, notNeeded.ReplicaElectionResults[0].PartitionResult[0].ErrorCode);

        // All partitions (TopicPartitions = null): nothing to do, nothing listed.
        ElectLeadersResponse all = h.Commit(h.Controller.ElectLeaders(new ElectLeadersRequest { ElectionType = 0, TopicPartitions = null }, h.NowMs));
        Assert.Empty(all.ReplicaElectionResults);

        ElectLeadersResponse unknown = h.Commit(h.Controller.ElectLeaders(new ElectLeadersRequest { ElectionType = 1, TopicPartitions = [new ElectLeadersRequest.TopicPartitionsData { Topic = "nope", Partitions = [0] }] }, h.NowMs));
        Assert.Equal(Errors.UnknownTopicOrPartition, unknown.ReplicaElectionResults[0].PartitionResult[0].ErrorCode);
        h.AssertReplayReproducesState();
    }

    [Fact]
    public void UncleanElectLeadersPicksAnActiveReplicaOutsideTheIsr()
    {
        var h = Cluster();
        ClusterControlTests.CreateManual(h, "u", [1, 2]);
        ClusterControlTests.ShrinkIsrTo(h, "u", [1]);
        h.Heartbeat(1, wantFence: true);
        Assert.Equal(-1, h.Partition("u", 0).Leader);

        var request = new ElectLeadersRequest { ElectionType = 1, TopicPartitions = [new ElectLeadersRequest.TopicPartitionsData { Topic = "u", Partitions = [0] }] };
        ElectLeadersResponse response = h.Commit(h.Controller.ElectLeaders(request, h.NowMs));
        Assert.Equal(Errors.None, response.ReplicaElectionResults[0].PartitionResult[0].ErrorCode);
        Assert.Equal(2, h.Partition("u", 0).Leader);
        Assert.Equal([2], h.Partition("u", 0).Isr);
        Assert.Equal(LeaderRecoveryState.Recovering, h.Partition("u", 0).LeaderRecoveryState);
    }

    [Fact]
    public void AutoLeaderRebalanceMovesLeadershipBackToPreferredReplicas()
    {
        var h = Cluster(new QuorumControllerConfig { LeaderImbalanceCheckIntervalSeconds = 5, LeaderImbalancePerBrokerPercentage = 10 });
        h.CreateTopic("t", 6, 3);
        h.Heartbeat(1, wantFence: true);
        h.Heartbeat(1);
        for (int p = 0; p < 6; p++)
        {
            PartitionRegistration partition = h.Partition("t", p);
            if (!partition.Isr.Contains(1))
            {
                AlterIsr(h, "t", p, [.. partition.Isr, 1]);
            }
        }

        Assert.DoesNotContain(Enumerable.Range(0, 6), p => h.Partition("t", p).Leader == 1);
        List<TickResult> ticks = h.Advance(6000, 1, 2, 3);
        Assert.Equal(2, ticks.Sum(t => t.LeadersBalanced));
        Assert.All(Enumerable.Range(0, 6), p => Assert.True(h.Partition("t", p).HasPreferredLeader));
        h.AssertReplayReproducesState();
    }

    internal static AlterPartitionResponse.PartitionData AlterIsr(ControllerHarness h, string topic, int partitionId, int[] isr, short version = 3, int? leaderEpoch = null, int? partitionEpoch = null, int? fromBroker = null)
    {
        TopicImage t = h.Image.Topics.GetTopic(topic)!;
        PartitionRegistration p = t.Partition(partitionId)!;
        int broker = fromBroker ?? p.Leader;
        var data = new AlterPartitionRequest.PartitionData
        {
            PartitionIndex = partitionId,
            LeaderEpoch = leaderEpoch ?? p.LeaderEpoch,
            PartitionEpoch = partitionEpoch ?? p.PartitionEpoch,
        };
        if (version >= 3)
        {
            data.NewIsrWithEpochs = [.. isr.Select(id => new AlterPartitionRequest.BrokerState { BrokerId = id, BrokerEpoch = h.Image.Cluster.Broker(id)?.Epoch ?? -1 })];
        }
        else
        {
            data.NewIsr = [.. isr];
        }

        var request = new AlterPartitionRequest
        {
            BrokerId = broker,
            BrokerEpoch = h.Image.Cluster.Broker(broker)!.Epoch,
            Topics = [new AlterPartitionRequest.TopicData { TopicId = t.Id, TopicName = topic, Partitions = [data] }],
        };
        AlterPartitionResponse response = h.Commit(h.Controller.AlterPartition(request, version, h.NowMs));
        Assert.Equal(Errors.None, response.ErrorCode);
        return response.Topics[0].Partitions[0];
    }
}
