namespace Aspire.Kafka.Topology;

/// <summary>The three node roles of a cluster, and the mirror (not a cluster node: it joins two clusters).</summary>
public enum NodeRole
{
    Controller,
    Broker,
    Coordinator,
    Mirror,
}

/// <summary>
/// A mirror (services/mirror) that keeps cluster <paramref name="Target"/> offset-identical to cluster
/// <paramref name="Source"/>. Its node is named "mirror" for the default primary → backup pair, else
/// "mirror-SOURCE-to-TARGET"; it starts once both clusters' brokers and coordinators are healthy.
/// </summary>
public sealed record MirrorSpec(string Source, string Target)
{
    /// <summary>The port of the mirror's gRPC control API (kafka-mirrors); null: a free one.</summary>
    public int? ControlPort { get; init; }

    /// <summary>Extra mirror configs (topics, groups, intervals…; later wins).</summary>
    public IReadOnlyDictionary<string, string> Config { get; init; } = new Dictionary<string, string>();

    public string Name => Source == KafkaTopology.Primary && Target == KafkaTopology.Backup ? "mirror" : $"mirror-{Source}-to-{Target}";
}

/// <summary>
/// One Kafka cluster as the user asks for it: how many nodes of each role, where the brokers
/// listen, and extra Kafka configs per role. <see cref="KafkaTopology.Plan"/> turns it into
/// <see cref="NodeSpec"/>s with ports, node ids and the configs that tie the nodes together.
/// </summary>
/// <param name="Name">The cluster's name ("primary", "backup"); nodes of a cluster other than "primary" get it as a name prefix.</param>
public sealed record ClusterSpec(string Name)
{
    private static readonly IReadOnlyDictionary<string, string> None = new Dictionary<string, string>();

    public int Controllers { get; init; } = 3;

    public int Brokers { get; init; } = 3;

    public int Coordinators { get; init; } = 2;

    /// <summary>The first broker's Kafka port (the next brokers take the following ports); null: free ports.</summary>
    public int? FirstBrokerPort { get; init; }

    /// <summary>Configs every controller gets (after the topology's own; later wins).</summary>
    public IReadOnlyDictionary<string, string> ControllerConfig { get; init; } = None;

    /// <summary>Configs every broker gets.</summary>
    public IReadOnlyDictionary<string, string> BrokerConfig { get; init; } = None;

    /// <summary>Configs every coordinator gets.</summary>
    public IReadOnlyDictionary<string, string> CoordinatorConfig { get; init; } = None;

    /// <summary>Node name prefix: none for the primary cluster, "backup-" for the backup.</summary>
    public string Prefix => Name == KafkaTopology.Primary ? "" : Name + "-";

    /// <summary>The node ids: controllers 1.., brokers 101.., coordinators 201.. (unique within a cluster).</summary>
    public static int NodeId(NodeRole role, int index) => role switch
    {
        NodeRole.Controller => index,
        NodeRole.Broker => 100 + index,
        _ => 200 + index,
    };

    /// <summary>The node name of the <paramref name="index"/>-th (from 1) node of <paramref name="role"/>: controller-1, broker-2, backup-coordinator-1.</summary>
    public string NodeName(NodeRole role, int index) => $"{Prefix}{role.ToString().ToLowerInvariant()}-{index}";

    internal IReadOnlyDictionary<string, string> ConfigOf(NodeRole role) => role switch
    {
        NodeRole.Controller => ControllerConfig,
        NodeRole.Broker => BrokerConfig,
        _ => CoordinatorConfig,
    };
}
