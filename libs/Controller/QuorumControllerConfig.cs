using System.Globalization;

namespace Aspire.Kafka.Controller;

/// <summary>The controller's settings, with Kafka's names and defaults.</summary>
public sealed record QuorumControllerConfig
{
    /// <summary>The cluster id every registration must carry (INCONSISTENT_CLUSTER_ID otherwise); null accepts any.</summary>
    public string? ClusterId { get; init; }

    /// <summary>node.id of this controller.</summary>
    public int NodeId { get; init; }

    /// <summary>num.partitions: partitions of a topic created with NumPartitions = -1.</summary>
    public int NumPartitions { get; init; } = 1;

    /// <summary>default.replication.factor: used when a CreateTopics asks for -1.</summary>
    public short DefaultReplicationFactor { get; init; } = 1;

    /// <summary>delete.topic.enable.</summary>
    public bool DeleteTopicEnable { get; init; } = true;

    /// <summary>unclean.leader.election.enable (cluster default; the topic config overrides it).</summary>
    public bool UncleanLeaderElectionEnable { get; init; }

    /// <summary>auto.leader.rebalance.enable.</summary>
    public bool AutoLeaderRebalanceEnable { get; init; } = true;

    /// <summary>leader.imbalance.check.interval.seconds.</summary>
    public long LeaderImbalanceCheckIntervalSeconds { get; init; } = 300;

    /// <summary>leader.imbalance.per.broker.percentage.</summary>
    public int LeaderImbalancePerBrokerPercentage { get; init; } = 10;

    /// <summary>broker.session.timeout.ms: a node whose last heartbeat is older is fenced.</summary>
    public long BrokerSessionTimeoutMs { get; init; } = 9000;

    /// <summary>broker.heartbeat.interval.ms (the nodes' setting; informational here).</summary>
    public long BrokerHeartbeatIntervalMs { get; init; } = 2000;

    /// <summary>offsets.topic.num.partitions.</summary>
    public int OffsetsTopicNumPartitions { get; init; } = 50;

    /// <summary>offsets.topic.replication.factor (capped to the number of usable brokers when the topic is created).</summary>
    public short OffsetsTopicReplicationFactor { get; init; } = 3;

    /// <summary>metadata.max.idle.interval.ms: the active controller writes a NoOpRecord when it wrote nothing for this long.</summary>
    public long MetadataMaxIdleIntervalMs { get; init; } = 500;

    /// <summary>The static (server.properties) configs, reported by DescribeConfigs as STATIC_BROKER_CONFIG.</summary>
    public IReadOnlyDictionary<string, string> StaticConfigs { get; init; } = new Dictionary<string, string>();

    /// <summary>Seed for topic ids; the same seed and the same operations give the same ids (tests). Null: random.</summary>
    public int? RandomSeed { get; init; }

    /// <summary>Reads the settings from Kafka-style properties (server.properties keys); the rest is kept as static configs.</summary>
    public static QuorumControllerConfig FromProperties(IReadOnlyDictionary<string, string> properties)
    {
        ArgumentNullException.ThrowIfNull(properties);
        var config = new QuorumControllerConfig { StaticConfigs = properties };
        foreach ((string key, string value) in properties)
        {
            string? error = BrokerConfigs.Validate(key, value);
            if (error is not null && BrokerConfigs.All.ContainsKey(key))
            {
                throw new ArgumentException(error, nameof(properties));
            }
        }

        string? Get(string key) => properties.TryGetValue(key, out string? v) ? v.Trim() : null;
        int Int(string key, int fallback) => Get(key) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        long Long(string key, long fallback) => Get(key) is { } v ? long.Parse(v, CultureInfo.InvariantCulture) : fallback;
        bool Bool(string key, bool fallback) => Get(key) is { } v ? bool.Parse(v) : fallback;
        return config with
        {
            ClusterId = Get("cluster.id") ?? config.ClusterId,
            NodeId = Int("node.id", config.NodeId),
            NumPartitions = Int("num.partitions", config.NumPartitions),
            DefaultReplicationFactor = (short)Int("default.replication.factor", config.DefaultReplicationFactor),
            DeleteTopicEnable = Bool("delete.topic.enable", config.DeleteTopicEnable),
            UncleanLeaderElectionEnable = Bool("unclean.leader.election.enable", config.UncleanLeaderElectionEnable),
            AutoLeaderRebalanceEnable = Bool("auto.leader.rebalance.enable", config.AutoLeaderRebalanceEnable),
            LeaderImbalanceCheckIntervalSeconds = Long("leader.imbalance.check.interval.seconds", config.LeaderImbalanceCheckIntervalSeconds),
            LeaderImbalancePerBrokerPercentage = Int("leader.imbalance.per.broker.percentage", config.LeaderImbalancePerBrokerPercentage),
            BrokerSessionTimeoutMs = Long("broker.session.timeout.ms", config.BrokerSessionTimeoutMs),
            BrokerHeartbeatIntervalMs = Long("broker.heartbeat.interval.ms", config.BrokerHeartbeatIntervalMs),
            OffsetsTopicNumPartitions = Int("offsets.topic.num.partitions", config.OffsetsTopicNumPartitions),
            OffsetsTopicReplicationFactor = (short)Int("offsets.topic.replication.factor", config.OffsetsTopicReplicationFactor),
            MetadataMaxIdleIntervalMs = Long("metadata.max.idle.interval.ms", config.MetadataMaxIdleIntervalMs),
        };
    }
}
