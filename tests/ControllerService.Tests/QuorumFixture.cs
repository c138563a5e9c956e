using Aspire.Kafka.Client;
using Aspire.Kafka.Hosting;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Topology;

namespace Aspire.Kafka.ControllerService.Tests;

/// <summary>Three controller processes (node ids 1..3) on loopback: the topology of libs/Topology through the test harness, and a raw Kafka client to them.</summary>
internal sealed class Quorum : IAsyncDisposable
{
    public const string MetadataTopic = "__cluster_metadata";

    private Quorum(TestCluster cluster) => Cluster = cluster;

    public TestCluster Cluster { get; }

    public static int[] Ids => [1, 2, 3];

    public static async Task<Quorum> StartAsync(int voters = 3, IReadOnlyDictionary<string, string>? config = null)
    {
        TestCluster cluster = await TestCluster.StartAsync(new ClusterSpec(KafkaTopology.Primary)
        {
            Controllers = voters,
            Brokers = 0,
            Coordinators = 0,
            ControllerConfig = config ?? new Dictionary<string, string>(),
        });
        return new Quorum(cluster);
    }

    public static string Name(int id) => $"controller-{id}";

    public ResourceProcess Node(int id) => Cluster.Node(Name(id));

    public string DataDirectory(int id) => Node(id).Resource.DataDirectory!;

    public KafkaNode Endpoint(int id)
    {
        EndpointReference endpoint = Node(id).Resource.GetEndpoint(KafkaTopology.ControllerListener)!;
        return KafkaNode.Parse(endpoint.Address, id);
    }

    /// <summary>Sends a request on a fresh connection (a raw client, as kafka-metadata-quorum does).</summary>
    public async Task<TResponse> SendAsync<TRequest, TResponse>(int id, TRequest request, short? version = null, TimeSpan? timeout = null)
        where TRequest : class, IApiMessage<TRequest>
        where TResponse : class, IApiMessage<TResponse>
    {
        KafkaNode node = Endpoint(id);
        var options = new KafkaClientOptions { RequestTimeout = timeout ?? TimeSpan.FromSeconds(5), SocketConnectionSetupTimeout = TimeSpan.FromSeconds(2) };
        await using KafkaConnection connection = await KafkaConnection.ConnectAsync(node.Host, node.Port, options);
        return await connection.SendAsync<TRequest, TResponse>(request, version);
    }

    public async Task<DescribeQuorumResponse.PartitionData> DescribeQuorumAsync(int id, short? version = null)
    {
        var request = new DescribeQuorumRequest
        {
            Topics = [new DescribeQuorumRequest.TopicData { TopicName = MetadataTopic, Partitions = [new DescribeQuorumRequest.PartitionData { PartitionIndex = 0 }] }],
        };
        DescribeQuorumResponse response = await SendAsync<DescribeQuorumRequest, DescribeQuorumResponse>(id, request, version);
        Assert.Equal(0, response.ErrorCode);
        DescribeQuorumResponse.TopicData topic = Assert.Single(response.Topics);
        Assert.Equal(MetadataTopic, topic.TopicName);
        return Assert.Single(topic.Partitions);
    }

    /// <summary>
    /// Polls the given nodes until one answers DescribeQuorum as leader and <paramref name="accept"/>
    /// holds, or the deadline passes (then fails with the last answers).
    /// </summary>
    public async Task<(int LeaderId, DescribeQuorumResponse.PartitionData State)> WaitForLeaderAsync(
        IEnumerable<int> nodes, TimeSpan timeout, Func<DescribeQuorumResponse.PartitionData, bool>? accept = null)
    {
        int[] ids = [.. nodes];
        var deadline = DateTime.UtcNow + timeout;
        var last = new Dictionary<int, string>();
        while (DateTime.UtcNow < deadline)
        {
            foreach (int id in ids)
            {
                try
                {
                    DescribeQuorumResponse.PartitionData p = await DescribeQuorumAsync(id);
                    last[id] = $"error={p.ErrorCode} leader={p.LeaderId} epoch={p.LeaderEpoch} hw={p.HighWatermark}";
                    if (p.ErrorCode == 0 && p.LeaderId == id && (accept is null || accept(p)))
                    {
                        return (id, p);
                    }
                }
                catch (Exception e) when (e is KafkaClientException or IOException)
                {
                    last[id] = e.Message;
                }
            }

            await Task.Delay(25);
        }

        Assert.Fail($"No leader within {timeout.TotalSeconds} s; last answers: {string.Join("; ", last.Select(kv => $"{kv.Key}: {kv.Value}"))}");
        return default;
    }

    /// <summary>
    /// Sends a controller request to the active controller: asks each running node in turn
    /// (the known Raft leader first) until one answers without NOT_CONTROLLER, within 15 s.
    /// </summary>
    public async Task<TResponse> SendToControllerAsync<TRequest, TResponse>(TRequest request, Func<TResponse, bool> isNotController, short? version = null)
        where TRequest : class, IApiMessage<TRequest>
        where TResponse : class, IApiMessage<TResponse>
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        string last = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            foreach (int id in Ids.OrderBy(id => id == LastLeader ? 0 : 1))
            {
                if (Node(id).State != ResourceState.Healthy)
                {
                    continue;
                }

                try
                {
                    // A long timeout: a retry after a slow commit would repeat a write that did happen.
                    TResponse response = await SendAsync<TRequest, TResponse>(id, request, version, TimeSpan.FromSeconds(15));
                    if (!isNotController(response))
                    {
                        LastLeader = id;
                        return response;
                    }

                    last = $"{id}: NOT_CONTROLLER";
                }
                catch (Exception e) when (e is KafkaClientException or IOException)
                {
                    last = $"{id}: {e.Message}";
                }
            }

            await Task.Delay(50);
        }

        Assert.Fail($"No active controller answered {typeof(TRequest).Name} within 30 s; last: {last}");
        return null!;
    }

    /// <summary>Polls Metadata on controller <paramref name="id"/> until <paramref name="accept"/> holds (or fails after <paramref name="timeout"/> with the last answer).</summary>
    public async Task<MetadataResponse> WaitForMetadataAsync(int id, Func<MetadataResponse, bool> accept, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        string last = "no answer";
        while (true)
        {
            try
            {
                MetadataResponse metadata = await SendAsync<MetadataRequest, MetadataResponse>(id, new MetadataRequest { Topics = null });
                if (accept(metadata))
                {
                    return metadata;
                }

                last = $"brokers [{string.Join(',', metadata.Brokers.Select(b => b.NodeId))}], topics [{string.Join(", ", metadata.Topics.Select(t =>
                    $"{t.Name}: " + string.Join(' ', t.Partitions.Select(p => $"{p.PartitionIndex}(leader {p.LeaderId}@{p.LeaderEpoch} isr {string.Join('/', p.IsrNodes)})"))))}]";
            }
            catch (Exception e) when (e is KafkaClientException or IOException)
            {
                last = e.Message;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"controller-{id}: {what} not seen within {timeout.TotalSeconds} s; last Metadata: {last}");
            }

            await Task.Delay(50);
        }
    }

    private int LastLeader { get; set; } = -1;

    public ValueTask DisposeAsync() => Cluster.DisposeAsync();
}
