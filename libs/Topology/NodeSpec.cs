using System.Globalization;

namespace Aspire.Kafka.Topology;

/// <summary>A Kafka-protocol listener of a node on 127.0.0.1.</summary>
/// <param name="Bootstrap">Whether clients bootstrap from it (a broker's PLAINTEXT listener).</param>
public sealed record ListenerSpec(string Name, int Port, bool Bootstrap)
{
    public string Address => $"{KafkaTopology.Host}:{Port}";
}

/// <summary>
/// One node process as every host starts it (the AppHost as an Aspire resource, the test harness
/// as a child process): its service project, node id, ports, configs and the nodes it waits for.
/// </summary>
/// <param name="Name">Resource name: controller-1, broker-1, backup-coordinator-1.</param>
/// <param name="Project">The service's project, relative to the repository root.</param>
/// <param name="Config">The configs that tie the cluster together and the role's extras (not listeners, ports, node id or data directory: <see cref="Overrides"/> adds those).</param>
/// <param name="WaitFor">Names of the nodes that must be healthy before this one starts.</param>
public sealed record NodeSpec(
    string Name,
    NodeRole Role,
    string Cluster,
    int NodeId,
    string Project,
    IReadOnlyList<ListenerSpec> Listeners,
    int HttpPort,
    IReadOnlyList<KeyValuePair<string, string>> Config,
    IReadOnlyList<string> WaitFor)
{
    public string HttpAddress => $"{KafkaTopology.Host}:{HttpPort}";

    public ListenerSpec Listener(string name) => Listeners.FirstOrDefault(l => l.Name == name)
        ?? throw new KeyNotFoundException($"{Name} has no listener {name}.");

    /// <summary>
    /// Everything the node is started with, as Kafka <c>--override key=value</c> pairs: the HTTP
    /// listener, the Kafka listeners (and the security protocol of non-standard listener names),
    /// the data directory, the node id, then <see cref="Config"/> (later wins).
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> Overrides(string dataDirectory)
    {
        List<KeyValuePair<string, string>> pairs = ServiceOverrides(HttpAddress, Listeners.Select(l => (l.Name, l.Address)).ToList());
        if (Role != NodeRole.Mirror)
        {
            // The mirror keeps no data and is no cluster node.
            pairs.Add(new("log.dirs", dataDirectory));
            pairs.Add(new("node.id", NodeId.ToString(CultureInfo.InvariantCulture)));
        }

        pairs.AddRange(Config);
        return pairs;
    }

    /// <summary>The <c>http.listener</c>, <c>listeners</c> and <c>listener.security.protocol.map</c> overrides of a ServiceDefaults service.</summary>
    public static List<KeyValuePair<string, string>> ServiceOverrides(string? httpAddress, IReadOnlyList<(string Name, string Address)> listeners)
    {
        ArgumentNullException.ThrowIfNull(listeners);
        var pairs = new List<KeyValuePair<string, string>>();
        if (httpAddress is not null)
        {
            pairs.Add(new("http.listener", httpAddress));
        }

        if (listeners.Count > 0)
        {
            pairs.Add(new("listeners", string.Join(',', listeners.Select(l => $"{l.Name}://{l.Address}"))));
            string[] standard = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"];
            List<string> extra = listeners.Select(l => l.Name).Where(n => !standard.Contains(n)).Select(n => $"{n}:PLAINTEXT").ToList();
            if (extra.Count > 0)
            {
                pairs.Add(new("listener.security.protocol.map", string.Join(',', standard.Select(s => $"{s}:{s}").Concat(extra))));
            }
        }

        return pairs;
    }
}
