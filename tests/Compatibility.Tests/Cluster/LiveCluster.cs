using Aspire.Kafka.Hosting;
using Aspire.Kafka.Topology;

namespace Aspire.Kafka.Compatibility.Tests.Cluster;

/// <summary>
/// A real cluster for the client tests, the AppHost's primary cluster (libs/Topology): controllers
/// (node ids 1..) and brokers (101..), real processes through the test harness. Consumer groups
/// (coordinators) are tested in tests/Coordinator.Tests.
/// </summary>
public sealed class LiveCluster : IAsyncDisposable
{
    private LiveCluster(TestCluster cluster, int brokers)
    {
        Cluster = cluster;
        Brokers = brokers;
    }

    public TestCluster Cluster { get; }

    public int Brokers { get; }

    public string Bootstrap => Cluster.BootstrapServers("primary");

    public string[] BootstrapList => Bootstrap.Split(',');

    public static async Task<LiveCluster> StartAsync(int controllers = 3, int brokers = 3,
        IReadOnlyDictionary<string, string>? brokerConfig = null)
    {
        TestCluster cluster = await TestCluster.StartAsync(new ClusterSpec(KafkaTopology.Primary)
        {
            Controllers = controllers,
            Brokers = brokers,
            Coordinators = 0,
            BrokerConfig = brokerConfig ?? new Dictionary<string, string>(),
        });
        return new LiveCluster(cluster, brokers);
    }

    public ResourceProcess Broker(int i) => Cluster.Node($"broker-{i}");

    public ValueTask DisposeAsync() => Cluster.DisposeAsync();
}
