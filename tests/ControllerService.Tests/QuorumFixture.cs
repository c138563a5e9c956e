using Aspire.Kafka.Client;
using Aspire.Kafka.Hosting;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.ControllerService.Tests;

/// <summary>Three controller processes (node ids 1..3) on loopback through the launcher, and a raw Kafka client to them.</summary>
internal sealed class Quorum : IAsyncDisposable
{
    public const string Project = "services/controller/Aspire.Kafka.ControllerService.csproj";
    public const string MetadataTopic = "__cluster_metadata";

    private Quorum(TestCluster cluster, IReadOnlyList<ResourceBuilder> controllers)
    {
        Cluster = cluster;
        Controllers = controllers;
    }

    public TestCluster Cluster { get; }

    public IReadOnlyList<ResourceBuilder> Controllers { get; }

    public static int[] Ids => [1, 2, 3];

    public static async Task<Quorum> StartAsync(int voters = 3)
    {
        var controllers = new List<ResourceBuilder>();
        TestCluster cluster = await TestCluster.StartAsync(app =>
        {
            for (int i = 1; i <= voters; i++)
            {
                controllers.Add(app.AddProject(Name(i), Project).WithKafkaListener("CONTROLLER").WithDataDirectory("primary", i));
            }

            string Voters() => string.Join(',', controllers.Select(c => $"{c.Resource.NodeId}@{c.Resource.GetEndpoint("CONTROLLER")!.Address}"));
            foreach (ResourceBuilder controller in controllers)
            {
                controller.WithConfig("controller.quorum.voters", Voters);
            }
        });
        return new Quorum(cluster, controllers);
    }

    public static string Name(int id) => $"controller-{id}";

    public ResourceProcess Node(int id) => Cluster.Node(Name(id));

    public string DataDirectory(int id) => Controllers[id - 1].Resource.DataDirectory!;

    public KafkaNode Endpoint(int id)
    {
        EndpointReference endpoint = Controllers[id - 1].Resource.GetEndpoint("CONTROLLER")!;
        return KafkaNode.Parse(endpoint.Address, id);
    }

    /// <summary>Sends a request on a fresh connection (a raw client, as kafka-metadata-quorum does).</summary>
    public async Task<TResponse> SendAsync<TRequest, TResponse>(int id, TRequest request, short? version = null)
        where TRequest : class, IApiMessage<TRequest>
        where TResponse : class, IApiMessage<TResponse>
    {
        KafkaNode node = Endpoint(id);
        var options = new KafkaClientOptions { RequestTimeout = TimeSpan.FromSeconds(5), SocketConnectionSetupTimeout = TimeSpan.FromSeconds(2) };
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

    public ValueTask DisposeAsync() => Cluster.DisposeAsync();
}
