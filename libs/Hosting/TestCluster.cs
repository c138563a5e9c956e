using Aspire.Kafka.Topology;

namespace Aspire.Kafka.Hosting;

/// <summary>
/// The integration-test fixture over the launcher: start a topology, wait until healthy, get
/// bootstrap addresses, and per-node handles to stop (SIGTERM), kill (-9) and restart a node.
/// Dispose stops everything.
/// </summary>
/// <example>
/// <code>
/// await using TestCluster cluster = await TestCluster.StartAsync(app =>
/// {
///     var controller = app.AddProject("controller-1", "services/controller/Aspire.Kafka.Controller.csproj")
///         .WithKafkaListener("CONTROLLER").WithDataDirectory("primary", 1);
///     app.AddProject("broker-1", "services/broker/Aspire.Kafka.Broker.csproj")
///         .WithKafkaListener("PLAINTEXT", bootstrap: true).WithDataDirectory("primary", 101).WithReference(controller);
/// });
/// string bootstrap = cluster.BootstrapServers("primary");
/// await cluster.Node("broker-1").KillAsync();
/// </code>
/// </example>
public sealed class TestCluster : IAsyncDisposable
{
    private readonly string? _temporaryDataDirectory;

    private TestCluster(DistributedApplication application, string? temporaryDataDirectory)
    {
        Application = application;
        _temporaryDataDirectory = temporaryDataDirectory;
    }

    public DistributedApplication Application { get; }

    public IReadOnlyList<ResourceProcess> Nodes => Application.Resources;

    /// <summary>
    /// Declares the topology with <paramref name="topology"/> and starts it. Options default to
    /// a fresh temporary data directory, no build (tests reference the projects they run, so
    /// they are built), the configuration the tests were built with, and output to the console.
    /// </summary>
    public static async Task<TestCluster> StartAsync(
        Action<DistributedApplicationBuilder> topology,
        DistributedApplicationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(topology);
        string? temporary = null;
        if (options is null)
        {
            temporary = Path.Combine(Path.GetTempPath(), "aspire-kafka-test-" + Guid.NewGuid().ToString("N")[..12]);
            options = new DistributedApplicationOptions { DataDirectory = temporary, BuildProjects = false, StopTimeout = TimeSpan.FromSeconds(10) };
        }

        DistributedApplicationBuilder builder = DistributedApplicationBuilder.CreateBuilder(options);
        topology(builder);
        DistributedApplication application = builder.Build();
        var cluster = new TestCluster(application, temporary);
        try
        {
            await application.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return cluster;
    }

    /// <summary>The topology this cluster was started from (null when started from resources declared by hand).</summary>
    public KafkaTopology? Topology { get; private set; }

    /// <summary>Plans <paramref name="clusters"/> (libs/Topology: the same definition the AppHost uses) and starts every node.</summary>
    public static Task<TestCluster> StartAsync(params ClusterSpec[] clusters) => StartAsync(KafkaTopology.Plan(clusters));

    /// <summary>Starts every node of <paramref name="topology"/>, each healthy before what waits for it (options as in the other overload).</summary>
    public static async Task<TestCluster> StartAsync(KafkaTopology topology, DistributedApplicationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(topology);
        TestCluster cluster = await StartAsync(app => app.AddTopology(topology), options, cancellationToken).ConfigureAwait(false);
        cluster.Topology = topology;
        return cluster;
    }

    public ResourceProcess Node(string name) => Application[name];

    public string BootstrapServers(string cluster) => Application.BootstrapServers(cluster);

    public async ValueTask DisposeAsync()
    {
        await Application.DisposeAsync().ConfigureAwait(false);
        if (_temporaryDataDirectory is not null && Directory.Exists(_temporaryDataDirectory))
        {
            Directory.Delete(_temporaryDataDirectory, recursive: true);
        }
    }
}
