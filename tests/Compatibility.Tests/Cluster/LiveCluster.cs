using Aspire.Kafka.Hosting;

namespace Aspire.Kafka.Compatibility.Tests.Cluster;

/// <summary>
/// A real cluster for the client tests, declared as the AppHost's primary cluster is: controllers
/// (node ids 1..) and brokers (101..), real processes through the launcher. Consumer groups
/// (coordinators) are tested in tests/Coordinator.Tests.
/// </summary>
public sealed class LiveCluster : IAsyncDisposable
{
    public const string ControllerProject = "services/controller/Aspire.Kafka.ControllerService.csproj";
    public const string BrokerProject = "services/broker/Aspire.Kafka.Broker.csproj";

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
        TestCluster cluster = await TestCluster.StartAsync(app =>
        {
            var controllerNodes = new List<ResourceBuilder>();
            for (int i = 1; i <= controllers; i++)
            {
                controllerNodes.Add(app.AddProject($"controller-{i}", ControllerProject).WithKafkaListener("CONTROLLER").WithDataDirectory("primary", i));
            }

            string Voters() => string.Join(',', controllerNodes.Select(c => $"{c.Resource.NodeId}@{c.Resource.GetEndpoint("CONTROLLER")!.Address}"));
            foreach (ResourceBuilder controller in controllerNodes)
            {
                controller.WithConfig("controller.quorum.voters", Voters);
            }

            var brokerNodes = new List<ResourceBuilder>();
            for (int i = 1; i <= brokers; i++)
            {
                ResourceBuilder broker = app.AddProject($"broker-{i}", BrokerProject)
                    .WithKafkaListener("PLAINTEXT", bootstrap: true)
                    .WithDataDirectory("primary", 100 + i)
                    .WithConfig("controller.quorum.voters", Voters);
                foreach ((string key, string value) in brokerConfig ?? new Dictionary<string, string>())
                {
                    broker.WithConfig(key, value);
                }

                foreach (ResourceBuilder controller in controllerNodes)
                {
                    broker.WithReference(controller);
                }

                brokerNodes.Add(broker);
            }

        });
        return new LiveCluster(cluster, brokers);
    }

    public ResourceProcess Broker(int i) => Cluster.Node($"broker-{i}");

    public ValueTask DisposeAsync() => Cluster.DisposeAsync();
}
