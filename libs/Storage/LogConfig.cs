using System.Globalization;
using Aspire.Kafka.Config;
using Range = Aspire.Kafka.Config.Range;

namespace Aspire.Kafka.Storage;

/// <summary>Kafka's cleanup.policy: delete, compact, or both ("compact,delete").</summary>
[Flags]
public enum CleanupPolicy
{
    Delete = 1,
    Compact = 2,
}

/// <summary>Kafka's message.timestamp.type.</summary>
public enum MessageTimestampType
{
    CreateTime,
    LogAppendTime,
}

/// <summary>
/// Per-log configuration (Kafka's LogConfig). Each field's topic key and its broker-level
/// synonyms (log.*) are declared once, in <see cref="TopicConfigDef"/> and
/// <see cref="ServerConfigDef"/>; the defaults below are read from there, and
/// <see cref="FromProperties"/> parses through them.
/// </summary>
public sealed record LogConfig
{
    public const long Unlimited = -1;

    public const string SegmentBytesConfig = "segment.bytes";
    public const string SegmentMsConfig = "segment.ms";
    public const string SegmentJitterMsConfig = "segment.jitter.ms";
    public const string SegmentIndexBytesConfig = "segment.index.bytes";
    public const string IndexIntervalBytesConfig = "index.interval.bytes";
    public const string RetentionMsConfig = "retention.ms";
    public const string RetentionBytesConfig = "retention.bytes";
    public const string CleanupPolicyConfig = "cleanup.policy";
    public const string DeleteRetentionMsConfig = "delete.retention.ms";
    public const string MinCleanableDirtyRatioConfig = "min.cleanable.dirty.ratio";
    public const string MinCompactionLagMsConfig = "min.compaction.lag.ms";
    public const string MaxCompactionLagMsConfig = "max.compaction.lag.ms";
    public const string FlushMessagesConfig = "flush.messages";
    public const string FlushMsConfig = "flush.ms";
    public const string FileDeleteDelayMsConfig = "file.delete.delay.ms";
    public const string MessageTimestampTypeConfig = "message.timestamp.type";
    public const string MaxMessageBytesConfig = "max.message.bytes";
    public const string PreallocateConfig = "preallocate";
    public const string MinInSyncReplicasConfig = "min.insync.replicas";
    public const string CompressionTypeConfig = "compression.type";
    public const string UncleanLeaderElectionEnableConfig = "unclean.leader.election.enable";

    /// <summary>
    /// Project-specific (not Kafka's): the alias of the source cluster a mirror topic copies, set by
    /// the mirror service (services/mirror). Such a topic refuses Produce and accepts the mirror's
    /// offset-preserving append from that source only; failing over removes the key.
    /// </summary>
    public const string MirrorSourceConfig = ServerConfigs.MirrorSourceTopicConfig;

    /// <summary>Deprecated in Kafka 3.0 (KIP-724), removed in 4.0; accepted without effect (see <see cref="MessageFormatNoEffect"/>).</summary>
    public const string MessageFormatVersionConfig = "message.format.version";

    /// <summary>Kafka 3.x's switch for down-converting batches for old Fetch versions, removed in 4.0; accepted without effect.</summary>
    public const string MessageDownconversionEnableConfig = "message.downconversion.enable";

    /// <summary>Why <see cref="MessageFormatVersionConfig"/> (and log.message.format.version) change nothing.</summary>
    public const string MessageFormatNoEffect =
        "deprecated since Kafka 3.0 (KIP-724) and ignored from inter.broker.protocol.version 3.0 on, as here: every batch is written in record batch format v2";

    /// <summary>Why <see cref="MessageDownconversionEnableConfig"/> changes nothing.</summary>
    public const string DownconversionNoEffect =
        "nothing is ever down-converted here: Fetch is served from v4, whose clients read record batch format v2 as stored";

    /// <summary>segment.bytes / log.segment.bytes.</summary>
    public int SegmentBytes { get; init; } = Default<int>(SegmentBytesConfig);

    /// <summary>segment.ms / log.roll.ms / log.roll.hours.</summary>
    public long SegmentMs { get; init; } = Default<long>(SegmentMsConfig);

    /// <summary>segment.jitter.ms / log.roll.jitter.ms / log.roll.jitter.hours.</summary>
    public long SegmentJitterMs { get; init; } = Default<long>(SegmentJitterMsConfig);

    /// <summary>segment.index.bytes / log.index.size.max.bytes.</summary>
    public int MaxIndexSize { get; init; } = Default<int>(SegmentIndexBytesConfig);

    /// <summary>index.interval.bytes / log.index.interval.bytes.</summary>
    public int IndexIntervalBytes { get; init; } = Default<int>(IndexIntervalBytesConfig);

    /// <summary>retention.ms / log.retention.ms|minutes|hours; -1 keeps forever.</summary>
    public long RetentionMs { get; init; } = Default<long>(RetentionMsConfig);

    /// <summary>retention.bytes / log.retention.bytes (-1: no size limit).</summary>
    public long RetentionBytes { get; init; } = Default<long>(RetentionBytesConfig);

    /// <summary>cleanup.policy / log.cleanup.policy.</summary>
    public CleanupPolicy CleanupPolicy { get; init; } = ParsePolicy((IReadOnlyList<string>)TopicConfigDef[CleanupPolicyConfig].DefaultValue!);

    /// <summary>delete.retention.ms / log.cleaner.delete.retention.ms.</summary>
    public long DeleteRetentionMs { get; init; } = Default<long>(DeleteRetentionMsConfig);

    /// <summary>min.cleanable.dirty.ratio / log.cleaner.min.cleanable.ratio.</summary>
    public double MinCleanableDirtyRatio { get; init; } = Default<double>(MinCleanableDirtyRatioConfig);

    /// <summary>min.compaction.lag.ms / log.cleaner.min.compaction.lag.ms.</summary>
    public long MinCompactionLagMs { get; init; } = Default<long>(MinCompactionLagMsConfig);

    /// <summary>max.compaction.lag.ms / log.cleaner.max.compaction.lag.ms (unbounded).</summary>
    public long MaxCompactionLagMs { get; init; } = Default<long>(MaxCompactionLagMsConfig);

    /// <summary>flush.messages / log.flush.interval.messages (never: durability comes from replication).</summary>
    public long FlushIntervalMessages { get; init; } = Default<long>(FlushMessagesConfig);

    /// <summary>flush.ms / log.flush.interval.ms (never).</summary>
    public long FlushMs { get; init; } = Default<long>(FlushMsConfig);

    /// <summary>file.delete.delay.ms / log.segment.delete.delay.ms.</summary>
    public long FileDeleteDelayMs { get; init; } = Default<long>(FileDeleteDelayMsConfig);

    /// <summary>message.timestamp.type / log.message.timestamp.type.</summary>
    public MessageTimestampType MessageTimestampType { get; init; } = Enum.Parse<MessageTimestampType>(Default<string>(MessageTimestampTypeConfig));

    /// <summary>max.message.bytes / message.max.bytes: the largest batch accepted.</summary>
    public int MaxMessageBytes { get; init; } = Default<int>(MaxMessageBytesConfig);

    /// <summary>
    /// preallocate / log.preallocate (true here; Kafka's default is false): the active segment
    /// grows ahead of its data. (1) Once it holds 1 MiB, disk blocks are reserved with
    /// fallocate(FALLOC_FL_KEEP_SIZE) in steps as large as the segment already is (up to 16 MiB),
    /// so appends skip ext4's delayed-allocation bookkeeping. (2) An append that goes past the file's end also writes
    /// zeros up to the next 64 KiB boundary (one pwritev), so later appends overwrite pages the
    /// kernel already holds in large folios instead of creating each page with an unaligned write.
    /// Together about 1.8 times the append throughput of plain writes for 16 KiB batches on ext4
    /// (bench/Storage.Benchmarks). While a segment is active its file may thus end in up to 64 KiB
    /// of zeros past the last batch; readers stop at the data, roll, truncation and close cut the
    /// zeros off and give the reserved blocks back, and recovery after a crash trims them. Kafka
    /// sets the whole segment's length up front instead (sparse on Linux).
    /// </summary>
    public bool Preallocate { get; init; } = Default<bool>(PreallocateConfig);

    public bool Compact => (CleanupPolicy & CleanupPolicy.Compact) != 0;

    public bool Delete => (CleanupPolicy & CleanupPolicy.Delete) != 0;

    /// <summary>The index size actually used: a whole number of entries of <paramref name="entrySize"/>.</summary>
    internal int MaxIndexEntries(int entrySize) => Math.Max(2, MaxIndexSize / entrySize);

    /// <summary>
    /// The topic-level keys (what CreateTopics and AlterConfigs accept for a topic, what
    /// DescribeConfigs reports), each with the server keys it falls back to (synonyms, highest
    /// precedence first, with the unit factor: <c>retention.ms</c> ← log.retention.ms,
    /// log.retention.minutes × 60,000, log.retention.hours × 3,600,000). Kafka's <c>LogConfig.CONFIG</c>.
    /// </summary>
    public static ConfigDef TopicConfigDef => Definitions.Topic;

    /// <summary>The broker-level keys of the same settings (log.segment.bytes, log.retention.hours, …): Kafka's <c>LogConfig.SERVER_CONFIG_DEF</c>.</summary>
    public static ConfigDef ServerConfigDef => Definitions.Server;

    /// <summary>
    /// Builds a config from Kafka property names, read through <see cref="TopicConfigDef"/> and
    /// <see cref="ServerConfigDef"/>: a topic-level key (segment.bytes, retention.ms…) wins over its
    /// server synonyms (log.segment.bytes, log.retention.ms…), and among the synonyms ms wins over
    /// minutes wins over hours, as in Kafka; what neither names keeps <paramref name="defaults"/>.
    /// A bad value throws <see cref="ArgumentException"/>; an unknown key does only when
    /// <paramref name="rejectUnknown"/> is set.
    /// </summary>
    public static LogConfig FromProperties(IReadOnlyDictionary<string, string> properties, LogConfig? defaults = null, bool rejectUnknown = false)
    {
        ArgumentNullException.ThrowIfNull(properties);
        LogConfig c = defaults ?? new LogConfig();
        try
        {
            foreach ((string name, Func<LogConfig, object, LogConfig> apply) in Definitions.Apply)
            {
                if (Resolve(properties, TopicConfigDef[name]) is { } value)
                {
                    c = apply(c, value);
                }
            }
        }
        catch (ConfigException e)
        {
            throw new ArgumentException(e.Message, nameof(properties), e);
        }

        if (rejectUnknown && properties.Keys.FirstOrDefault(k => !TopicConfigDef.Contains(k) && !ServerConfigDef.Contains(k)) is { } unknown)
        {
            throw new ArgumentException($"Storage does not honor the configuration '{unknown}'.", nameof(properties));
        }

        return c;
    }

    /// <summary>The value of a topic key from <paramref name="properties"/>: the key itself, else its first synonym present (scaled to the topic key's unit); null when none is set.</summary>
    private static object? Resolve(IReadOnlyDictionary<string, string> properties, ConfigKey topic)
    {
        if (properties.TryGetValue(topic.Name, out string? raw))
        {
            return ConfigDef.Parse(topic, raw);
        }

        foreach (ConfigSynonym synonym in topic.Synonyms)
        {
            if (!properties.TryGetValue(synonym.Name, out raw))
            {
                continue;
            }

            object? value = ConfigDef.Parse(ServerConfigDef[synonym.Name], raw);
            if (synonym.Multiplier == 1 || value is null)
            {
                return value;
            }

            long n = Convert.ToInt64(value, CultureInfo.InvariantCulture);
            return n < 0 ? Unlimited : checked(n * synonym.Multiplier);
        }

        return null;
    }

    private static T Default<T>(string topicKey) => (T)Convert.ChangeType(TopicConfigDef[topicKey].DefaultValue, typeof(T), CultureInfo.InvariantCulture)!;

    private static int Int(object value) => Convert.ToInt32(value, CultureInfo.InvariantCulture);

    private static long Long(object value) => Convert.ToInt64(value, CultureInfo.InvariantCulture);

    private static CleanupPolicy ParsePolicy(IReadOnlyList<string> parts)
    {
        CleanupPolicy policy = 0;
        foreach (string part in parts)
        {
            policy |= part == "compact" ? CleanupPolicy.Compact : CleanupPolicy.Delete;
        }

        return policy == 0 ? throw new ConfigException(CleanupPolicyConfig, "", "expected delete, compact or compact,delete") : policy;
    }

    /// <summary>
    /// The declarations, in one place: each topic key with its type, default, validator and
    /// documentation, how it sets a field, and its server synonyms (Kafka's ServerTopicConfigSynonyms).
    /// A synonym declared with <see cref="Same"/> has the topic key's type, default and validator.
    /// </summary>
    private static class Definitions
    {
        public static readonly ConfigDef Topic = new();
        public static readonly ConfigDef Server = new();
        public static readonly List<(string Name, Func<LogConfig, object, LogConfig> Apply)> Apply = [];

        static Definitions()
        {
            Define(SegmentBytesConfig, ConfigType.Int, 1024 * 1024 * 1024, Range.AtLeast(14), "The segment file size of the log.",
                (c, v) => c with { SegmentBytes = Int(v) },
                Same("log.segment.bytes", "The maximum size of a single log file.", dynamic: true));
            Define(SegmentMsConfig, ConfigType.Long, 7L * 24 * 60 * 60 * 1000, Range.AtLeast(1), "The time after which a segment is rolled even if not full.",
                (c, v) => c with { SegmentMs = Long(v) },
                Own("log.roll.ms", ConfigType.Long, null, Range.AtLeast(1), "The maximum time before a new log segment is rolled out (ms).", dynamic: true),
                Own("log.roll.hours", ConfigType.Int, 168, Range.AtLeast(1), "The maximum time before a new log segment is rolled out (hours).", multiplier: 3_600_000));
            Define(SegmentJitterMsConfig, ConfigType.Long, 0L, Range.AtLeast(0), "The maximum random jitter subtracted from segment.ms to avoid rolling every segment at once.",
                (c, v) => c with { SegmentJitterMs = Long(v) },
                Own("log.roll.jitter.ms", ConfigType.Long, null, Range.AtLeast(0), "The maximum jitter subtracted from the roll time (ms)."),
                Own("log.roll.jitter.hours", ConfigType.Int, 0, Range.AtLeast(0), "The maximum jitter subtracted from the roll time (hours).", multiplier: 3_600_000));
            Define(SegmentIndexBytesConfig, ConfigType.Int, 10 * 1024 * 1024, Range.AtLeast(4), "The size of the index that maps offsets to file positions.",
                (c, v) => c with { MaxIndexSize = Int(v) },
                Same("log.index.size.max.bytes", "The maximum size of a segment's offset index in bytes."));
            Define(IndexIntervalBytesConfig, ConfigType.Int, 4096, Range.AtLeast(0), "How often an entry is added to the offset index, in bytes.",
                (c, v) => c with { IndexIntervalBytes = Int(v) },
                Same("log.index.interval.bytes", "Bytes between two offset index entries."));
            Define(RetentionMsConfig, ConfigType.Long, 7L * 24 * 60 * 60 * 1000, Range.AtLeast(-1), "How long a log segment is kept before it is deleted (-1: no limit).",
                (c, v) => c with { RetentionMs = Long(v) < 0 ? Unlimited : Long(v) },
                Own("log.retention.ms", ConfigType.Long, null, Range.AtLeast(-1), "The number of milliseconds to keep a log file before deleting it.", dynamic: true),
                Own("log.retention.minutes", ConfigType.Int, null, null, "The number of minutes to keep a log file before deleting it.", multiplier: 60_000),
                Own("log.retention.hours", ConfigType.Int, 168, null, "The number of hours to keep a log file before deleting it.", multiplier: 3_600_000));
            Define(RetentionBytesConfig, ConfigType.Long, Unlimited, null, "The size a partition can grow to before old segments are deleted (-1: no limit).",
                (c, v) => c with { RetentionBytes = Long(v) },
                Same("log.retention.bytes", "The maximum size of the log before deleting it.", dynamic: true));
            Define(CleanupPolicyConfig, ConfigType.List, "delete", ValidList.In("compact", "delete"), "The retention policy of log segments: delete, compact, or both.",
                (c, v) => c with { CleanupPolicy = ParsePolicy((IReadOnlyList<string>)v) },
                Same("log.cleanup.policy", "The default cleanup policy for segments beyond the retention window.", dynamic: true));
            Define(DeleteRetentionMsConfig, ConfigType.Long, 24L * 60 * 60 * 1000, Range.AtLeast(0), "How long delete tombstones are kept for compacted topics.",
                (c, v) => c with { DeleteRetentionMs = Long(v) },
                Same("log.cleaner.delete.retention.ms", "How long delete tombstones are retained.", dynamic: true));
            Define(MinCleanableDirtyRatioConfig, ConfigType.Double, 0.5, Range.Between(0, 1), "The least share of a compacted log that must be uncleaned before the cleaner rewrites it.",
                (c, v) => c with { MinCleanableDirtyRatio = Convert.ToDouble(v, CultureInfo.InvariantCulture) },
                Same("log.cleaner.min.cleanable.ratio", "The dirty ratio above which a log is cleaned."));
            Define(MinCompactionLagMsConfig, ConfigType.Long, 0L, Range.AtLeast(0), "The minimum time a record stays uncompacted.",
                (c, v) => c with { MinCompactionLagMs = Long(v) },
                Same("log.cleaner.min.compaction.lag.ms", "The minimum age of a record before it can be compacted."));
            Define(MaxCompactionLagMsConfig, ConfigType.Long, long.MaxValue, Range.AtLeast(1), "The maximum time a record may stay uncompacted.",
                (c, v) => c with { MaxCompactionLagMs = Long(v) },
                Same("log.cleaner.max.compaction.lag.ms", "The maximum time a record stays uncompacted."));
            Define(FlushMessagesConfig, ConfigType.Long, long.MaxValue, Range.AtLeast(1), "Records written before the log is fsynced.",
                (c, v) => c with { FlushIntervalMessages = Long(v) },
                Same("log.flush.interval.messages", "Messages appended before the log is fsynced."));
            Define(FlushMsConfig, ConfigType.Long, long.MaxValue, Range.AtLeast(0), "Milliseconds between fsyncs of the log.",
                (c, v) => c with { FlushMs = Long(v) },
                Same("log.flush.interval.ms", "Milliseconds a message may stay unflushed."));
            Define(FileDeleteDelayMsConfig, ConfigType.Long, 60_000L, Range.AtLeast(0), "How long a deleted segment's files are kept before they are removed.",
                (c, v) => c with { FileDeleteDelayMs = Long(v) },
                Same("log.segment.delete.delay.ms", "The delay before a deleted segment's files are removed."));
            Define(MessageTimestampTypeConfig, ConfigType.String, "CreateTime", ValidString.In("CreateTime", "LogAppendTime"),
                "Whether a record's timestamp is the producer's (CreateTime) or the broker's append time (LogAppendTime).",
                (c, v) => c with { MessageTimestampType = (string)v == "LogAppendTime" ? MessageTimestampType.LogAppendTime : MessageTimestampType.CreateTime },
                Same("log.message.timestamp.type", "CreateTime or LogAppendTime."));
            Define(MaxMessageBytesConfig, ConfigType.Int, 1024 * 1024 + 12, Range.AtLeast(0), "The largest record batch size allowed.",
                (c, v) => c with { MaxMessageBytes = Int(v) },
                Same("message.max.bytes", "The largest record batch size allowed.", dynamic: true));
            Define(PreallocateConfig, ConfigType.Boolean, true, null,
                "Grow the active segment ahead of its data (zeros to a 64 KiB boundary, reserved blocks from 1 MiB); Kafka's default is false.",
                (c, v) => c with { Preallocate = (bool)v },
                Same("log.preallocate", "Whether the active segment grows ahead of its data (see preallocate)."));

            // Topic keys the broker's ReplicaManager (min.insync.replicas, compression.type) and the
            // controller's leader election (unclean.leader.election.enable) apply, not the log.
            Define(MinInSyncReplicasConfig, ConfigType.Int, 1, Range.AtLeast(1), "The minimum number of in-sync replicas for acks=all produce.",
                null, Same(MinInSyncReplicasConfig, "The default minimum in-sync replicas.", dynamic: true));
            Define(CompressionTypeConfig, ConfigType.String, "producer", ValidString.In("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"),
                "The final compression type of the topic.",
                null, Same(CompressionTypeConfig, "The final compression type for a given topic.", dynamic: true));
            Define(UncleanLeaderElectionEnableConfig, ConfigType.Boolean, false, null, "Whether replicas not in the ISR may be elected leader as a last resort (data may be lost).",
                null, Same(UncleanLeaderElectionEnableConfig, "Whether replicas not in the ISR may be elected leader as a last resort.", dynamic: true));

            // The mirror service's marker (project-specific, topic-level only): read by the broker's
            // ReplicaManager, not the log.
            Define(MirrorSourceConfig, ConfigType.String, "", null,
                "The source cluster alias this topic mirrors (set by the mirror service): while set, the topic is read-only for producers "
                + "(POLICY_VIOLATION) and takes the mirror's offset-preserving appends from that source; empty for an ordinary topic.",
                null);

            // Kafka 3.x's deprecated format keys (removed in 4.0): clients of that era still send
            // them in CreateTopics/AlterConfigs, so they are accepted, stored and described as Kafka
            // 3.x does, and have no effect, as in Kafka 3.x from IBP 3.0 on.
            Define(MessageFormatVersionConfig, ConfigType.String, "3.0-IV1", KafkaVersion,
                $"[DEPRECATED] The message format version of the topic; no effect: {MessageFormatNoEffect}.",
                null, Same("log.message.format.version", $"[DEPRECATED] The default message format version; no effect: {MessageFormatNoEffect}.", dynamic: true));
            Define(MessageDownconversionEnableConfig, ConfigType.Boolean, true, null,
                $"Whether batches are down-converted for old Fetch versions; no effect: {DownconversionNoEffect}.",
                null, Same("log.message.downconversion.enable", $"Whether batches are down-converted for old Fetch versions; no effect: {DownconversionNoEffect}.", dynamic: true));
            Topic.WithoutEffect(MessageFormatVersionConfig, MessageFormatNoEffect);
            Server.WithoutEffect("log.message.format.version", MessageFormatNoEffect);
            Topic.WithoutEffect(MessageDownconversionEnableConfig, DownconversionNoEffect);
            Server.WithoutEffect("log.message.downconversion.enable", DownconversionNoEffect);
        }

        private static void Define(string name, ConfigType type, object? defaultValue, IConfigValidator? validator, string documentation,
            Func<LogConfig, object, LogConfig>? apply, params ServerSynonym[] synonyms)
        {
            var synonymsOfTopic = new List<ConfigSynonym>();
            foreach (ServerSynonym s in synonyms)
            {
                ConfigKey server = s.Type is { } ownType
                    ? ConfigDef.Key(s.Name, ownType, s.Default, s.Validator, Importance.Medium, s.Documentation)
                    : ConfigDef.Key(s.Name, type, defaultValue, validator, Importance.Medium, s.Documentation);
                Server.Define(server with { DynamicallyUpdatable = s.Dynamic });
                synonymsOfTopic.Add(new ConfigSynonym(s.Name, s.Multiplier));
            }

            Topic.Define(ConfigDef.Key(name, type, defaultValue, validator, Importance.Medium, documentation) with { Synonyms = synonymsOfTopic });
            if (apply is not null)
            {
                Apply.Add((name, apply));
            }
        }

        /// <summary>A Kafka version as message.format.version takes it: "0.10.2", "2.8", "3.0-IV1".</summary>
        private static readonly IConfigValidator KafkaVersion = Validator.From(
            v => v is string text && System.Text.RegularExpressions.Regex.IsMatch(text, @"^\d+\.\d+(\.\d+)?(-IV\d+)?$") ? null : "not a Kafka version such as 2.8 or 3.0-IV1",
            "[0.8.0, ..., 3.0-IV1, ...]");

        private static ServerSynonym Same(string name, string documentation, bool dynamic = false) => new(name, documentation, dynamic, 1, null, null, null);

        private static ServerSynonym Own(string name, ConfigType type, object? defaultValue, IConfigValidator? validator, string documentation, bool dynamic = false, long multiplier = 1) =>
            new(name, documentation, dynamic, multiplier, type, defaultValue, validator);

        private sealed record ServerSynonym(string Name, string Documentation, bool Dynamic, long Multiplier, ConfigType? Type, object? Default, IConfigValidator? Validator);
    }
}
