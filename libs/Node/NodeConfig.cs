using Aspire.Kafka.Config;
using Range = Aspire.Kafka.Config.Range;

namespace Aspire.Kafka.Node;

/// <summary>
/// The configuration keys every cluster node that is not a controller honors (brokers and
/// coordinators): how to reach the quorum, what to register, the metadata defaults used when a
/// node asks the controller to create a topic. A service merges its own keys into
/// <see cref="Create"/> (<c>NodeConfig.Create().Merge(myKeys)</c>).
/// </summary>
public static class NodeConfig
{
    public const string QuorumVoters = "controller.quorum.voters";
    public const string ControllerListenerNames = "controller.listener.names";
    public const string AdvertisedListeners = "advertised.listeners";
    public const string InterBrokerListenerName = "inter.broker.listener.name";
    public const string Rack = "broker.rack";
    public const string LogDirs = "log.dirs";
    public const string HeartbeatIntervalMs = "broker.heartbeat.interval.ms";
    public const string QuorumRequestTimeoutMs = "controller.quorum.request.timeout.ms";
    public const string QuorumFetchTimeoutMs = "controller.quorum.fetch.timeout.ms";
    public const string QuorumRetryBackoffMs = "controller.quorum.retry.backoff.ms";
    public const string AutoCreateTopicsEnable = "auto.create.topics.enable";
    public const string NumPartitions = "num.partitions";
    public const string DefaultReplicationFactor = "default.replication.factor";
    public const string ControlledShutdownTimeoutMs = "controlled.shutdown.timeout.ms";
    public const string MaxRecordBytesBetweenSnapshots = "metadata.log.max.record.bytes.between.snapshots";
    public const string MaxSnapshotIntervalMs = "metadata.log.max.snapshot.interval.ms";

    /// <summary>
    /// The node keys. Those a controller reads too (quorum, snapshots, log.dirs, topic defaults)
    /// are the shared declarations of <see cref="ServerConfigs"/>; Kafka's sample
    /// broker.properties keys for internal topics this cluster does not have are accepted without
    /// effect (each says why).
    /// </summary>
    public static ConfigDef Create() => new ConfigDef()
        .Define(ServerConfigs.QuorumVoters)
        .Define(ServerConfigs.ControllerListenerNames with { NoEffectReason = "a broker or coordinator reaches the controllers at the addresses in controller.quorum.voters" })
        .Define(ServerConfigs.AdvertisedListeners)
        .Define(InterBrokerListenerName, ConfigType.String, "", Importance.Medium, "The listener other nodes use to reach this one; empty = the first listener.")
        .Define(Rack, ConfigType.String, "", Importance.Medium, "The rack of this node (empty: none).")
        .Define(ServerConfigs.LogDirs)
        .Define(ServerConfigs.BrokerHeartbeatIntervalMs)
        .Define(ServerConfigs.QuorumRequestTimeoutMs)
        .Define(ServerConfigs.QuorumFetchTimeoutMs)
        .Define(ServerConfigs.QuorumRetryBackoffMs)
        .Define(ServerConfigs.AutoCreateTopicsEnable)
        .Define(ServerConfigs.NumPartitions)
        .Define(ServerConfigs.DefaultReplicationFactor)
        .Define(ControlledShutdownTimeoutMs, ConfigType.Long, 30000L, Range.AtLeast(0), Importance.Medium,
            "At SIGTERM, how long this node waits for the controller to move its leaderships away before it stops anyway.")
        .Define(ServerConfigs.MaxRecordBytesBetweenSnapshots)
        .Define(ServerConfigs.MaxSnapshotIntervalMs)
        .Merge(ServerConfigs.InternalTopicsWithoutEffect);
}
