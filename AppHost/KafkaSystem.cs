using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Aspire.Kafka.Topology;

namespace Aspire.Kafka.AppHost;

/// <summary>
/// Declares the nodes of a <see cref="KafkaTopology"/> (the one definition the test harness and the
/// benchmarks also use) as Aspire project resources: each with its planned ports as endpoints
/// that DCP does not proxy (Kafka clients must reach the exact advertised address), its Kafka
/// configs as <c>--override</c> arguments, its formatted data directory, a /health check, the
/// start order as <c>WaitFor</c>, and the operator commands of <see cref="NodeCommands"/>.
/// </summary>
internal static class KafkaSystem
{
    public static void Declare(IDistributedApplicationBuilder builder, KafkaTopology topology, AppHostOptions options)
    {
        string root = ServiceProjects.FindRoot(builder.AppHostDirectory);
        string data = Path.GetFullPath(options.DataDirectory);
        EnsureClientPortsFree(topology);
        Console.WriteLine($"[apphost] data directory {data}");
        foreach (string line in topology.Describe())
        {
            Console.WriteLine($"[apphost] plan: {line}");
        }

        IReadOnlyDictionary<string, string> clusterIds = DataDirectories.Prepare(data, topology, options.Clean,
            (name, line) => Console.WriteLine($"[{name}] {line}"));

        var resources = new Dictionary<string, IResourceBuilder<ProjectResource>>(StringComparer.Ordinal);
        foreach (NodeSpec node in topology.Nodes)
        {
            IResourceBuilder<ProjectResource> resource = AddProject(builder, node, root)
                .WithHttpEndpoint(port: node.HttpPort, targetPort: node.HttpPort, name: "http", isProxied: false)
                .WithHttpHealthCheck("/health", endpointName: "http")
                .WithArgs(node.Overrides(DataDirectories.Of(data, node)).SelectMany(p => new[] { "--override", $"{p.Key}={p.Value}" }).ToArray())
                .WithEnvironment("CLUSTER_ID", clusterIds[node.Cluster])
                // The service binds http.listener itself; Aspire's URL variables would only make Kestrel warn that it overrides them.
                .WithEnvironment(context =>
                {
                    context.EnvironmentVariables.Remove("ASPNETCORE_URLS");
                    context.EnvironmentVariables.Remove("ASPNETCORE_HTTP_PORTS");
                });
            foreach (ListenerSpec listener in node.Listeners)
            {
                resource.WithEndpoint(port: listener.Port, targetPort: listener.Port, scheme: "tcp", name: listener.Name.ToLowerInvariant(), isProxied: false);
            }

            foreach (string dependency in node.WaitFor)
            {
                resource.WaitFor(resources[dependency]);
            }

            NodeCommands.Add(resource, node);
            resources[node.Name] = resource;
        }

        ReadyReporter.Register(builder, topology, DashboardLoginUrl(builder));
        OrderedShutdown.Register(builder, topology);
    }

    /// <summary>
    /// The node's service as a project resource. Through the project references' metadata, so that
    /// DCP runs it without building it again (the AppHost's build built it).
    /// </summary>
    private static IResourceBuilder<ProjectResource> AddProject(IDistributedApplicationBuilder builder, NodeSpec node, string root)
    {
        (IResourceBuilder<ProjectResource> resource, string path) = node.Role switch
        {
            NodeRole.Controller => (builder.AddProject<Projects.Aspire_Kafka_ControllerService>(node.Name, launchProfileName: null), new Projects.Aspire_Kafka_ControllerService().ProjectPath),
            NodeRole.Broker => (builder.AddProject<Projects.Aspire_Kafka_Broker>(node.Name, launchProfileName: null), new Projects.Aspire_Kafka_Broker().ProjectPath),
            NodeRole.Mirror => (builder.AddProject<Projects.Aspire_Kafka_Mirror>(node.Name, launchProfileName: null), new Projects.Aspire_Kafka_Mirror().ProjectPath),
            _ => (builder.AddProject<Projects.Aspire_Kafka_Coordinator>(node.Name, launchProfileName: null), new Projects.Aspire_Kafka_Coordinator().ProjectPath),
        };
        string planned = Path.GetFullPath(Path.Combine(root, node.Project));
        return Path.GetFullPath(path) == planned ? resource
            : throw new InvalidOperationException($"{node.Name}: the topology names {planned}, the AppHost references {path}.");
    }

    /// <summary>The variable Aspire takes the dashboard's login token from.</summary>
    public const string BrowserTokenVariable = "ASPIRE_DASHBOARD_FRONTEND_BROWSERTOKEN";

    /// <summary>
    /// Makes the dashboard's login token ours (random per start unless the variable is set), so the
    /// ready line can carry it. Call before the builder is created: Aspire reads it then.
    /// </summary>
    public static void ChooseBrowserToken()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(BrowserTokenVariable)))
        {
            Environment.SetEnvironmentVariable(BrowserTokenVariable, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));
        }
    }

    /// <summary>The dashboard's address with its login token (none with ASPIRE_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS=true).</summary>
    private static string DashboardLoginUrl(IDistributedApplicationBuilder builder)
    {
        string url = (builder.Configuration["ASPNETCORE_URLS"] ?? "http://localhost:18888").Split(';')[0].TrimEnd('/');
        return string.Equals(builder.Configuration["ASPIRE_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS"], "true", StringComparison.OrdinalIgnoreCase)
            ? url
            : $"{url}/login?t={Environment.GetEnvironmentVariable(BrowserTokenVariable)}";
    }

    /// <summary>The brokers' fixed ports must be free: a cluster still running would otherwise take the clients.</summary>
    private static void EnsureClientPortsFree(KafkaTopology topology)
    {
        foreach (NodeSpec broker in topology.Nodes.Where(n => n.Role == NodeRole.Broker))
        {
            int port = broker.Listener(KafkaTopology.ClientListener).Port;
            try
            {
                using var probe = new TcpListener(IPAddress.Loopback, port);
                probe.Start();
                probe.Stop();
            }
            catch (SocketException e)
            {
                throw new InvalidOperationException(
                    $"port {port} of {broker.Name} is in use ({e.SocketErrorCode}): is another cluster (or Kafka) running? Stop it, or choose another topology.", e);
            }
        }
    }
}
