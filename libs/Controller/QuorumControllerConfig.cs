using System.Globalization;
using Aspire.Kafka.Config;
using Aspire.Kafka.Storage;
using Range = Aspire.Kafka.Config.Range;

namespace Aspire.Kafka.Controller;

/// <summary>The controller's settings, with Kafka's names; the keys and defaults are declared once, in <see cref="ConfigDef"/>.</summary>
public sealed record QuorumControllerConfig
{
    public const string AutoLeaderRebalanceEnableConfig = "auto.leader.rebalance.enable";
    public const string LeaderImbalanceCheckIntervalSecondsConfig = "leader.imbalance.check.interval.seconds";
    public const string LeaderImbalancePerBrokerPercentageConfig = "leader.imbalance.per.broker.percentage";
    public const string MetadataMaxIdleIntervalMsConfig = "metadata.max.idle.interval.ms";

    /// <summary>The keys the QuorumController reads (the shared ones are <see cref="ServerConfigs"/>' and storage's declarations).</summary>
    public static ConfigDef ConfigDef { get; } = new ConfigDef()
        .Define(ServerConfigs.NumPartitions)
        .Define(ServerConfigs.DefaultReplicationFactor)
        .Define(ServerConfigs.DeleteTopicEnable)
        .Define(LogConfig.ServerConfigDef[LogConfig.UncleanLeaderElectionEnableConfig])
        .Define(AutoLeaderRebalanceEnableConfig, ConfigType.Boolean, true, Importance.High, "Enables auto leader balancing.")
        .Define(LeaderImbalanceCheckIntervalSecondsConfig, ConfigType.Long, 300L, Range.AtLeast(1), Importance.High, "How often the controller checks leader imbalance.")
        .Define(LeaderImbalancePerBrokerPercentageConfig, ConfigType.Int, 10, Range.AtLeast(0), Importance.High, "The ratio of leader imbalance allowed per broker, in percent.")
        .Define(ServerConfigs.BrokerSessionTimeoutMs)
        .Define(ServerConfigs.BrokerHeartbeatIntervalMs)
        .Define(ServerConfigs.OffsetsTopicNumPartitions)
        .Define(ServerConfigs.OffsetsTopicReplicationFactor)
        .Define(MetadataMaxIdleIntervalMsConfig, ConfigType.Int, 500, Range.AtLeast(0), Importance.Low,
            "The active controller writes a NoOp record after this long without writes (0: never).");

    /// <summary>The cluster id every registration must carry (INCONSISTENT_CLUSTER_ID otherwise); null accepts any.</summary>
    public string? ClusterId { get; init; }

    /// <summary>node.id of this controller.</summary>
    public int NodeId { get; init; }

    /// <summary>num.partitions: partitions of a topic created with NumPartitions = -1.</summary>
    public int NumPartitions { get; init; } = Default<int>(ServerConfigs.NumPartitions);

    /// <summary>default.replication.factor: used when a CreateTopics asks for -1.</summary>
    public short DefaultReplicationFactor { get; init; } = Default<short>(ServerConfigs.DefaultReplicationFactor);

    /// <summary>delete.topic.enable.</summary>
    public bool DeleteTopicEnable { get; init; } = Default<bool>(ServerConfigs.DeleteTopicEnable);

    /// <summary>unclean.leader.election.enable (cluster default; the topic config overrides it).</summary>
    public bool UncleanLeaderElectionEnable { get; init; } = Default<bool>(ConfigDef[LogConfig.UncleanLeaderElectionEnableConfig]);

    /// <summary>auto.leader.rebalance.enable.</summary>
    public bool AutoLeaderRebalanceEnable { get; init; } = Default<bool>(ConfigDef[AutoLeaderRebalanceEnableConfig]);

    /// <summary>leader.imbalance.check.interval.seconds.</summary>
    public long LeaderImbalanceCheckIntervalSeconds { get; init; } = Default<long>(ConfigDef[LeaderImbalanceCheckIntervalSecondsConfig]);

    /// <summary>leader.imbalance.per.broker.percentage.</summary>
    public int LeaderImbalancePerBrokerPercentage { get; init; } = Default<int>(ConfigDef[LeaderImbalancePerBrokerPercentageConfig]);

    /// <summary>broker.session.timeout.ms: a node whose last heartbeat is older is fenced.</summary>
    public long BrokerSessionTimeoutMs { get; init; } = Default<long>(ServerConfigs.BrokerSessionTimeoutMs);

    /// <summary>broker.heartbeat.interval.ms (the nodes' setting; informational here).</summary>
    public long BrokerHeartbeatIntervalMs { get; init; } = Default<long>(ServerConfigs.BrokerHeartbeatIntervalMs);

    /// <summary>offsets.topic.num.partitions.</summary>
    public int OffsetsTopicNumPartitions { get; init; } = Default<int>(ServerConfigs.OffsetsTopicNumPartitions);

    /// <summary>offsets.topic.replication.factor (capped to the number of usable brokers when the topic is created).</summary>
    public short OffsetsTopicReplicationFactor { get; init; } = Default<short>(ServerConfigs.OffsetsTopicReplicationFactor);

    /// <summary>metadata.max.idle.interval.ms: the active controller writes a NoOpRecord when it wrote nothing for this long.</summary>
    public long MetadataMaxIdleIntervalMs { get; init; } = Default<long>(ConfigDef[MetadataMaxIdleIntervalMsConfig]);

    /// <summary>The static (server.properties) configs, reported by DescribeConfigs as STATIC_BROKER_CONFIG.</summary>
    public IReadOnlyDictionary<string, string> StaticConfigs { get; init; } = new Dictionary<string, string>();

    /// <summary>Seed for topic ids; the same seed and the same operations give the same ids (tests). Null: random.</summary>
    public int? RandomSeed { get; init; }

    /// <summary>
    /// Reads the settings from Kafka-style properties (server.properties keys) through
    /// <see cref="ConfigDef"/>; every property is kept as a static config. A bad value of a key
    /// the controller reports throws <see cref="ArgumentException"/> with Kafka's message.
    /// </summary>
    public static QuorumControllerConfig FromProperties(IReadOnlyDictionary<string, string> properties)
    {
        ArgumentNullException.ThrowIfNull(properties);
        foreach ((string key, string value) in properties)
        {
            if (BrokerConfigs.Validate(key, value) is { } error)
            {
                throw new ArgumentException(error, nameof(properties));
            }
        }

        T Get<T>(string key, T fallback)
        {
            if (!properties.TryGetValue(key, out string? raw))
            {
                return fallback;
            }

            ConfigKey def = ConfigDef[key];
            return def.Validate(raw) is { } error
                ? throw new ArgumentException(error, nameof(properties))
                : (T)Convert.ChangeType(Config.ConfigDef.Parse(def, raw), typeof(T), CultureInfo.InvariantCulture)!;
        }

        var config = new QuorumControllerConfig { StaticConfigs = properties };
        return config with
        {
            ClusterId = properties.TryGetValue("cluster.id", out string? clusterId) ? clusterId.Trim() : config.ClusterId,
            NodeId = properties.TryGetValue("node.id", out string? nodeId) ? int.Parse(nodeId.Trim(), CultureInfo.InvariantCulture) : config.NodeId,
            NumPartitions = Get(ServerConfigs.NumPartitions.Name, config.NumPartitions),
            DefaultReplicationFactor = Get(ServerConfigs.DefaultReplicationFactor.Name, config.DefaultReplicationFactor),
            DeleteTopicEnable = Get(ServerConfigs.DeleteTopicEnable.Name, config.DeleteTopicEnable),
            UncleanLeaderElectionEnable = Get(LogConfig.UncleanLeaderElectionEnableConfig, config.UncleanLeaderElectionEnable),
            AutoLeaderRebalanceEnable = Get(AutoLeaderRebalanceEnableConfig, config.AutoLeaderRebalanceEnable),
            LeaderImbalanceCheckIntervalSeconds = Get(LeaderImbalanceCheckIntervalSecondsConfig, config.LeaderImbalanceCheckIntervalSeconds),
            LeaderImbalancePerBrokerPercentage = Get(LeaderImbalancePerBrokerPercentageConfig, config.LeaderImbalancePerBrokerPercentage),
            BrokerSessionTimeoutMs = Get(ServerConfigs.BrokerSessionTimeoutMs.Name, config.BrokerSessionTimeoutMs),
            BrokerHeartbeatIntervalMs = Get(ServerConfigs.BrokerHeartbeatIntervalMs.Name, config.BrokerHeartbeatIntervalMs),
            OffsetsTopicNumPartitions = Get(ServerConfigs.OffsetsTopicNumPartitions.Name, config.OffsetsTopicNumPartitions),
            OffsetsTopicReplicationFactor = Get(ServerConfigs.OffsetsTopicReplicationFactor.Name, config.OffsetsTopicReplicationFactor),
            MetadataMaxIdleIntervalMs = Get(MetadataMaxIdleIntervalMsConfig, config.MetadataMaxIdleIntervalMs),
        };
    }

    private static T Default<T>(ConfigKey key) => (T)Convert.ChangeType(key.DefaultValue, typeof(T), CultureInfo.InvariantCulture)!;
}
