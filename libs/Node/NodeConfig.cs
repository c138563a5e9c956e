using Aspire.Kafka.ServiceDefaults.Configuration;
using Range = Aspire.Kafka.ServiceDefaults.Configuration.Range;

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

    public static ConfigDef Create() => new ConfigDef()
        .Define(QuorumVoters, ConfigType.List, Importance.High, "The controller quorum's voters: id@host:port,… (required).")
        .Define(ControllerListenerNames, ConfigType.List, "CONTROLLER", Importance.Medium, "The controllers' listener name (informational for non-controllers).")
        .Define(AdvertisedListeners, ConfigType.List, "", Importance.High,
            "Listeners registered with the controller and handed to clients (NAME://host:port,…); empty = listeners, with 0.0.0.0 replaced by localhost.")
        .Define(InterBrokerListenerName, ConfigType.String, "", Importance.Medium, "The listener other nodes use to reach this one; empty = the first listener.")
        .Define(Rack, ConfigType.String, "", Importance.Medium, "The rack of this node (empty: none).")
        .Define(LogDirs, ConfigType.List, "/tmp/kafka-logs", Importance.High, "The data directories; the first holds meta.properties (cluster id).")
        .Define(HeartbeatIntervalMs, ConfigType.Long, 2000L, Range.AtLeast(1), Importance.Medium, "How often this node heartbeats to the active controller.")
        .Define(QuorumRequestTimeoutMs, ConfigType.Int, 2000, Range.AtLeast(1), Importance.Medium, "How long a request to a controller is waited for.")
        .Define(QuorumFetchTimeoutMs, ConfigType.Int, 2000, Range.AtLeast(1), Importance.Medium, "How long without a metadata fetch answer before this node asks the voters for the leader again.")
        .Define(QuorumRetryBackoffMs, ConfigType.Int, 20, Range.AtLeast(1), Importance.Low, "Backoff between retries of requests to the controllers.")
        .Define(AutoCreateTopicsEnable, ConfigType.Boolean, true, Importance.High, "Whether a Metadata request for an unknown topic creates it (num.partitions, default.replication.factor).")
        .Define(NumPartitions, ConfigType.Int, 1, Range.AtLeast(1), Importance.Medium, "Partitions of an auto-created topic.")
        .Define(DefaultReplicationFactor, ConfigType.Short, (short)1, Range.AtLeast(1), Importance.Medium, "Replication factor of an auto-created topic.")
        .Define(ControlledShutdownTimeoutMs, ConfigType.Long, 30000L, Range.AtLeast(0), Importance.Medium,
            "At SIGTERM, how long this node waits for the controller to move its leaderships away before it stops anyway.")
        .Define(MaxRecordBytesBetweenSnapshots, ConfigType.Long, 20L * 1024 * 1024, Range.AtLeast(1), Importance.High,
            "Bytes of applied metadata records after which this node snapshots its metadata image and drops the log entries below it (it keeps the log in memory).")
        .Define(MaxSnapshotIntervalMs, ConfigType.Long, 3_600_000L, Range.AtLeast(0), Importance.High,
            "Longest time between this node's metadata snapshots while new records were applied (0: only by bytes).");
}
