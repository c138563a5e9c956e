using Aspire.Kafka.Client;
using Aspire.Kafka.Metadata;
using Aspire.Kafka.Raft;
using Aspire.Kafka.ServiceDefaults.Configuration;
using Aspire.Kafka.Storage;

namespace Aspire.Kafka.Node;

/// <summary>A broker's or coordinator's typed node settings, built once at start from <see cref="KafkaConfig"/> (<see cref="NodeConfig"/> keys).</summary>
public sealed record NodeSettings(
    int NodeId,
    NodeRole Role,
    string ClusterId,
    IReadOnlyList<KafkaNode> Voters,
    IReadOnlyList<Endpoint> AdvertisedListeners,
    string InterBrokerListenerName,
    string? Rack,
    IReadOnlyList<string> LogDirs,
    long HeartbeatIntervalMs,
    int RequestTimeoutMs,
    int FetchTimeoutMs,
    int RetryBackoffMs,
    bool AutoCreateTopics,
    int NumPartitions,
    short DefaultReplicationFactor,
    long ControlledShutdownTimeoutMs,
    long MaxRecordBytesBetweenSnapshots,
    long MaxSnapshotIntervalMs)
{
    /// <summary>Builds the settings or throws <see cref="InvalidOperationException"/> with one sentence saying what is wrong.</summary>
    public static NodeSettings From(KafkaConfig config, NodeRole role, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(environment);
        string service = role == NodeRole.Broker ? "broker" : "coordinator";
        int nodeId = config.GetInt(ServiceDefaultsConfig.NodeId);
        if (nodeId < 0)
        {
            throw new InvalidOperationException($"node.id must be set to this {service}'s id (unique in the cluster, not a controller's).");
        }

        string votersText = string.Join(',', config.GetList(NodeConfig.QuorumVoters));
        IReadOnlyList<VoterEndpoint> voters;
        try
        {
            voters = QuorumVoters.Parse(votersText);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            throw new InvalidOperationException($"Invalid value {votersText} for configuration controller.quorum.voters: {e.Message}", e);
        }

        if (voters.Any(v => v.Id == nodeId))
        {
            throw new InvalidOperationException($"node.id {nodeId} is a controller in controller.quorum.voters ({votersText}); a {service} needs an id of its own.");
        }

        IReadOnlyList<KafkaListener> listeners = KafkaListener.Parse(
            config.GetList(ServiceDefaultsConfig.Listeners), config.GetString(ServiceDefaultsConfig.ListenerSecurityProtocolMap) ?? ServiceDefaultsConfig.DefaultSecurityProtocolMap);
        IReadOnlyList<string> advertisedText = config.GetList(NodeConfig.AdvertisedListeners);
        IReadOnlyList<KafkaListener> advertised = advertisedText.Count > 0
            ? KafkaListener.Parse(advertisedText, config.GetString(ServiceDefaultsConfig.ListenerSecurityProtocolMap) ?? ServiceDefaultsConfig.DefaultSecurityProtocolMap)
            : listeners;
        if (advertised.Count == 0)
        {
            throw new InvalidOperationException($"listeners is empty: a {service} needs a listener (e.g. PLAINTEXT://localhost:9092).");
        }

        var endpoints = advertised.Select(l => new Endpoint(
            l.Name,
            l.Host is "" or "0.0.0.0" or "::" ? "localhost" : l.Host,
            l.Port,
            0)).ToList();
        string interBroker = config.GetString(NodeConfig.InterBrokerListenerName) is { Length: > 0 } ib ? ib.ToUpperInvariant() : endpoints[0].Name;
        if (!endpoints.Any(e => e.Name == interBroker))
        {
            throw new InvalidOperationException($"inter.broker.listener.name {interBroker} is not one of the advertised listeners ({string.Join(',', endpoints.Select(e => e.Name))}).");
        }

        IReadOnlyList<string> logDirs = config.GetList(NodeConfig.LogDirs);
        if (logDirs.Count == 0)
        {
            throw new InvalidOperationException("log.dirs is empty.");
        }

        string clusterId = ReadClusterId(logDirs, nodeId, environment("CLUSTER_ID"));
        return new NodeSettings(
            nodeId,
            role,
            clusterId,
            [.. voters.Select(v => new KafkaNode(v.Id, v.Host, v.Port))],
            endpoints,
            interBroker,
            config.GetString(NodeConfig.Rack) is { Length: > 0 } rack ? rack : null,
            logDirs,
            config.GetInt(NodeConfig.HeartbeatIntervalMs),
            config.GetInt(NodeConfig.QuorumRequestTimeoutMs),
            config.GetInt(NodeConfig.QuorumFetchTimeoutMs),
            config.GetInt(NodeConfig.QuorumRetryBackoffMs),
            config.GetBoolean(NodeConfig.AutoCreateTopicsEnable),
            config.GetInt(NodeConfig.NumPartitions),
            (short)config.GetInt(NodeConfig.DefaultReplicationFactor),
            config.GetLong(NodeConfig.ControlledShutdownTimeoutMs),
            config.GetLong(NodeConfig.MaxRecordBytesBetweenSnapshots),
            config.GetLong(NodeConfig.MaxSnapshotIntervalMs));
    }

    /// <summary>
    /// The cluster id from the log dirs' meta.properties (the launcher and kafka-storage format
    /// write it), else CLUSTER_ID; directories that disagree, or a node id that differs from
    /// node.id, are refused.
    /// </summary>
    public static string ReadClusterId(IReadOnlyList<string> logDirs, int nodeId, string? fromEnvironment)
    {
        ArgumentNullException.ThrowIfNull(logDirs);
        string? clusterId = null;
        foreach (string dir in logDirs)
        {
            MetaProperties? meta = MetaProperties.Read(dir);
            if (meta is null)
            {
                continue;
            }

            if (meta.NodeId >= 0 && meta.NodeId != nodeId)
            {
                throw new InvalidOperationException($"{Path.Combine(dir, MetaProperties.FileName)} belongs to node {meta.NodeId}, but node.id is {nodeId}.");
            }

            if (clusterId is not null && clusterId != meta.ClusterId)
            {
                throw new InvalidOperationException($"The log dirs belong to different clusters ({clusterId} and {meta.ClusterId} in {dir}).");
            }

            clusterId = meta.ClusterId;
        }

        if (clusterId is null)
        {
            return fromEnvironment is { Length: > 0 }
                ? fromEnvironment
                : throw new InvalidOperationException(
                    $"No cluster id: {logDirs[0]} has no meta.properties (format it, as kafka-storage format does) and CLUSTER_ID is not set.");
        }

        return fromEnvironment is { Length: > 0 } && fromEnvironment != clusterId
            ? throw new InvalidOperationException($"CLUSTER_ID {fromEnvironment} differs from cluster.id {clusterId} in {Path.Combine(logDirs[0], MetaProperties.FileName)}.")
            : clusterId;
    }

    /// <summary>The endpoint other nodes use to reach <paramref name="node"/> (its inter-broker listener, else its first).</summary>
    public KafkaNode? NodeEndpoint(BrokerRegistration node)
    {
        ArgumentNullException.ThrowIfNull(node);
        Endpoint? e = node.Listener(InterBrokerListenerName) ?? (node.Listeners.Count > 0 ? node.Listeners[0] : null);
        return e is null ? null : new KafkaNode(node.Id, e.Host, e.Port, node.Rack);
    }
}
