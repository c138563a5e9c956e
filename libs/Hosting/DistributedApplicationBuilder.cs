using System.Net;
using System.Net.Sockets;
using Aspire.Kafka.Topology;

namespace Aspire.Kafka.Hosting;

/// <summary>
/// Declares the resources of a distributed application (Aspire's <c>IDistributedApplicationBuilder</c>
/// shape): <c>AddProject</c>/<c>AddExecutable</c>, then <c>Build()</c>.
/// </summary>
public sealed class DistributedApplicationBuilder
{
    private readonly List<Resource> _resources = [];
    private readonly HashSet<int> _ports = [];

    private DistributedApplicationBuilder(DistributedApplicationOptions options) => Options = options;

    public DistributedApplicationOptions Options { get; }

    public IReadOnlyList<Resource> Resources => _resources;

    /// <summary>A builder whose options come from the launcher arguments in <paramref name="args"/>; the others are in <paramref name="remaining"/>.</summary>
    public static DistributedApplicationBuilder CreateBuilder(string[] args, out List<string> remaining) =>
        new(DistributedApplicationOptions.Parse(args, out remaining));

    public static DistributedApplicationBuilder CreateBuilder(DistributedApplicationOptions? options = null) => new(options ?? new DistributedApplicationOptions());

    /// <summary>
    /// A .NET project (path relative to the repository root, or absolute). It gets an "http"
    /// endpoint (passed as <c>--override http.listener=127.0.0.1:port</c>) whose /health gates
    /// the resources that wait for it.
    /// </summary>
    public ResourceBuilder AddProject(string name, string projectPath)
    {
        var builder = new ResourceBuilder(this, Add(new Resource(name, ResourceKind.Project, projectPath)));
        return builder.WithHttpEndpoint();
    }

    /// <summary>
    /// Every node of <paramref name="topology"/> as a project resource with the topology's ports,
    /// node id, data directory, configs and start order (the AppHost declares the same nodes as
    /// Aspire resources). Returns the resource builders by node name.
    /// </summary>
    public IReadOnlyDictionary<string, ResourceBuilder> AddTopology(KafkaTopology topology)
    {
        ArgumentNullException.ThrowIfNull(topology);
        var added = new Dictionary<string, ResourceBuilder>(StringComparer.Ordinal);
        foreach (NodeSpec node in topology.Nodes)
        {
            var builder = new ResourceBuilder(this, Add(new Resource(node.Name, ResourceKind.Project, node.Project)));
            builder.WithHttpEndpoint(node.HttpPort);
            foreach (ListenerSpec listener in node.Listeners)
            {
                builder.WithKafkaListener(listener.Name, listener.Port, listener.Bootstrap);
            }

            if (node.Role != NodeRole.Mirror)
            {
                builder.WithDataDirectory(node.Cluster, node.NodeId);
            }

            foreach ((string key, string value) in node.Config)
            {
                builder.WithConfig(key, value);
            }

            foreach (string dependency in node.WaitFor)
            {
                builder.WaitFor(added[dependency]);
            }

            added[node.Name] = builder;
        }

        return added;
    }

    /// <summary>Any executable with arguments; healthy once started unless it gets <c>WithHttpEndpoint()</c>.</summary>
    public ResourceBuilder AddExecutable(string name, string command, params string[] args)
    {
        var builder = new ResourceBuilder(this, Add(new Resource(name, ResourceKind.Executable, command)));
        return builder.WithArgs(args);
    }

    public DistributedApplication Build()
    {
        // Refuse cycles up front: they would wait forever.
        var state = new Dictionary<Resource, int>();
        foreach (Resource resource in _resources)
        {
            Visit(resource, state, []);
        }

        return new DistributedApplication(Options, _resources.ToList());
    }

    private static void Visit(Resource resource, Dictionary<Resource, int> state, List<string> path)
    {
        state.TryGetValue(resource, out int mark);
        if (mark == 2)
        {
            return;
        }

        path.Add(resource.Name);
        if (mark == 1)
        {
            throw new InvalidOperationException($"Resources wait for each other in a cycle: {string.Join(" -> ", path)}.");
        }

        state[resource] = 1;
        foreach (Resource dependency in resource.WaitsFor)
        {
            Visit(dependency, state, path);
        }

        state[resource] = 2;
        path.RemoveAt(path.Count - 1);
    }

    private Resource Add(Resource resource)
    {
        if (_resources.Any(r => r.Name == resource.Name))
        {
            throw new InvalidOperationException($"A resource named {resource.Name} already exists.");
        }

        _resources.Add(resource);
        return resource;
    }

    internal EndpointReference AddEndpoint(Resource resource, string name, int? port, bool isKafkaListener)
    {
        if (resource.GetEndpoint(name) is not null)
        {
            throw new InvalidOperationException($"Resource {resource.Name} already has an endpoint named {name}.");
        }

        int chosen = port ?? FreePort();
        if (!_ports.Add(chosen))
        {
            throw new InvalidOperationException($"Port {chosen} of {resource.Name}/{name} is already used by another resource.");
        }

        var endpoint = new EndpointReference(resource, name, chosen, isKafkaListener);
        resource.Endpoints.Add(endpoint);
        return endpoint;
    }

    // The kernel picks a free port; the listener is closed at once and the port handed to the
    // resource. Another program could take it meanwhile: then the resource fails to bind and says so.
    private int FreePort()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            if (!_ports.Contains(port))
            {
                return port;
            }
        }
    }
}
