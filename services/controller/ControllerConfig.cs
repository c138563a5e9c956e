using Aspire.Kafka.Config;
using Aspire.Kafka.Controller;
using Aspire.Kafka.Storage;
using Range = Aspire.Kafka.Config.Range;

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

    /// <summary>Why the brokers' storage keys of Kafka's sample controller.properties have no effect on a controller.</summary>
    public const string StorageJobsAreTheBrokers =
        "the controller keeps only the metadata log, whose segments and snapshots follow the metadata.log.* keys; log loading and the background jobs are the brokers'";

    public static ConfigDef Definition { get; } = new ConfigDef()
        .Define(ServerConfigs.ProcessRoles("controller"))
        .Define(ServerConfigs.QuorumVoters)
        .Define(ServerConfigs.ControllerListenerNames)
        .Define(ServerConfigs.AdvertisedListeners with
        {
            NoEffectReason = "voters reach each other, and brokers reach the voters, at the addresses in controller.quorum.voters",
        })
        .Define(ServerConfigs.LogDirs)
        .Define(MetadataLogDir, ConfigType.String, "", Importance.High, "The directory of the metadata log (__cluster_metadata-0); empty = the first of log.dirs.")
        .Define(ElectionTimeoutMs, ConfigType.Int, 1000, Range.AtLeast(1), Importance.High, "Longest time without a leader before a voter stands for election.")
        .Define(ServerConfigs.QuorumFetchTimeoutMs)
        .Define(ElectionBackoffMaxMs, ConfigType.Int, 1000, Range.AtLeast(1), Importance.High, "Longest backoff before a new election after a failed one.")
        .Define(ServerConfigs.QuorumRequestTimeoutMs)
        .Define(ServerConfigs.QuorumRetryBackoffMs)
        .Define(AppendLingerMs, ConfigType.Int, 25, Range.AtLeast(0), Importance.Medium,
            "How long the active controller gathers records before proposing them to Raft as one batch.")
        .Define(ServerConfigs.MaxRecordBytesBetweenSnapshots)
        .Define(ServerConfigs.MaxSnapshotIntervalMs)
        .Define(MetadataLogSegmentBytes, ConfigType.Int, 1024 * 1024 * 1024, Range.AtLeast(14), Importance.High,
            "The size of a metadata log segment; segments wholly below the latest snapshot are deleted.")
        .Define(MetadataLogSegmentMs, ConfigType.Long, 7L * 24 * 60 * 60 * 1000, Range.AtLeast(1), Importance.Medium,
            "Longest time before a new metadata log segment is rolled.")
        .Merge(QuorumControllerConfig.ConfigDef)
        // The brokers' log.* defaults: DescribeConfigs answers from the controller, so what is set
        // here is what it reports as the static broker default (STATIC_BROKER_CONFIG).
        .Merge(LogConfig.ServerConfigDef)
        .Merge(LogManagerConfig.ConfigDef.AllWithoutEffect(StorageJobsAreTheBrokers))
        .Merge(ServerConfigs.InternalTopicsWithoutEffect)
        .WithDefault(LogDirs, "/tmp/kraft-controller-logs");
}
