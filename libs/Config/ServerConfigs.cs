namespace Aspire.Kafka.Config;

/// <summary>
/// Server keys that more than one service reads and that belong to no single library (Kafka
/// keeps them in its server modules: ServerConfigs, ReplicationConfigs, KRaftConfigs, the
/// coordinators' configs). Storage keys are declared by <c>LogConfig</c>/<c>LogManagerConfig</c>,
/// the controller's own by <c>QuorumControllerConfig</c>, the socket server's by ServiceDefaults.
/// </summary>
public static class ServerConfigs
{
    /// <summary>
    /// The topic config (project-specific, not Kafka's) that marks a mirror topic: the alias of the
    /// source cluster it copies. Declared with the topic configs in libs/Storage's LogConfig; the
    /// mirror service sets and removes it.
    /// </summary>
    public const string MirrorSourceTopicConfig = "aspire.mirror.source";

    public const string ProcessRolesConfig = "process.roles";

    public static ConfigKey QuorumVoters { get; } = ConfigDef.Key("controller.quorum.voters", ConfigType.List, ConfigDef.NoDefault, null, Importance.High,
        "The voters of the metadata quorum: id@host:port,… (required).");

    public static ConfigKey ControllerListenerNames { get; } = ConfigDef.Key("controller.listener.names", ConfigType.List, "CONTROLLER", null, Importance.High,
        "The listener(s) the controllers serve the quorum on; a controller uses the first.");

    public static ConfigKey QuorumRequestTimeoutMs { get; } = ConfigDef.Key("controller.quorum.request.timeout.ms", ConfigType.Int, 2000, Range.AtLeast(1), Importance.Medium,
        "How long an unanswered request to a controller is waited for.");

    public static ConfigKey QuorumFetchTimeoutMs { get; } = ConfigDef.Key("controller.quorum.fetch.timeout.ms", ConfigType.Int, 2000, Range.AtLeast(1), Importance.High,
        "Longest time without a successful fetch from the quorum leader before a voter stands for election (an observer asks the voters for the leader again).");

    public static ConfigKey QuorumRetryBackoffMs { get; } = ConfigDef.Key("controller.quorum.retry.backoff.ms", ConfigType.Int, 20, Range.AtLeast(1), Importance.Low,
        "Backoff between retries of requests to the controllers.");

    public static ConfigKey MaxRecordBytesBetweenSnapshots { get; } = ConfigDef.Key("metadata.log.max.record.bytes.between.snapshots", ConfigType.Long, 20L * 1024 * 1024, Range.AtLeast(1), Importance.High,
        "Bytes of metadata records after which this node writes a new snapshot and drops the log entries below it.");

    public static ConfigKey MaxSnapshotIntervalMs { get; } = ConfigDef.Key("metadata.log.max.snapshot.interval.ms", ConfigType.Long, 3_600_000L, Range.AtLeast(0), Importance.High,
        "Longest time between snapshots while new metadata records arrived (0: only by bytes).");

    public static ConfigKey LogDirs { get; } = ConfigDef.Key("log.dirs", ConfigType.List, "/tmp/kafka-logs", null, Importance.High,
        "The data directories; the first holds meta.properties (cluster id).");

    public static ConfigKey AdvertisedListeners { get; } = ConfigDef.Key("advertised.listeners", ConfigType.List, "", null, Importance.High,
        "Listeners registered with the controller and handed to clients (NAME://host:port,…); empty = listeners, with 0.0.0.0 replaced by localhost.");

    public static ConfigKey NumPartitions { get; } = ConfigDef.Key("num.partitions", ConfigType.Int, 1, Range.AtLeast(1), Importance.Medium,
        "The default number of partitions per topic.");

    public static ConfigKey DefaultReplicationFactor { get; } = ConfigDef.Key("default.replication.factor", ConfigType.Int, 1, Range.Between(1, short.MaxValue), Importance.Medium,
        "The default replication factor of automatically created topics.");

    public static ConfigKey AutoCreateTopicsEnable { get; } = ConfigDef.Key("auto.create.topics.enable", ConfigType.Boolean, true, null, Importance.High,
        "Enable auto creation of topics on the broker.");

    public static ConfigKey DeleteTopicEnable { get; } = ConfigDef.Key("delete.topic.enable", ConfigType.Boolean, true, null, Importance.High,
        "Enables topic deletion.");

    public static ConfigKey ReplicaLagTimeMaxMs { get; } = ConfigDef.Key("replica.lag.time.max.ms", ConfigType.Long, 30000L, Range.AtLeast(1), Importance.High,
        "A follower that has not caught up for this long is removed from the ISR.");

    public static ConfigKey ReplicaFetchMaxBytes { get; } = ConfigDef.Key("replica.fetch.max.bytes", ConfigType.Int, 1048576, Range.AtLeast(0), Importance.Medium,
        "The number of bytes of messages to attempt to fetch for each partition.");

    public static ConfigKey FetchMaxBytes { get; } = ConfigDef.Key("fetch.max.bytes", ConfigType.Int, 57671680, Range.AtLeast(1024), Importance.Medium,
        "The maximum number of bytes returned for a fetch request.");

    public static ConfigKey BrokerSessionTimeoutMs { get; } = ConfigDef.Key("broker.session.timeout.ms", ConfigType.Int, 9000, Range.AtLeast(1), Importance.Medium,
        "The length of time a broker lease lasts if no heartbeats are made.");

    public static ConfigKey BrokerHeartbeatIntervalMs { get; } = ConfigDef.Key("broker.heartbeat.interval.ms", ConfigType.Int, 2000, Range.AtLeast(1), Importance.Medium,
        "The length of time between broker heartbeats.");

    public static ConfigKey OffsetsTopicNumPartitions { get; } = ConfigDef.Key("offsets.topic.num.partitions", ConfigType.Int, 50, Range.AtLeast(1), Importance.High,
        "The number of partitions of the offset commit topic.");

    public static ConfigKey OffsetsTopicReplicationFactor { get; } = ConfigDef.Key("offsets.topic.replication.factor", ConfigType.Short, (short)3, Range.AtLeast(1), Importance.High,
        "The replication factor of the offsets topic.");

    /// <summary>Why offsets.topic.replication.factor has no effect on a node that is not a controller.</summary>
    public const string ControllersCreateOffsetsTopic = "the controllers create __consumer_offsets with their own offsets.topic.replication.factor";

    /// <summary>Why the transaction and share-group state keys have no effect (no such coordinator, so no such topic, here).</summary>
    public const string NoTransactionCoordinator =
        "this cluster has no transaction coordinator yet, so no __transaction_state topic is created";

    public const string NoShareCoordinator =
        "this cluster has no share groups (KIP-932), so no __share_group_state topic is created";

    public static ConfigKey TransactionStateLogReplicationFactor { get; } = ConfigDef.Key("transaction.state.log.replication.factor", ConfigType.Short, (short)3, Range.AtLeast(1), Importance.High,
        "The replication factor of the transaction topic.") with { NoEffectReason = NoTransactionCoordinator };

    public static ConfigKey TransactionStateLogMinIsr { get; } = ConfigDef.Key("transaction.state.log.min.isr", ConfigType.Int, 2, Range.AtLeast(1), Importance.High,
        "min.insync.replicas of the transaction topic.") with { NoEffectReason = NoTransactionCoordinator };

    public static ConfigKey TransactionStateLogNumPartitions { get; } = ConfigDef.Key("transaction.state.log.num.partitions", ConfigType.Int, 50, Range.AtLeast(1), Importance.High,
        "The number of partitions of the transaction topic.") with { NoEffectReason = NoTransactionCoordinator };

    public static ConfigKey ShareCoordinatorStateTopicReplicationFactor { get; } = ConfigDef.Key("share.coordinator.state.topic.replication.factor", ConfigType.Short, (short)3, Range.AtLeast(1), Importance.High,
        "The replication factor of the share-group state topic.") with { NoEffectReason = NoShareCoordinator };

    public static ConfigKey ShareCoordinatorStateTopicMinIsr { get; } = ConfigDef.Key("share.coordinator.state.topic.min.isr", ConfigType.Short, (short)2, Range.AtLeast(1), Importance.High,
        "min.insync.replicas of the share-group state topic.") with { NoEffectReason = NoShareCoordinator };

    /// <summary>The internal-topic keys of Kafka's sample server.properties that no service here honors (each says why).</summary>
    public static ConfigDef InternalTopicsWithoutEffect { get; } = new ConfigDef()
        .Define(TransactionStateLogReplicationFactor)
        .Define(TransactionStateLogMinIsr)
        .Define(TransactionStateLogNumPartitions)
        .Define(ShareCoordinatorStateTopicReplicationFactor)
        .Define(ShareCoordinatorStateTopicMinIsr);

    /// <summary>
    /// <c>process.roles</c> for a service that runs exactly <paramref name="role"/> (broker or
    /// controller): the other role, or both (KRaft's combined mode), is refused with one sentence.
    /// </summary>
    public static ConfigKey ProcessRoles(string role) => ConfigDef.Key(ProcessRolesConfig, ConfigType.List, role,
        Validator.From(value => CheckRoles(value as IReadOnlyList<string> ?? [], role), $"[{role}]"),
        Importance.High,
        $"The roles of this process. This service runs the {role} role only; the broker and the controller are separate services.");

    private static string? CheckRoles(IReadOnlyList<string> roles, string role)
    {
        if (roles.Contains("broker", StringComparer.Ordinal) && roles.Contains("controller", StringComparer.Ordinal))
        {
            return "combined mode (process.roles=broker,controller) is not supported; run services/broker and services/controller as separate processes";
        }

        return roles.Count == 1 && roles[0] == role
            ? null
            : $"this service runs the {role} role only (process.roles={role}); the {(role == "broker" ? "controller is services/controller" : "broker is services/broker")}";
    }
}
