using System.Globalization;

namespace Aspire.Kafka.Hosting;

/// <summary>Fluent configuration of one resource, in Aspire's shape (<c>WithReference</c>, <c>WaitFor</c>…).</summary>
public sealed class ResourceBuilder
{
    private readonly DistributedApplicationBuilder _application;

    internal ResourceBuilder(DistributedApplicationBuilder application, Resource resource)
    {
        _application = application;
        Resource = resource;
    }

    public Resource Resource { get; }

    /// <summary>
    /// Gives this resource the endpoints of <paramref name="other"/> as environment variables
    /// (<c>services__{name}__{endpoint}__0=host:port</c>, Aspire's convention) and makes it wait
    /// until <paramref name="other"/> is healthy.
    /// </summary>
    public ResourceBuilder WithReference(ResourceBuilder other)
    {
        ArgumentNullException.ThrowIfNull(other);
        foreach (EndpointReference endpoint in other.Resource.Endpoints)
        {
            EndpointReference captured = endpoint;
            Resource.Environment[$"services__{other.Resource.Name}__{captured.Name.ToLowerInvariant()}__0"] = captured.Address;
        }

        return WaitFor(other);
    }

    /// <summary>Starts this resource only once <paramref name="other"/> answers 200 on /health.</summary>
    public ResourceBuilder WaitFor(ResourceBuilder other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (!Resource.WaitsFor.Contains(other.Resource))
        {
            Resource.WaitsFor.Add(other.Resource);
        }

        return this;
    }

    /// <summary>A Kafka-protocol listener; all of a resource's listeners go to <c>--override listeners=NAME://127.0.0.1:port,…</c>.</summary>
    public ResourceBuilder WithKafkaListener(string name, int? port = null, bool bootstrap = false)
    {
        EndpointReference endpoint = _application.AddEndpoint(Resource, name.ToUpperInvariant(), port, isKafkaListener: true);
        endpoint.IsBootstrap = bootstrap;
        return this;
    }

    /// <summary>An HTTP endpoint; for an executable, also its health check (GET /health on it must answer 200).</summary>
    public ResourceBuilder WithHttpEndpoint(int? port = null, bool healthCheck = true)
    {
        if (Resource.GetEndpoint("http") is null)
        {
            _application.AddEndpoint(Resource, "http", port, isKafkaListener: false);
        }

        Resource.HasHealthEndpoint = healthCheck;
        return this;
    }

    /// <summary>A Kafka-style configuration value, passed as <c>--override key=value</c>.</summary>
    public ResourceBuilder WithConfig(string key, string value) => WithConfig(key, () => value);

    public ResourceBuilder WithConfig(string key, int value) => WithConfig(key, value.ToString(CultureInfo.InvariantCulture));

    /// <summary>A value computed when the process starts (e.g. from another resource's endpoints).</summary>
    public ResourceBuilder WithConfig(string key, Func<string> value)
    {
        Resource.Config.Add(new KeyValuePair<string, Func<string>>(key, value));
        return this;
    }

    public ResourceBuilder WithEnvironment(string name, string value)
    {
        Resource.Environment[name] = value;
        return this;
    }

    public ResourceBuilder WithArgs(params string[] args)
    {
        Resource.Args.AddRange(args);
        return this;
    }

    /// <summary>
    /// A data directory under <c>--data-dir</c>/<c>{name}</c>, formatted on first start with the
    /// cluster id and node id (<c>meta.properties</c>), reused later; passed as
    /// <c>--override {directoryKey}=…</c> and <c>--override node.id=…</c>, and the cluster id as CLUSTER_ID.
    /// </summary>
    public ResourceBuilder WithDataDirectory(string cluster, int nodeId, string directoryKey = "log.dirs")
    {
        Resource.Cluster = cluster;
        Resource.NodeId = nodeId;
        Resource.DataDirectoryKey = directoryKey;
        return this;
    }
}
