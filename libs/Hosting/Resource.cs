namespace Aspire.Kafka.Hosting;

/// <summary>What kind of program a resource runs.</summary>
public enum ResourceKind
{
    /// <summary>A .NET project built and run with <c>dotnet</c>; speaks ServiceDefaults (health endpoint, --override, parent watchdog).</summary>
    Project,

    /// <summary>Any executable, started through a small /bin/sh watchdog so that it dies with the launcher.</summary>
    Executable,
}

/// <summary>A named endpoint of a resource: a port on 127.0.0.1 allocated by the launcher (or fixed).</summary>
public sealed class EndpointReference
{
    internal EndpointReference(Resource resource, string name, int port, bool isKafkaListener)
    {
        Resource = resource;
        Name = name;
        Port = port;
        IsKafkaListener = isKafkaListener;
    }

    public Resource Resource { get; }

    /// <summary>"http", or a Kafka listener name (PLAINTEXT, CONTROLLER…).</summary>
    public string Name { get; }

    public string Host => "127.0.0.1";

    public int Port { get; internal set; }

    public bool IsKafkaListener { get; }

    /// <summary>Brokers' client listener: part of the cluster's bootstrap servers.</summary>
    public bool IsBootstrap { get; internal set; }

    public string Address => $"{Host}:{Port}";

    public override string ToString() => Address;
}

/// <summary>A resource of the distributed application: one OS process, its endpoints, configuration and dependencies.</summary>
public sealed class Resource
{
    internal Resource(string name, ResourceKind kind, string path)
    {
        Name = name;
        Kind = kind;
        Path = path;
        HasHealthEndpoint = kind == ResourceKind.Project;
    }

    public string Name { get; }

    public ResourceKind Kind { get; }

    /// <summary>The project file (Project) or the command (Executable).</summary>
    public string Path { get; }

    public List<string> Args { get; } = [];

    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    /// <summary>Kafka-style configuration, passed as <c>--override key=value</c>; values may be computed at start.</summary>
    public List<KeyValuePair<string, Func<string>>> Config { get; } = [];

    public List<EndpointReference> Endpoints { get; } = [];

    /// <summary>Resources that must be healthy before this one starts.</summary>
    public List<Resource> WaitsFor { get; } = [];

    /// <summary>Whether the process serves GET /health on its "http" endpoint (projects do, through ServiceDefaults).</summary>
    public bool HasHealthEndpoint { get; internal set; }

    /// <summary>The cluster this node belongs to (for the data directory's cluster id and the bootstrap addresses), if any.</summary>
    public string? Cluster { get; internal set; }

    public int? NodeId { get; internal set; }

    /// <summary>The configuration key that receives the data directory (log.dirs by default).</summary>
    public string? DataDirectoryKey { get; internal set; }

    /// <summary>Set by the launcher once the data directory is formatted.</summary>
    public string? DataDirectory { get; internal set; }

    public string? ClusterId { get; internal set; }

    public EndpointReference? GetEndpoint(string name) => Endpoints.FirstOrDefault(e => e.Name == name);

    public EndpointReference HttpEndpoint => GetEndpoint("http") ?? throw new InvalidOperationException($"Resource {Name} has no http endpoint.");

    public override string ToString() => Name;
}
