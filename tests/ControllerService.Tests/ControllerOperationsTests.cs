using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.ControllerService.Tests;

/// <summary>
/// The controller APIs brokers and admin clients use, on three real controller processes with
/// stand-in brokers: topic lifecycle, configs with their sources, ISR changes with epoch checks,
/// fencing on a lapsed lease, and leader elections.
/// </summary>
public sealed class ControllerOperationsTests
{
    private const sbyte TopicResource = 2;
    private const sbyte BrokerResource = 4;
    private const sbyte DynamicTopicConfig = 1;
    private const sbyte DynamicDefaultBrokerConfig = 3;
    private const sbyte DefaultConfig = 5;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task CreatePartitions_DeleteTopics_and_DescribeConfigs_with_defaults_and_sources()
    {
        await using Quorum quorum = await Quorum.StartAsync();
        TestBroker[] brokers = await TestBroker.RegisterUnfencedAsync(quorum, 101, 102, 103);
        try
        {
            await CreateTopicAsync(quorum, "events", partitions: 2, replicationFactor: 3);

            // CreatePartitions: an increase is replicated to every controller, balanced over the brokers.
            CreatePartitionsResponse grown = await quorum.SendToControllerAsync<CreatePartitionsRequest, CreatePartitionsResponse>(new CreatePartitionsRequest
            {
                Topics = [new CreatePartitionsRequest.CreatePartitionsTopic { Name = "events", Count = 4 }],
                TimeoutMs = 5000,
            }, r => r.Results.Any(t => t.ErrorCode == (short)ErrorCode.NotController));
            Assert.Equal(0, Assert.Single(grown.Results).ErrorCode);
            foreach (int id in Quorum.Ids)
            {
                MetadataResponse metadata = await quorum.WaitForMetadataAsync(id, m => m.Topics.Any(t => t.Name == "events" && t.Partitions.Count == 4), Timeout, "events with 4 partitions");
                MetadataResponse.MetadataResponseTopic events = Assert.Single(metadata.Topics, t => t.Name == "events");
                Assert.All(events.Partitions, p => Assert.Equal(3, p.ReplicaNodes.Distinct().Count()));
                Assert.Equal([101, 102, 103], events.Partitions.Select(p => p.LeaderId).Distinct().Order());
            }

            // Not an increase, and an unknown topic.
            CreatePartitionsResponse refused = await quorum.SendToControllerAsync<CreatePartitionsRequest, CreatePartitionsResponse>(new CreatePartitionsRequest
            {
                Topics =
                [
                    new CreatePartitionsRequest.CreatePartitionsTopic { Name = "events", Count = 3 },
                    new CreatePartitionsRequest.CreatePartitionsTopic { Name = "missing", Count = 3 },
                ],
                TimeoutMs = 5000,
            }, r => r.Results.Any(t => t.ErrorCode == (short)ErrorCode.NotController));
            Assert.Equal((short)ErrorCode.InvalidPartitions, refused.Results.Single(r => r.Name == "events").ErrorCode);
            Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, refused.Results.Single(r => r.Name == "missing").ErrorCode);

            // DescribeConfigs: every topic config with its default and source DEFAULT_CONFIG.
            DescribeConfigsResponse.DescribeConfigsResult all = await DescribeTopicAsync(quorum, "events", keys: null, synonyms: false);
            DescribeConfigsResponse.DescribeConfigsResourceResult retention = Assert.Single(all.Configs, c => c.Name == "retention.ms");
            Assert.Equal("604800000", retention.Value);
            Assert.Equal(DefaultConfig, retention.ConfigSource);
            Assert.False(retention.IsDefault); // a v0 field: v1+ carries ConfigSource instead
            DescribeConfigsResponse.DescribeConfigsResourceResult cleanup = Assert.Single(all.Configs, c => c.Name == "cleanup.policy");
            Assert.Equal("delete", cleanup.Value);
            Assert.Equal(DefaultConfig, cleanup.ConfigSource);

            // A cluster-wide broker default (BROKER resource "") becomes the topic's value, source DYNAMIC_DEFAULT_BROKER_CONFIG.
            await AlterAsync(quorum, BrokerResource, "", "log.retention.ms", "86400000");
            DescribeConfigsResponse.DescribeConfigsResourceResult fromCluster = Assert.Single((await DescribeTopicAsync(quorum, "events", ["retention.ms"], synonyms: false)).Configs);
            Assert.Equal("86400000", fromCluster.Value);
            Assert.Equal(DynamicDefaultBrokerConfig, fromCluster.ConfigSource);
            Assert.False(fromCluster.IsDefault);

            // A topic override wins; the synonyms list the whole chain, most specific first.
            await AlterAsync(quorum, TopicResource, "events", "retention.ms", "3600000");
            DescribeConfigsResponse.DescribeConfigsResourceResult overridden = Assert.Single((await DescribeTopicAsync(quorum, "events", ["retention.ms"], synonyms: true)).Configs);
            Assert.Equal("3600000", overridden.Value);
            Assert.Equal(DynamicTopicConfig, overridden.ConfigSource);
            Assert.Equal(
                [("retention.ms", "3600000", DynamicTopicConfig), ("log.retention.ms", "86400000", DynamicDefaultBrokerConfig), ("retention.ms", "604800000", DefaultConfig)],
                overridden.Synonyms.Select(s => (s.Name, s.Value, s.Source)));

            // DeleteTopics: gone from every controller; an unknown name is UNKNOWN_TOPIC_OR_PARTITION.
            DeleteTopicsResponse deleted = await quorum.SendToControllerAsync<DeleteTopicsRequest, DeleteTopicsResponse>(new DeleteTopicsRequest
            {
                Topics = [new DeleteTopicsRequest.DeleteTopicState { Name = "events" }, new DeleteTopicsRequest.DeleteTopicState { Name = "missing" }],
                TimeoutMs = 5000,
            }, r => r.Responses.Any(t => t.ErrorCode == (short)ErrorCode.NotController));
            Assert.Equal(0, deleted.Responses.Single(r => r.Name == "events").ErrorCode);
            Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, deleted.Responses.Single(r => r.Name == "missing").ErrorCode);
            foreach (int id in Quorum.Ids)
            {
                await quorum.WaitForMetadataAsync(id, m => m.Topics.All(t => t.Name != "events"), Timeout, "events deleted");
            }

            DescribeConfigsResponse.DescribeConfigsResult gone = await DescribeTopicAsync(quorum, "events", ["retention.ms"], synonyms: false);
            Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, gone.ErrorCode);
        }
        finally
        {
            foreach (TestBroker broker in brokers)
            {
                await broker.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task AlterPartition_checks_epochs_a_lapsed_lease_fences_the_leader_and_ElectLeaders_restores_the_preferred_one()
    {
        await using Quorum quorum = await Quorum.StartAsync(config: new Dictionary<string, string> { ["broker.session.timeout.ms"] = "2000" });
        TestBroker[] brokers = await TestBroker.RegisterUnfencedAsync(quorum, 101, 102, 103);
        try
        {
            KafkaUuid topicId = await CreateTopicAsync(quorum, "isr", partitions: 1, replicationFactor: 3);
            MetadataResponse.MetadataResponsePartition initial = Assert.Single(Assert.Single((await quorum.WaitForMetadataAsync(1, m => m.Topics.Any(t => t.Name == "isr"), Timeout, "isr")).Topics).Partitions);
            int preferred = initial.ReplicaNodes[0];
            int second = initial.ReplicaNodes[1];
            int third = initial.ReplicaNodes[2];
            Assert.Equal(preferred, initial.LeaderId);
            Assert.Equal(0, initial.LeaderEpoch);
            TestBroker Broker(int id) => brokers.Single(b => b.Id == id);

            // The leader shrinks the ISR (leader epoch 0, partition epoch 0): the partition epoch grows.
            AlterPartitionResponse.PartitionData shrunk = await AlterIsrAsync(quorum, Broker(preferred), topicId, leaderEpoch: 0, partitionEpoch: 0, [preferred, second]);
            Assert.Equal(0, shrunk.ErrorCode);
            Assert.Equal([preferred, second], shrunk.Isr.Order());
            Assert.Equal(1, shrunk.PartitionEpoch);
            Assert.Equal(0, shrunk.LeaderEpoch);
            foreach (int id in Quorum.Ids)
            {
                await quorum.WaitForMetadataAsync(id, m => IsrOf(m).SequenceEqual(new[] { preferred, second }.Order()), Timeout, "ISR shrunk");
            }

            // The same request again carries a stale partition epoch; a follower may not change the ISR.
            Assert.Equal((short)ErrorCode.InvalidUpdateVersion,
                (await AlterIsrAsync(quorum, Broker(preferred), topicId, leaderEpoch: 0, partitionEpoch: 0, [preferred])).ErrorCode);
            Assert.Equal((short)ErrorCode.InvalidRequest,
                (await AlterIsrAsync(quorum, Broker(second), topicId, leaderEpoch: 0, partitionEpoch: 1, [second])).ErrorCode);

            // The leader's lease lapses (no heartbeat for broker.session.timeout.ms): fenced, leadership moves within the ISR.
            await Broker(preferred).StopHeartbeatsAsync();
            MetadataResponse fenced = await quorum.WaitForMetadataAsync(1, m =>
                m.Brokers.All(b => b.NodeId != preferred) && PartitionOf(m).LeaderId == second, Timeout, $"broker {preferred} fenced and {second} leading");
            MetadataResponse.MetadataResponsePartition afterFence = PartitionOf(fenced);
            Assert.Equal(1, afterFence.LeaderEpoch);
            Assert.Equal([second], afterFence.IsrNodes);

            // The old leader epoch is fenced.
            Assert.Equal((short)ErrorCode.FencedLeaderEpoch,
                (await AlterIsrAsync(quorum, Broker(second), topicId, leaderEpoch: 0, partitionEpoch: 2, [second, third])).ErrorCode);

            // Heartbeats again: unfenced; the new leader adds it back to the ISR (partition epoch 2: created, shrunk, fenced).
            Broker(preferred).StartHeartbeats();
            await quorum.WaitForMetadataAsync(1, m => m.Brokers.Any(b => b.NodeId == preferred), Timeout, $"broker {preferred} unfenced");
            AlterPartitionResponse.PartitionData expanded = await AlterIsrAsync(quorum, Broker(second), topicId, leaderEpoch: 1, partitionEpoch: 2, [second, preferred]);
            Assert.True(expanded.ErrorCode == 0, $"ISR expansion: error {expanded.ErrorCode}");
            Assert.Equal(new[] { preferred, second }.Order(), expanded.Isr.Order());

            // Preferred election moves leadership back; a second one is not needed.
            ElectLeadersResponse elected = await ElectPreferredAsync(quorum, "isr");
            Assert.Equal(0, Assert.Single(Assert.Single(elected.ReplicaElectionResults).PartitionResult).ErrorCode);
            foreach (int id in Quorum.Ids)
            {
                await quorum.WaitForMetadataAsync(id, m => PartitionOf(m).LeaderId == preferred, Timeout, $"{preferred} leading again");
            }

            ElectLeadersResponse again = await ElectPreferredAsync(quorum, "isr");
            Assert.Equal((short)ErrorCode.ElectionNotNeeded, Assert.Single(Assert.Single(again.ReplicaElectionResults).PartitionResult).ErrorCode);
            ElectLeadersResponse unknown = await ElectPreferredAsync(quorum, "missing");
            Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, Assert.Single(Assert.Single(unknown.ReplicaElectionResults).PartitionResult).ErrorCode);
        }
        finally
        {
            foreach (TestBroker broker in brokers)
            {
                await broker.DisposeAsync();
            }
        }
    }

    /// <summary>isr-0 in a Metadata answer (a default placeholder when this controller has not replayed the topic yet).</summary>
    private static MetadataResponse.MetadataResponsePartition PartitionOf(MetadataResponse m) =>
        m.Topics.FirstOrDefault(t => t.Name == "isr")?.Partitions.FirstOrDefault() ?? new MetadataResponse.MetadataResponsePartition { LeaderId = -2 };

    private static IEnumerable<int> IsrOf(MetadataResponse m) => PartitionOf(m).IsrNodes.Order();

    private static async Task<KafkaUuid> CreateTopicAsync(Quorum quorum, string name, int partitions, short replicationFactor)
    {
        CreateTopicsResponse created = await quorum.SendToControllerAsync<CreateTopicsRequest, CreateTopicsResponse>(new CreateTopicsRequest
        {
            Topics = [new CreateTopicsRequest.CreatableTopic { Name = name, NumPartitions = partitions, ReplicationFactor = replicationFactor }],
            TimeoutMs = 5000,
        }, r => r.Topics.Any(t => t.ErrorCode == (short)ErrorCode.NotController));
        CreateTopicsResponse.CreatableTopicResult result = Assert.Single(created.Topics);
        if (result.ErrorCode == (short)ErrorCode.TopicAlreadyExists)
        {
            // A retry (the first answer was lost to a leader change after the commit): the topic is there.
            MetadataResponse metadata = await quorum.WaitForMetadataAsync(1, m => m.Topics.Any(t => t.Name == name), Timeout, name);
            return metadata.Topics.Single(t => t.Name == name).TopicId;
        }

        Assert.True(result.ErrorCode == 0, $"CreateTopics {name}: {result.ErrorCode} {result.ErrorMessage}");
        return result.TopicId;
    }

    private static async Task<AlterPartitionResponse.PartitionData> AlterIsrAsync(Quorum quorum, TestBroker leader, KafkaUuid topicId, int leaderEpoch, int partitionEpoch, int[] isr)
    {
        AlterPartitionResponse response = await quorum.SendToControllerAsync<AlterPartitionRequest, AlterPartitionResponse>(new AlterPartitionRequest
        {
            BrokerId = leader.Id,
            BrokerEpoch = leader.Epoch,
            Topics =
            [
                new AlterPartitionRequest.TopicData
                {
                    TopicId = topicId,
                    Partitions =
                    [
                        new AlterPartitionRequest.PartitionData
                        {
                            PartitionIndex = 0,
                            LeaderEpoch = leaderEpoch,
                            PartitionEpoch = partitionEpoch,
                            NewIsrWithEpochs = [.. isr.Select(id => new AlterPartitionRequest.BrokerState { BrokerId = id, BrokerEpoch = -1 })],
                        },
                    ],
                },
            ],
        }, r => r.ErrorCode == (short)ErrorCode.NotController || r.Topics.Any(t => t.Partitions.Any(p => p.ErrorCode == (short)ErrorCode.NotController)), version: 3);
        Assert.Equal(0, response.ErrorCode);
        return Assert.Single(Assert.Single(response.Topics).Partitions);
    }

    private static Task<ElectLeadersResponse> ElectPreferredAsync(Quorum quorum, string topic) =>
        quorum.SendToControllerAsync<ElectLeadersRequest, ElectLeadersResponse>(new ElectLeadersRequest
        {
            ElectionType = 0,
            TopicPartitions = [new ElectLeadersRequest.TopicPartitionsData { Topic = topic, Partitions = [0] }],
            TimeoutMs = 5000,
        }, r => r.ErrorCode == (short)ErrorCode.NotController);

    private static async Task AlterAsync(Quorum quorum, sbyte resourceType, string resourceName, string key, string value)
    {
        IncrementalAlterConfigsResponse altered = await quorum.SendToControllerAsync<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>(new IncrementalAlterConfigsRequest
        {
            Resources =
            [
                new IncrementalAlterConfigsRequest.AlterConfigsResource
                {
                    ResourceType = resourceType,
                    ResourceName = resourceName,
                    Configs = [new IncrementalAlterConfigsRequest.AlterableConfig { Name = key, ConfigOperation = 0, Value = value }],
                },
            ],
        }, r => r.Responses.Any(t => t.ErrorCode == (short)ErrorCode.NotController));
        IncrementalAlterConfigsResponse.AlterConfigsResourceResponse result = Assert.Single(altered.Responses);
        Assert.True(result.ErrorCode == 0, $"IncrementalAlterConfigs {key}={value}: {result.ErrorCode} {result.ErrorMessage}");
    }

    private static async Task<DescribeConfigsResponse.DescribeConfigsResult> DescribeTopicAsync(Quorum quorum, string topic, List<string>? keys, bool synonyms)
    {
        DescribeConfigsResponse described = await quorum.SendToControllerAsync<DescribeConfigsRequest, DescribeConfigsResponse>(new DescribeConfigsRequest
        {
            Resources = [new DescribeConfigsRequest.DescribeConfigsResource { ResourceType = TopicResource, ResourceName = topic, ConfigurationKeys = keys }],
            IncludeSynonyms = synonyms,
        }, r => r.Results.Any(t => t.ErrorCode == (short)ErrorCode.NotController));
        return Assert.Single(described.Results);
    }
}
