using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.ControllerService.Tests;

/// <summary>The QuorumController behind Raft on real processes: a broker registers and heartbeats, a topic is created and every controller replays it.</summary>
public sealed class ControllerApiTests
{
    private const int BrokerId = 101;
    private const sbyte TopicResource = 2;
    private const sbyte DynamicTopicConfigSource = 1;

    [Fact]
    public async Task A_broker_registers_and_a_created_topic_replicates_to_every_controller()
    {
        await using Quorum quorum = await Quorum.StartAsync();
        (int leader, _) = await quorum.WaitForLeaderAsync(Quorum.Ids, TimeSpan.FromSeconds(10));
        string clusterId = quorum.Node(1).Resource.ClusterId!;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);

        // Registration (retried while the new leader is not yet the active controller).
        var registration = new BrokerRegistrationRequest
        {
            BrokerId = BrokerId,
            ClusterId = clusterId,
            IncarnationId = new KafkaUuid(7, 7),
            Listeners = [new BrokerRegistrationRequest.Listener { Name = "PLAINTEXT", Host = "127.0.0.1", Port = 19092, SecurityProtocol = 0 }],
            Features = [new BrokerRegistrationRequest.Feature { Name = "metadata.version", MinSupportedVersion = 1, MaxSupportedVersion = 19 }],
        };
        BrokerRegistrationResponse registered;
        while (true)
        {
            registered = await quorum.SendAsync<BrokerRegistrationRequest, BrokerRegistrationResponse>(leader, registration);
            if (registered.ErrorCode != (short)ErrorCode.NotController || DateTime.UtcNow > deadline)
            {
                break;
            }

            await Task.Delay(50);
        }

        Assert.Equal(0, registered.ErrorCode);
        Assert.True(registered.BrokerEpoch > 0, $"broker epoch {registered.BrokerEpoch}");

        // Heartbeats until unfenced (it reports a metadata offset past its registration record).
        BrokerHeartbeatResponse heartbeat;
        do
        {
            heartbeat = await quorum.SendAsync<BrokerHeartbeatRequest, BrokerHeartbeatResponse>(leader, new BrokerHeartbeatRequest
            {
                BrokerId = BrokerId,
                BrokerEpoch = registered.BrokerEpoch,
                CurrentMetadataOffset = registered.BrokerEpoch + 1,
                WantFence = false,
            });
            Assert.Equal(0, heartbeat.ErrorCode);
        }
        while (heartbeat.IsFenced && DateTime.UtcNow < deadline && await Delay());
        Assert.False(heartbeat.IsFenced, "the broker stayed fenced");

        var create = new CreateTopicsRequest
        {
            Topics = [new CreateTopicsRequest.CreatableTopic { Name = "orders", NumPartitions = 3, ReplicationFactor = 1 }],
            TimeoutMs = 5000,
        };
        CreateTopicsResponse created = await quorum.SendAsync<CreateTopicsRequest, CreateTopicsResponse>(leader, create);
        CreateTopicsResponse.CreatableTopicResult result = Assert.Single(created.Topics);
        Assert.True(result.ErrorCode == 0, $"CreateTopics: {result.ErrorCode} {result.ErrorMessage}");

        // Every controller (followers included) replays the committed records.
        foreach (int id in Quorum.Ids)
        {
            MetadataResponse metadata;
            do
            {
                metadata = await quorum.SendAsync<MetadataRequest, MetadataResponse>(id, new MetadataRequest { Topics = null });
            }
            while (!metadata.Topics.Any(t => t.Name == "orders") && DateTime.UtcNow < deadline && await Delay());

            Assert.Equal(leader, metadata.ControllerId);
            Assert.Equal(clusterId, metadata.ClusterId);
            MetadataResponse.MetadataResponseBroker broker = Assert.Single(metadata.Brokers);
            Assert.Equal(BrokerId, broker.NodeId);
            MetadataResponse.MetadataResponseTopic topic = Assert.Single(metadata.Topics, t => t.Name == "orders");
            Assert.Equal(3, topic.Partitions.Count);
            Assert.All(topic.Partitions, p =>
            {
                Assert.Equal(BrokerId, p.LeaderId);
                Assert.Equal([BrokerId], p.ReplicaNodes);
                Assert.Equal([BrokerId], p.IsrNodes);
            });
        }

        // Topic configs go through the log too: set, then described by the leader with its source.
        IncrementalAlterConfigsResponse altered = await quorum.SendAsync<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>(leader, new IncrementalAlterConfigsRequest
        {
            Resources =
            [
                new IncrementalAlterConfigsRequest.AlterConfigsResource
                {
                    ResourceType = TopicResource,
                    ResourceName = "orders",
                    Configs = [new IncrementalAlterConfigsRequest.AlterableConfig { Name = "retention.ms", ConfigOperation = 0, Value = "3600000" }],
                },
            ],
        });
        Assert.Equal(0, Assert.Single(altered.Responses).ErrorCode);
        DescribeConfigsResponse described = await quorum.SendAsync<DescribeConfigsRequest, DescribeConfigsResponse>(leader, new DescribeConfigsRequest
        {
            Resources = [new DescribeConfigsRequest.DescribeConfigsResource { ResourceType = TopicResource, ResourceName = "orders", ConfigurationKeys = ["retention.ms"] }],
        });
        DescribeConfigsResponse.DescribeConfigsResult describedTopic = Assert.Single(described.Results);
        Assert.Equal(0, describedTopic.ErrorCode);
        DescribeConfigsResponse.DescribeConfigsResourceResult retention = Assert.Single(describedTopic.Configs);
        Assert.Equal("3600000", retention.Value);
        Assert.Equal(DynamicTopicConfigSource, retention.ConfigSource);

        // A second creation of the same name is refused by the leader; followers are not the controller.
        CreateTopicsResponse again = await quorum.SendAsync<CreateTopicsRequest, CreateTopicsResponse>(leader, create);
        Assert.Equal((short)ErrorCode.TopicAlreadyExists, Assert.Single(again.Topics).ErrorCode);
        foreach (int follower in Quorum.Ids.Where(id => id != leader))
        {
            var other = new CreateTopicsRequest { Topics = [new CreateTopicsRequest.CreatableTopic { Name = "payments", NumPartitions = 1, ReplicationFactor = 1 }] };
            CreateTopicsResponse refused = await quorum.SendAsync<CreateTopicsRequest, CreateTopicsResponse>(follower, other);
            Assert.Equal((short)ErrorCode.NotController, Assert.Single(refused.Topics).ErrorCode);
        }
    }

    private static async Task<bool> Delay()
    {
        await Task.Delay(50);
        return true;
    }
}
