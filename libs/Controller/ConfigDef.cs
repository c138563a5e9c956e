using System.Globalization;

namespace Aspire.Kafka.Controller;

/// <summary>Kafka's config types as DescribeConfigs reports them.</summary>
public enum ConfigType : sbyte
{
    Unknown = 0,
    Boolean = 1,
    String = 2,
    Int = 3,
    Short = 4,
    Long = 5,
    Double = 6,
    List = 7,
    Class = 8,
    Password = 9,
}

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

/// <summary>A broker setting a topic config falls back to, with the factor that converts its unit (hours → ms).</summary>
public sealed record ConfigSynonym(string Name, long Multiplier = 1);

/// <summary>One config a resource accepts: its type, default, validation and (for topic configs) broker synonyms.</summary>
public sealed record ConfigKey(
    string Name,
    ConfigType Type,
    string? DefaultValue,
    string Documentation,
    long? Min = null,
    IReadOnlyList<string>? ValidValues = null,
    IReadOnlyList<ConfigSynonym>? Synonyms = null,
    bool DynamicallyUpdatable = false,
    double? MaxDouble = null)
{
    /// <summary>Null when <paramref name="value"/> is valid, else Kafka's ConfigException message.</summary>
    public string? Validate(string value)
    {
        string Invalid(string why) => $"Invalid value {value} for configuration {Name}: {why}";
        string trimmed = value.Trim();
        switch (Type)
        {
            case ConfigType.Boolean:
                return bool.TryParse(trimmed, out _) ? null : Invalid("Expected value to be either true or false");
            case ConfigType.Int or ConfigType.Short or ConfigType.Long:
            {
                bool ok = Type switch
                {
                    ConfigType.Int => int.TryParse(trimmed, NumberStyles.Integer, CultureInfo.InvariantCulture, out int i) && (long)i is var l1 && Check(l1),
                    ConfigType.Short => short.TryParse(trimmed, NumberStyles.Integer, CultureInfo.InvariantCulture, out short s) && (long)s is var l2 && Check(l2),
                    _ => long.TryParse(trimmed, NumberStyles.Integer, CultureInfo.InvariantCulture, out long l3) && Check(l3),
                };
                if (ok)
                {
                    return null;
                }

                bool parses = long.TryParse(trimmed, NumberStyles.Integer, CultureInfo.InvariantCulture, out long parsed)
                    && (Type != ConfigType.Int || parsed is >= int.MinValue and <= int.MaxValue)
                    && (Type != ConfigType.Short || parsed is >= short.MinValue and <= short.MaxValue);
                return parses ? Invalid($"Value must be at least {Min}") : Invalid($"Not a number of type {Type.ToString().ToUpperInvariant()}");
            }

            case ConfigType.List:
            {
                string[] items = trimmed.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                if (ValidValues is not null && items.Any(i => !ValidValues.Contains(i, StringComparer.Ordinal)))
                {
                    return Invalid($"String must be one of: {string.Join(", ", ValidValues)}");
                }

                return null;
            }

            case ConfigType.Double:
            {
                if (!double.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) || !double.IsFinite(d))
                {
                    return Invalid("Not a number of type DOUBLE");
                }

                if (Min is { } atLeast && d < atLeast)
                {
                    return Invalid($"Value must be at least {atLeast}");
                }

                return MaxDouble is { } atMost && d > atMost ? Invalid($"Value must be no more than {atMost.ToString(CultureInfo.InvariantCulture)}") : null;
            }

            case ConfigType.String:
                return ValidValues is not null && !ValidValues.Contains(trimmed, StringComparer.Ordinal)
                    ? Invalid($"String must be one of: {string.Join(", ", ValidValues)}")
                    : null;
            default:
                return null;
        }

        bool Check(long v) => Min is not { } min || v >= min;
    }
}

/// <summary>The topic-level configs this project honors (design.md §4), with Kafka's types, defaults and validators.</summary>
public static class TopicConfigs
{
    public const string CleanupPolicy = "cleanup.policy";
    public const string RetentionMs = "retention.ms";
    public const string RetentionBytes = "retention.bytes";
    public const string SegmentBytes = "segment.bytes";
    public const string SegmentMs = "segment.ms";
    public const string MaxMessageBytes = "max.message.bytes";
    public const string MinInSyncReplicas = "min.insync.replicas";
    public const string CompressionType = "compression.type";
    public const string DeleteRetentionMs = "delete.retention.ms";
    public const string UncleanLeaderElectionEnable = "unclean.leader.election.enable";
    public const string MessageTimestampType = "message.timestamp.type";
    public const string SegmentJitterMs = "segment.jitter.ms";
    public const string SegmentIndexBytes = "segment.index.bytes";
    public const string IndexIntervalBytes = "index.interval.bytes";
    public const string FlushMessages = "flush.messages";
    public const string FlushMs = "flush.ms";
    public const string MinCleanableDirtyRatio = "min.cleanable.dirty.ratio";
    public const string MinCompactionLagMs = "min.compaction.lag.ms";
    public const string MaxCompactionLagMs = "max.compaction.lag.ms";
    public const string FileDeleteDelayMs = "file.delete.delay.ms";
    public const string Preallocate = "preallocate";

    public static IReadOnlyDictionary<string, ConfigKey> All { get; } = new ConfigKey[]
    {
        new(CleanupPolicy, ConfigType.List, "delete", "The retention policy of log segments: delete, compact, or both.", ValidValues: ["compact", "delete"], Synonyms: [new("log.cleanup.policy")]),
        new(RetentionMs, ConfigType.Long, "604800000", "How long a log segment is kept before it is deleted (-1: no limit).", Min: -1, Synonyms: [new("log.retention.ms"), new("log.retention.minutes", 60_000), new("log.retention.hours", 3_600_000)]),
        new(RetentionBytes, ConfigType.Long, "-1", "The size a partition can grow to before old segments are deleted (-1: no limit).", Synonyms: [new("log.retention.bytes")]),
        new(SegmentBytes, ConfigType.Int, "1073741824", "The segment file size of the log.", Min: 14, Synonyms: [new("log.segment.bytes")]),
        new(SegmentMs, ConfigType.Long, "604800000", "The time after which a segment is rolled even if not full.", Min: 1, Synonyms: [new("log.roll.ms"), new("log.roll.hours", 3_600_000)]),
        new(MaxMessageBytes, ConfigType.Int, "1048588", "The largest record batch size allowed.", Min: 0, Synonyms: [new("message.max.bytes")]),
        new(MinInSyncReplicas, ConfigType.Int, "1", "The minimum number of in-sync replicas for acks=all produce.", Min: 1, Synonyms: [new("min.insync.replicas")]),
        new(CompressionType, ConfigType.String, "producer", "The final compression type of the topic.", ValidValues: ["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"], Synonyms: [new("compression.type")]),
        new(DeleteRetentionMs, ConfigType.Long, "86400000", "How long delete tombstones are kept for compacted topics.", Min: 0, Synonyms: [new("log.cleaner.delete.retention.ms")]),
        new(UncleanLeaderElectionEnable, ConfigType.Boolean, "false", "Whether replicas not in the ISR may be elected leader as a last resort (data may be lost).", Synonyms: [new("unclean.leader.election.enable")]),

        // Honored by the brokers' storage (libs/Storage LogConfig reads the same names and ranges).
        new(MessageTimestampType, ConfigType.String, "CreateTime", "Whether a record's timestamp is the producer's (CreateTime) or the broker's append time (LogAppendTime).", ValidValues: ["CreateTime", "LogAppendTime"], Synonyms: [new("log.message.timestamp.type")]),
        new(SegmentJitterMs, ConfigType.Long, "0", "The maximum random jitter subtracted from segment.ms to avoid rolling every segment at once.", Min: 0, Synonyms: [new("log.roll.jitter.ms"), new("log.roll.jitter.hours", 3_600_000)]),
        new(SegmentIndexBytes, ConfigType.Int, "10485760", "The size of the index that maps offsets to file positions.", Min: 4, Synonyms: [new("log.index.size.max.bytes")]),
        new(IndexIntervalBytes, ConfigType.Int, "4096", "How often an entry is added to the offset index, in bytes.", Min: 0, Synonyms: [new("log.index.interval.bytes")]),
        new(FlushMessages, ConfigType.Long, "9223372036854775807", "Records written before the log is fsynced.", Min: 1, Synonyms: [new("log.flush.interval.messages")]),
        new(FlushMs, ConfigType.Long, "9223372036854775807", "Milliseconds between fsyncs of the log.", Min: 0, Synonyms: [new("log.flush.interval.ms")]),
        new(MinCleanableDirtyRatio, ConfigType.Double, "0.5", "The least share of a compacted log that must be uncleaned before the cleaner rewrites it.", Min: 0, Synonyms: [new("log.cleaner.min.cleanable.ratio")], MaxDouble: 1),
        new(MinCompactionLagMs, ConfigType.Long, "0", "The minimum time a record stays uncompacted.", Min: 0, Synonyms: [new("log.cleaner.min.compaction.lag.ms")]),
        new(MaxCompactionLagMs, ConfigType.Long, "9223372036854775807", "The maximum time a record may stay uncompacted.", Min: 1, Synonyms: [new("log.cleaner.max.compaction.lag.ms")]),
        new(FileDeleteDelayMs, ConfigType.Long, "60000", "How long a deleted segment's files are kept before they are removed.", Min: 0, Synonyms: [new("log.segment.delete.delay.ms")]),
        new(Preallocate, ConfigType.Boolean, "true", "Grow the active segment ahead of its data (zeros to a 64 KiB boundary, reserved blocks from 1 MiB); Kafka's default is false.", Synonyms: [new("log.preallocate")]),
    }.ToDictionary(k => k.Name, StringComparer.Ordinal);

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

/// <summary>The broker configs the controller reports and which of them can be changed dynamically.</summary>
public static class BrokerConfigs
{
    public static IReadOnlyDictionary<string, ConfigKey> All { get; } = new ConfigKey[]
    {
        new("num.partitions", ConfigType.Int, "1", "The default number of partitions per topic.", Min: 1),
        new("default.replication.factor", ConfigType.Int, "1", "The default replication factor of automatically created topics.", Min: 1),
        new("min.insync.replicas", ConfigType.Int, "1", "The default minimum in-sync replicas.", Min: 1, DynamicallyUpdatable: true),
        new("auto.create.topics.enable", ConfigType.Boolean, "true", "Enable auto creation of topics on the broker."),
        new("delete.topic.enable", ConfigType.Boolean, "true", "Enables topic deletion."),
        new("log.segment.bytes", ConfigType.Int, "1073741824", "The maximum size of a single log file.", Min: 14, DynamicallyUpdatable: true),
        new("log.roll.ms", ConfigType.Long, null, "The maximum time before a new log segment is rolled out (ms).", Min: 1, DynamicallyUpdatable: true),
        new("log.roll.hours", ConfigType.Int, "168", "The maximum time before a new log segment is rolled out (hours).", Min: 1),
        new("log.retention.ms", ConfigType.Long, null, "The number of milliseconds to keep a log file before deleting it.", Min: -1, DynamicallyUpdatable: true),
        new("log.retention.minutes", ConfigType.Int, null, "The number of minutes to keep a log file before deleting it."),
        new("log.retention.hours", ConfigType.Int, "168", "The number of hours to keep a log file before deleting it."),
        new("log.retention.bytes", ConfigType.Long, "-1", "The maximum size of the log before deleting it.", DynamicallyUpdatable: true),
        new("log.cleanup.policy", ConfigType.List, "delete", "The default cleanup policy for segments beyond the retention window.", ValidValues: ["compact", "delete"], DynamicallyUpdatable: true),
        new("log.cleaner.delete.retention.ms", ConfigType.Long, "86400000", "How long delete tombstones are retained.", Min: 0, DynamicallyUpdatable: true),
        new("message.max.bytes", ConfigType.Int, "1048588", "The largest record batch size allowed.", Min: 0, DynamicallyUpdatable: true),
        new("replica.fetch.max.bytes", ConfigType.Int, "1048576", "The number of bytes of messages to attempt to fetch for each partition.", Min: 0),
        new("fetch.max.bytes", ConfigType.Int, "57671680", "The maximum number of bytes returned for a fetch request.", Min: 1024),
        new("replica.lag.time.max.ms", ConfigType.Long, "30000", "A follower that has not caught up for this long is removed from the ISR."),
        new("compression.type", ConfigType.String, "producer", "The final compression type for a given topic.", ValidValues: ["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"], DynamicallyUpdatable: true),
        new("unclean.leader.election.enable", ConfigType.Boolean, "false", "Whether replicas not in the ISR may be elected leader as a last resort.", DynamicallyUpdatable: true),
        new("auto.leader.rebalance.enable", ConfigType.Boolean, "true", "Enables auto leader balancing."),
        new("leader.imbalance.check.interval.seconds", ConfigType.Long, "300", "How often the controller checks leader imbalance.", Min: 1),
        new("leader.imbalance.per.broker.percentage", ConfigType.Int, "10", "The ratio of leader imbalance allowed per broker, in percent.", Min: 0),
        new("offsets.topic.num.partitions", ConfigType.Int, "50", "The number of partitions of the offset commit topic.", Min: 1),
        new("offsets.topic.replication.factor", ConfigType.Short, "3", "The replication factor of the offsets topic.", Min: 1),
        new("broker.session.timeout.ms", ConfigType.Int, "9000", "The length of time a broker lease lasts if no heartbeats are made."),
        new("broker.heartbeat.interval.ms", ConfigType.Int, "2000", "The length of time between broker heartbeats."),
    }.ToDictionary(k => k.Name, StringComparer.Ordinal);

    /// <summary>Null when valid; else the message (unknown keys are not checked here).</summary>
    public static string? Validate(string name, string value) =>
        All.TryGetValue(name, out ConfigKey? key) ? key.Validate(value) : null;
}
