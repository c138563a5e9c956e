using Aspire.Kafka.ServiceDefaults.Configuration;
using Range = Aspire.Kafka.ServiceDefaults.Configuration.Range;

namespace Aspire.Kafka.ControllerService;

/// <summary>The configuration keys the controller honors (Kafka's names and defaults). Anything else is refused at start.</summary>
public static class ControllerConfig
{
    public const string ProcessRoles = "process.roles";
    public const string QuorumVoters = "controller.quorum.voters";
    public const string ControllerListenerNames = "controller.listener.names";
    public const string LogDirs = "log.dirs";
    public const string MetadataLogDir = "metadata.log.dir";
    public const string ElectionTimeoutMs = "controller.quorum.election.timeout.ms";
    public const string FetchTimeoutMs = "controller.quorum.fetch.timeout.ms";
    public const string ElectionBackoffMaxMs = "controller.quorum.election.backoff.max.ms";
    public const string RequestTimeoutMs = "controller.quorum.request.timeout.ms";
    public const string RetryBackoffMs = "controller.quorum.retry.backoff.ms";
    public const string AppendLingerMs = "controller.quorum.append.linger.ms";
    public const string MaxRecordBytesBetweenSnapshots = "metadata.log.max.record.bytes.between.snapshots";
    public const string MaxSnapshotIntervalMs = "metadata.log.max.snapshot.interval.ms";
    public const string MetadataLogSegmentBytes = "metadata.log.segment.bytes";
    public const string MetadataLogSegmentMs = "metadata.log.segment.ms";

    public static ConfigDef Definition { get; } = new ConfigDef()
        .Define(ProcessRoles, ConfigType.List, "controller",
            Validator.From(value => value is string[] roles && roles.Length == 1 && roles[0] == "controller"
                ? null
                : "this service runs the controller role only (process.roles=controller); brokers are services/broker", "controller"),
            Importance.High, "The roles of this process: only 'controller' here.")
        .Define(QuorumVoters, ConfigType.List, Importance.High, "The voters of the metadata quorum: id@host:port,… (required).")
        .Define(ControllerListenerNames, ConfigType.List, "CONTROLLER", Importance.High, "The listener(s) the controller serves the quorum on; the first is used.")
        .Define(LogDirs, ConfigType.List, "/tmp/kraft-controller-logs", Importance.High, "The data directories; the first holds the metadata log unless metadata.log.dir is set.")
        .Define(MetadataLogDir, ConfigType.String, "", Importance.High, "The directory of the metadata log (__cluster_metadata-0); empty = the first of log.dirs.")
        .Define(ElectionTimeoutMs, ConfigType.Int, 1000, Range.AtLeast(1), Importance.High, "Longest time without a leader before a voter stands for election.")
        .Define(FetchTimeoutMs, ConfigType.Int, 2000, Range.AtLeast(1), Importance.High, "Longest time without a successful fetch from the leader before a voter stands.")
        .Define(ElectionBackoffMaxMs, ConfigType.Int, 1000, Range.AtLeast(1), Importance.High, "Longest backoff before a new election after a failed one.")
        .Define(RequestTimeoutMs, ConfigType.Int, 2000, Range.AtLeast(1), Importance.Medium, "How long an unanswered quorum request is waited for.")
        .Define(RetryBackoffMs, ConfigType.Int, 20, Range.AtLeast(1), Importance.Low, "Backoff between retries of quorum requests.")
        .Define(AppendLingerMs, ConfigType.Int, 25, Range.AtLeast(0), Importance.Medium,
            "How long the active controller gathers records before proposing them to Raft as one batch.")
        .Define(MaxRecordBytesBetweenSnapshots, ConfigType.Long, 20L * 1024 * 1024, Range.AtLeast(1), Importance.High,
            "Bytes of committed metadata records after which a controller writes a new snapshot and moves its log start there.")
        .Define(MaxSnapshotIntervalMs, ConfigType.Long, 3_600_000L, Range.AtLeast(0), Importance.High,
            "Longest time between snapshots while new records were committed (0: only by bytes).")
        .Define(MetadataLogSegmentBytes, ConfigType.Int, 1024 * 1024 * 1024, Range.AtLeast(14), Importance.High,
            "The size of a metadata log segment; segments wholly below the latest snapshot are deleted.")
        .Define(MetadataLogSegmentMs, ConfigType.Long, 7L * 24 * 60 * 60 * 1000, Range.AtLeast(1), Importance.Medium,
            "Longest time before a new metadata log segment is rolled.")
        // The QuorumController's keys (Kafka's defaults); passed to it as they are.
        .Define("num.partitions", ConfigType.Int, 1, Range.AtLeast(1), Importance.Medium, "Default number of partitions of a new topic.")
        .Define("default.replication.factor", ConfigType.Short, (short)1, Range.AtLeast(1), Importance.Medium, "Default replication factor of a new topic.")
        .Define("delete.topic.enable", ConfigType.Boolean, true, Importance.High, "Whether DeleteTopics is allowed.")
        .Define("unclean.leader.election.enable", ConfigType.Boolean, false, Importance.High, "Whether a replica outside the ISR may become leader as a last resort.")
        .Define("auto.leader.rebalance.enable", ConfigType.Boolean, true, Importance.High, "Whether leadership moves back to preferred replicas periodically.")
        .Define("leader.imbalance.check.interval.seconds", ConfigType.Long, 300L, Range.AtLeast(1), Importance.Medium, "How often leader imbalance is checked.")
        .Define("leader.imbalance.per.broker.percentage", ConfigType.Int, 10, Range.AtLeast(0), Importance.Medium, "Tolerated share of non-preferred leaders per broker, in percent.")
        .Define("broker.session.timeout.ms", ConfigType.Long, 9000L, Range.AtLeast(1), Importance.Medium, "A node without a heartbeat for this long is fenced.")
        .Define("broker.heartbeat.interval.ms", ConfigType.Long, 2000L, Range.AtLeast(1), Importance.Medium, "The heartbeat interval brokers are expected to keep.")
        .Define("offsets.topic.num.partitions", ConfigType.Int, 50, Range.AtLeast(1), Importance.High, "Partitions of __consumer_offsets.")
        .Define("offsets.topic.replication.factor", ConfigType.Short, (short)3, Range.AtLeast(1), Importance.High, "Replication factor of __consumer_offsets.")
        .Define("metadata.max.idle.interval.ms", ConfigType.Int, 500, Range.AtLeast(0), Importance.Low, "The active controller writes a NoOp record after this long without writes (0: never).");

    /// <summary>The keys handed to the QuorumController (QuorumControllerConfig.FromProperties).</summary>
    public static IReadOnlyList<string> QuorumControllerKeys { get; } =
    [
        "num.partitions", "default.replication.factor", "delete.topic.enable", "unclean.leader.election.enable",
        "auto.leader.rebalance.enable", "leader.imbalance.check.interval.seconds", "leader.imbalance.per.broker.percentage",
        "broker.session.timeout.ms", "broker.heartbeat.interval.ms", "offsets.topic.num.partitions",
        "offsets.topic.replication.factor", "metadata.max.idle.interval.ms",
    ];
}
