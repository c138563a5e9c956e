using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Aspire.Kafka.Topology;

/// <summary>
/// The one definition of a local Aspire.Kafka system (issue 15): which nodes each cluster has,
/// their names, node ids, ports and configs, and which node waits for which. The AppHost declares
/// an Aspire resource per <see cref="NodeSpec"/>, the test harness (libs/Hosting) a child process,
/// the benchmarks either; none of them decides any of this itself.
/// </summary>
/// <remarks>
/// Data flow: <see cref="ClusterSpec"/> (what the user asks for) → <see cref="Plan"/> (ports from
/// <see cref="PortAllocator"/>, <c>controller.quorum.voters</c> from the controllers' ports, the
/// role's configs) → <see cref="NodeSpec"/>s → a host, which formats the data directories with
/// <see cref="DataDirectories.Prepare"/> and starts each node with <see cref="NodeSpec.Overrides"/>.
/// Order: controllers start together (their health needs a quorum), brokers wait for the
/// controllers, coordinators for the controllers and the brokers.
/// </remarks>
public sealed class KafkaTopology
{
    public const string Primary = "primary";
    public const string Backup = "backup";
    public const string Host = "127.0.0.1";
    public const int PrimaryBootstrapPort = 9092;
    public const int BackupBootstrapPort = 29092;

    /// <summary>The default mirror's control API port (kafka-mirrors' default --mirror-server localhost:9096).</summary>
    public const int MirrorControlPort = 9096;

    /// <summary>The Kafka listener clients and brokers use, and the controllers' listener.</summary>
    public const string ClientListener = "PLAINTEXT";
    public const string ControllerListener = "CONTROLLER";

    private KafkaTopology(IReadOnlyList<ClusterSpec> clusters, IReadOnlyList<NodeSpec> nodes)
    {
        Clusters = clusters;
        Nodes = nodes;
    }

    public IReadOnlyList<ClusterSpec> Clusters { get; }

    /// <summary>Every node, dependencies before dependents.</summary>
    public IReadOnlyList<NodeSpec> Nodes { get; }

    public NodeSpec this[string name] => Nodes.FirstOrDefault(n => n.Name == name)
        ?? throw new KeyNotFoundException($"The topology has no node {name}.");

    /// <summary>
    /// The default system: the primary cluster (3 controllers, brokers on localhost:9092.., 2
    /// coordinators) and, unless <paramref name="backup"/> is false, the backup cluster (1 + 1 + 1,
    /// broker on localhost:29092) with the mirror keeping it offset-identical to the primary.
    /// </summary>
    public static KafkaTopology Default(int brokers = 3, int controllers = 3, int coordinators = 2, bool backup = true, PortAllocator? ports = null)
    {
        var clusters = new List<ClusterSpec>
        {
            new(Primary) { Brokers = brokers, Controllers = controllers, Coordinators = coordinators, FirstBrokerPort = PrimaryBootstrapPort },
        };
        if (backup)
        {
            // The mirror creates the backup's topics; a client asking the backup for a topic before
            // that must not create an ordinary topic of that name, which the mirror would then refuse.
            clusters.Add(new ClusterSpec(Backup)
            {
                Brokers = 1,
                Controllers = 1,
                Coordinators = 1,
                FirstBrokerPort = BackupBootstrapPort,
                BrokerConfig = new Dictionary<string, string> { ["auto.create.topics.enable"] = "false" },
            });
        }

        return Plan(clusters, ports, backup ? [new MirrorSpec(Primary, Backup) { ControlPort = MirrorControlPort }] : []);
    }

    /// <summary>
    /// Plans <paramref name="clusters"/>: ports (fixed where the spec says, else free ones from
    /// <paramref name="ports"/>), node ids, configs, order; then the <paramref name="mirrors"/> between them.
    /// </summary>
    public static KafkaTopology Plan(IEnumerable<ClusterSpec> clusters, PortAllocator? ports = null, IEnumerable<MirrorSpec>? mirrors = null)
    {
        ArgumentNullException.ThrowIfNull(clusters);
        ports ??= new PortAllocator();
        List<ClusterSpec> list = clusters.ToList();
        if (list.Select(c => c.Name).Distinct(StringComparer.Ordinal).Count() != list.Count)
        {
            throw new ArgumentException("Cluster names must be distinct.", nameof(clusters));
        }

        var nodes = new List<NodeSpec>();
        foreach (ClusterSpec cluster in list)
        {
            nodes.AddRange(PlanCluster(cluster, ports));
        }

        foreach (MirrorSpec mirror in mirrors ?? [])
        {
            if (!list.Any(c => c.Name == mirror.Source) || !list.Any(c => c.Name == mirror.Target) || mirror.Source == mirror.Target)
            {
                throw new ArgumentException($"The mirror {mirror.Source} → {mirror.Target} needs two distinct clusters of the plan.", nameof(mirrors));
            }

            nodes.Add(PlanMirror(mirror, nodes, ports));
        }

        return new KafkaTopology(list, nodes);
    }

    /// <summary>The mirror's node: no Kafka listener and no data directory; the two clusters' aliases and bootstrap servers as its config.</summary>
    private static NodeSpec PlanMirror(MirrorSpec mirror, List<NodeSpec> nodes, PortAllocator ports)
    {
        string Bootstrap(string cluster) => string.Join(',', nodes.Where(n => n.Cluster == cluster && n.Role == NodeRole.Broker).Select(b => b.Listener(ClientListener).Address));
        var config = new List<KeyValuePair<string, string>>
        {
            new("source.cluster.alias", mirror.Source),
            new("source.bootstrap.servers", Bootstrap(mirror.Source)),
            new("target.cluster.alias", mirror.Target),
            new("target.bootstrap.servers", Bootstrap(mirror.Target)),
            new("control.listener", $"{Host}:{ports.Take(mirror.ControlPort).ToString(CultureInfo.InvariantCulture)}"),
        };
        config.AddRange(mirror.Config);
        List<string> waitFor = [.. nodes.Where(n => (n.Cluster == mirror.Source || n.Cluster == mirror.Target) && n.Role is NodeRole.Broker or NodeRole.Coordinator).Select(n => n.Name)];
        return new NodeSpec(mirror.Name, NodeRole.Mirror, mirror.Target, -1, ServiceProjects.Mirror, [], ports.Take(null), config, waitFor);
    }

    /// <summary>A cluster's bootstrap servers: its brokers' client listeners (host:port,…).</summary>
    public string BootstrapServers(string cluster = Primary) => string.Join(',', Brokers(cluster).Select(b => b.Listener(ClientListener).Address));

    public IEnumerable<NodeSpec> Brokers(string cluster = Primary) => Nodes.Where(n => n.Cluster == cluster && n.Role == NodeRole.Broker);

    public IEnumerable<NodeSpec> Controllers(string cluster = Primary) => Nodes.Where(n => n.Cluster == cluster && n.Role == NodeRole.Controller);

    public IEnumerable<NodeSpec> Coordinators(string cluster = Primary) => Nodes.Where(n => n.Cluster == cluster && n.Role == NodeRole.Coordinator);

    /// <summary>The mirrors (services/mirror) of the plan.</summary>
    public IEnumerable<NodeSpec> Mirrors => Nodes.Where(n => n.Role == NodeRole.Mirror);

    /// <summary>One line per cluster and per mirror describing it, for a host to print before it starts.</summary>
    public IEnumerable<string> Describe() => Clusters.Select(c =>
        $"{c.Name}: {c.Controllers} controller(s), {c.Brokers} broker(s) on {BootstrapServers(c.Name)}, {c.Coordinators} coordinator(s)")
        .Concat(Mirrors.Select(m => $"{m.Name}: {m.Config.First(c => c.Key == "source.cluster.alias").Value} → {m.Cluster}, offset-identical"));

    private static List<NodeSpec> PlanCluster(ClusterSpec cluster, PortAllocator ports)
    {
        if (cluster.Controllers < 1)
        {
            throw new ArgumentException($"Cluster {cluster.Name} needs at least one controller.");
        }

        if (cluster.Brokers < 0 || cluster.Coordinators < 0)
        {
            throw new ArgumentException($"Cluster {cluster.Name}: node counts cannot be negative.");
        }

        var controllers = Enumerable.Range(1, cluster.Controllers)
            .Select(i => (Index: i, Port: ports.Take(null), Http: ports.Take(null)))
            .ToList();
        string voters = string.Join(',', controllers.Select(c =>
            $"{ClusterSpec.NodeId(NodeRole.Controller, c.Index)}@{Host}:{c.Port}"));
        var nodes = new List<NodeSpec>();
        List<string> controllerNames = controllers.Select(c => cluster.NodeName(NodeRole.Controller, c.Index)).ToList();
        foreach ((int index, int port, int http) in controllers)
        {
            nodes.Add(Node(cluster, NodeRole.Controller, index, new ListenerSpec(ControllerListener, port, Bootstrap: false), http, voters, []));
        }

        var brokerNames = new List<string>();
        for (int i = 1; i <= cluster.Brokers; i++)
        {
            int port = ports.Take(cluster.FirstBrokerPort is int first ? first + i - 1 : null);
            nodes.Add(Node(cluster, NodeRole.Broker, i, new ListenerSpec(ClientListener, port, Bootstrap: true), ports.Take(null), voters, controllerNames));
            brokerNames.Add(cluster.NodeName(NodeRole.Broker, i));
        }

        for (int i = 1; i <= cluster.Coordinators; i++)
        {
            nodes.Add(Node(cluster, NodeRole.Coordinator, i, new ListenerSpec(ClientListener, ports.Take(null), Bootstrap: false), ports.Take(null), voters,
                [.. controllerNames, .. brokerNames]));
        }

        return nodes;
    }

    private static NodeSpec Node(ClusterSpec cluster, NodeRole role, int index, ListenerSpec listener, int httpPort, string voters, IReadOnlyList<string> waitFor)
    {
        var config = new List<KeyValuePair<string, string>> { new("controller.quorum.voters", voters) };
        config.AddRange(cluster.ConfigOf(role));
        return new NodeSpec(
            cluster.NodeName(role, index), role, cluster.Name, ClusterSpec.NodeId(role, index), ServiceProjects.Of(role),
            [listener], httpPort, config, waitFor);
    }
}

/// <summary>The service projects, relative to the repository root (the folder holding Aspire.Kafka.sln).</summary>
public static class ServiceProjects
{
    public const string Controller = "services/controller/Aspire.Kafka.ControllerService.csproj";
    public const string Broker = "services/broker/Aspire.Kafka.Broker.csproj";
    public const string Coordinator = "services/coordinator/Aspire.Kafka.Coordinator.csproj";
    public const string Mirror = "services/mirror/Aspire.Kafka.Mirror.csproj";

    public static string Of(NodeRole role) => role switch
    {
        NodeRole.Controller => Controller,
        NodeRole.Broker => Broker,
        NodeRole.Mirror => Mirror,
        _ => Coordinator,
    };

    /// <summary>The repository root: the nearest folder from <paramref name="start"/> (default: the current directory, then the app's base directory) that holds Aspire.Kafka.sln.</summary>
    public static string FindRoot(string? start = null)
    {
        foreach (string? candidate in new[] { start, Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (DirectoryInfo? dir = candidate is null ? null : new DirectoryInfo(candidate); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Aspire.Kafka.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new DirectoryNotFoundException("Aspire.Kafka.sln was not found above the current directory or the program's directory.");
    }
}

/// <summary>
/// Ports for a plan: a fixed one when asked (refused if the plan already uses it), else one the
/// kernel picks on 127.0.0.1 (its socket is closed at once; another program could take it before
/// the node binds it, and then the node fails to start and says so).
/// </summary>
public sealed class PortAllocator
{
    private readonly HashSet<int> _taken = [];

    public int Take(int? port)
    {
        if (port is int chosen)
        {
            return _taken.Add(chosen) ? chosen
                : throw new ArgumentException($"Port {chosen.ToString(CultureInfo.InvariantCulture)} is planned twice.");
        }

        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int free = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            if (_taken.Add(free))
            {
                return free;
            }
        }
    }
}
