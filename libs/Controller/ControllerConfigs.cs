using Aspire.Kafka.Config;
using Aspire.Kafka.Storage;

namespace Aspire.Kafka.Controller;

/// <summary>Where a config value comes from (DescribeConfigsResponse ConfigSource).</summary>
public enum ConfigSource : sbyte
{
    Unknown = 0,
    DynamicTopicConfig = 1,
    DynamicBrokerConfig = 2,
    DynamicDefaultBrokerConfig = 3,
    StaticBrokerConfig = 4,
    DefaultConfig = 5,
    DynamicBrokerLoggerConfig = 6,
}

/// <summary>The topic-level configs the controller accepts and reports: storage's <see cref="LogConfig.TopicConfigDef"/>.</summary>
public static class TopicConfigs
{
    public const string CleanupPolicy = LogConfig.CleanupPolicyConfig;
    public const string UncleanLeaderElectionEnable = LogConfig.UncleanLeaderElectionEnableConfig;

    public static IReadOnlyDictionary<string, ConfigKey> All { get; } = LogConfig.TopicConfigDef.Keys.ToDictionary(k => k.Name, StringComparer.Ordinal);

    /// <summary>Null when the topic config is known and valid, else the INVALID_CONFIG message.</summary>
    public static string? Validate(string name, string? value)
    {
        if (!All.TryGetValue(name, out ConfigKey? key))
        {
            return $"Unknown topic config name: {name}";
        }

        return value is null ? $"Null value not supported for topic configs: {name}" : key.Validate(value);
    }
}

/// <summary>
/// The broker configs the controller reports (DescribeConfigs on a broker resource) and, for
/// those marked dynamically updatable, changes (IncrementalAlterConfigs). A selection of names;
/// each key is the one declaration of storage, the controller or <see cref="ServerConfigs"/>.
/// </summary>
public static class BrokerConfigs
{
    private static readonly string[] Described =
    [
        "num.partitions", "default.replication.factor", "min.insync.replicas", "auto.create.topics.enable", "delete.topic.enable",
        "log.segment.bytes", "log.roll.ms", "log.roll.hours", "log.retention.ms", "log.retention.minutes", "log.retention.hours",
        "log.retention.bytes", "log.cleanup.policy", "log.cleaner.delete.retention.ms", "message.max.bytes", "replica.fetch.max.bytes",
        "fetch.max.bytes", "replica.lag.time.max.ms", "compression.type", "unclean.leader.election.enable", "auto.leader.rebalance.enable",
        "leader.imbalance.check.interval.seconds", "leader.imbalance.per.broker.percentage", "offsets.topic.num.partitions",
        "offsets.topic.replication.factor", "broker.session.timeout.ms", "broker.heartbeat.interval.ms",
    ];

    public static IReadOnlyDictionary<string, ConfigKey> All { get; } = LogConfig.ServerConfigDef
        .Merge(QuorumControllerConfig.ConfigDef)
        .Merge(new ConfigDef()
            .Define(ServerConfigs.AutoCreateTopicsEnable)
            .Define(ServerConfigs.ReplicaFetchMaxBytes)
            .Define(ServerConfigs.FetchMaxBytes)
            .Define(ServerConfigs.ReplicaLagTimeMaxMs))
        .Select(Described)
        .Keys.ToDictionary(k => k.Name, StringComparer.Ordinal);

    /// <summary>Null when valid; else the message (unknown keys are not checked here).</summary>
    public static string? Validate(string name, string value) =>
        All.TryGetValue(name, out ConfigKey? key) ? key.Validate(value) : null;
}
