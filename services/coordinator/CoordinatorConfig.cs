using Aspire.Kafka.Node;
using Aspire.Kafka.Config;
using Aspire.Kafka.ServiceDefaults.Configuration;
using Aspire.Kafka.ServiceDefaults.Kafka;
using Range = Aspire.Kafka.Config.Range;

namespace Aspire.Kafka.Coordinator;

/// <summary>The coordinator's configuration keys (Kafka's names) on top of <see cref="NodeConfig"/>.</summary>
public static class CoordinatorConfig
{
    public const string MinSessionTimeoutMs = "group.min.session.timeout.ms";
    public const string MaxSessionTimeoutMs = "group.max.session.timeout.ms";
    public const string InitialRebalanceDelayMs = "group.initial.rebalance.delay.ms";
    public const string MaxSize = "group.max.size";
    public const string OffsetsRetentionMinutes = "offsets.retention.minutes";
    public const string OffsetsRetentionCheckIntervalMs = "offsets.retention.check.interval.ms";
    public const string OffsetMetadataMaxBytes = "offset.metadata.max.bytes";
    public const string OffsetsTopicNumPartitions = "offsets.topic.num.partitions";
    public const string OffsetsTopicReplicationFactor = "offsets.topic.replication.factor";
    public const string OffsetsCommitTimeoutMs = "offsets.commit.timeout.ms";

    private static ConfigDef GroupKeys => new ConfigDef()
        .Define(MinSessionTimeoutMs, ConfigType.Int, 6000, Range.AtLeast(0), Importance.Medium, "The smallest session timeout a member may ask for.")
        .Define(MaxSessionTimeoutMs, ConfigType.Int, 1800000, Range.AtLeast(0), Importance.Medium, "The largest session timeout a member may ask for.")
        .Define(InitialRebalanceDelayMs, ConfigType.Int, 3000, Range.AtLeast(0), Importance.Medium, "How long the first rebalance of an empty group waits for more members to join.")
        .Define(MaxSize, ConfigType.Int, int.MaxValue, Range.AtLeast(1), Importance.Medium, "The largest number of members a group may have.")
        .Define(OffsetsRetentionMinutes, ConfigType.Int, 10080, Range.AtLeast(1), Importance.High, "How long committed offsets of an empty group (or a standalone commit) are kept.")
        .Define(OffsetsRetentionCheckIntervalMs, ConfigType.Long, 600000L, Range.AtLeast(1), Importance.High, "How often expired offsets are looked for.")
        .Define(OffsetMetadataMaxBytes, ConfigType.Int, 4096, Range.AtLeast(0), Importance.High, "The largest metadata string an offset commit may carry.")
        .Define(ServerConfigs.OffsetsTopicNumPartitions)
        .Define(ServerConfigs.OffsetsTopicReplicationFactor with { NoEffectReason = ServerConfigs.ControllersCreateOffsetsTopic })
        .Define(OffsetsCommitTimeoutMs, ConfigType.Int, 5000, Range.AtLeast(1), Importance.High, "How long a write to __consumer_offsets (acks=all) may take before the request fails.");

    /// <summary>Node keys plus the group keys.</summary>
    public static ConfigDef Definition { get; } = NodeConfig.Create().Merge(GroupKeys);

    public static GroupConfig ToGroupConfig(KafkaConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        int min = config.GetInt(MinSessionTimeoutMs);
        int max = config.GetInt(MaxSessionTimeoutMs);
        if (min > max)
        {
            throw new InvalidOperationException($"{MinSessionTimeoutMs} ({min}) is larger than {MaxSessionTimeoutMs} ({max}).");
        }

        return new GroupConfig
        {
            MinSessionTimeoutMs = min,
            MaxSessionTimeoutMs = max,
            InitialRebalanceDelayMs = config.GetInt(InitialRebalanceDelayMs),
            MaxSize = config.GetInt(MaxSize),
            OffsetsRetentionMs = config.GetInt(OffsetsRetentionMinutes) * 60_000L,
            OffsetsRetentionCheckIntervalMs = config.GetLong(OffsetsRetentionCheckIntervalMs),
            OffsetMetadataMaxBytes = config.GetInt(OffsetMetadataMaxBytes),
            OffsetsTopicPartitions = config.GetInt(OffsetsTopicNumPartitions),
            CommitTimeoutMs = config.GetInt(OffsetsCommitTimeoutMs),
        };
    }
}

/// <summary>The typed group settings the state machine uses (Kafka's GroupConfig + OffsetConfig).</summary>
public sealed record GroupConfig
{
    public int MinSessionTimeoutMs { get; init; } = 6000;

    public int MaxSessionTimeoutMs { get; init; } = 1800000;

    public int InitialRebalanceDelayMs { get; init; } = 3000;

    public int MaxSize { get; init; } = int.MaxValue;

    public long OffsetsRetentionMs { get; init; } = 7L * 24 * 3600 * 1000;

    public long OffsetsRetentionCheckIntervalMs { get; init; } = 600000;

    public int OffsetMetadataMaxBytes { get; init; } = 4096;

    public int OffsetsTopicPartitions { get; init; } = 50;

    public int CommitTimeoutMs { get; init; } = 5000;

    /// <summary>Kafka's GroupCoordinator.NewMemberJoinTimeoutMs: how long a new member may wait in a join before it is dropped.</summary>
    public int NewMemberJoinTimeoutMs { get; init; } = 300000;
}
