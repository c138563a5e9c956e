using System.Globalization;
using Aspire.Kafka.Node;
using Aspire.Kafka.Records;
using Aspire.Kafka.ServiceDefaults.Configuration;
using Aspire.Kafka.Storage;
using Range = Aspire.Kafka.ServiceDefaults.Configuration.Range;

namespace Aspire.Kafka.Broker;

/// <summary>The broker's configuration keys (Kafka's names and defaults) on top of <see cref="NodeConfig"/>. Anything else is refused at start.</summary>
public static class BrokerConfig
{
    public const string MinInsyncReplicas = "min.insync.replicas";
    public const string CompressionTypeKey = "compression.type";
    public const string ReplicaLagTimeMaxMs = "replica.lag.time.max.ms";
    public const string ReplicaFetchMaxBytes = "replica.fetch.max.bytes";
    public const string ReplicaFetchResponseMaxBytes = "replica.fetch.response.max.bytes";
    public const string ReplicaFetchWaitMaxMs = "replica.fetch.wait.max.ms";
    public const string ReplicaFetchMinBytes = "replica.fetch.min.bytes";
    public const string ReplicaFetchBackoffMs = "replica.fetch.backoff.ms";
    public const string NumReplicaFetchers = "num.replica.fetchers";
    public const string FetchMaxBytes = "fetch.max.bytes";
    public const string MaxIncrementalFetchSessionCacheSlots = "max.incremental.fetch.session.cache.slots";
    public const string UncleanLeaderElectionEnable = "unclean.leader.election.enable";
    public const string DeleteTopicEnable = "delete.topic.enable";
    public const string ReplicaHighWatermarkCheckpointIntervalMs = "replica.high.watermark.checkpoint.interval.ms";

    /// <summary>The storage keys handed to <see cref="LogManagerConfig.FromProperties"/> / <see cref="LogConfig.FromProperties"/> when set.</summary>
    public static IReadOnlyList<string> StorageKeys { get; } =
    [
        "log.segment.bytes", "log.roll.hours", "log.roll.ms", "log.roll.jitter.hours", "log.roll.jitter.ms",
        "log.index.size.max.bytes", "log.index.interval.bytes", "log.retention.hours", "log.retention.minutes",
        "log.retention.ms", "log.retention.bytes", "log.cleanup.policy", "log.cleaner.delete.retention.ms",
        "log.cleaner.min.cleanable.ratio", "log.cleaner.min.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms",
        "log.flush.interval.messages", "log.flush.interval.ms", "log.segment.delete.delay.ms",
        "log.message.timestamp.type", "message.max.bytes",
        "log.retention.check.interval.ms", "log.flush.scheduler.interval.ms", "log.flush.offset.checkpoint.interval.ms",
        "log.flush.start.offset.checkpoint.interval.ms", "log.cleaner.enable", "log.cleaner.backoff.ms", "num.recovery.threads.per.data.dir",
        "producer.id.expiration.ms", "producer.id.expiration.check.interval.ms",
    ];

    public static ConfigDef Definition { get; } = NodeConfig.Create().Merge(new ConfigDef()
        // Storage (libs/Storage reads them; only keys set explicitly are passed, so Kafka's precedence ms > minutes > hours holds).
        .Define("log.segment.bytes", ConfigType.Int, 1073741824, Range.AtLeast(14), Importance.High, "The largest size of a segment file.")
        .Define("log.roll.hours", ConfigType.Long, 168L, Range.AtLeast(1), Importance.High, "Roll a segment after this many hours.")
        .Define("log.roll.ms", ConfigType.Long, 604800000L, Range.AtLeast(1), Importance.High, "Roll a segment after this many ms (wins over log.roll.hours).")
        .Define("log.roll.jitter.hours", ConfigType.Long, 0L, Range.AtLeast(0), Importance.Low, "Random jitter subtracted from the roll time, in hours.")
        .Define("log.roll.jitter.ms", ConfigType.Long, 0L, Range.AtLeast(0), Importance.Low, "Random jitter subtracted from the roll time, in ms.")
        .Define("log.index.size.max.bytes", ConfigType.Int, 10485760, Range.AtLeast(4), Importance.Medium, "The size of a segment's offset index file.")
        .Define("log.index.interval.bytes", ConfigType.Int, 4096, Range.AtLeast(0), Importance.Medium, "Bytes between two offset index entries.")
        .Define("log.retention.hours", ConfigType.Int, 168, Importance.High, "Hours to keep a log segment (-1: forever).")
        .Define("log.retention.minutes", ConfigType.Int, 10080, Importance.High, "Minutes to keep a log segment (wins over hours).")
        .Define("log.retention.ms", ConfigType.Long, 604800000L, Importance.High, "Ms to keep a log segment (wins over minutes; -1: forever).")
        .Define("log.retention.bytes", ConfigType.Long, -1L, Importance.High, "Largest size of a log before old segments are deleted (-1: no limit).")
        .Define("log.cleanup.policy", ConfigType.List, "delete", ValidList.In("delete", "compact"), Importance.Medium, "delete, compact or both.")
        .Define("log.cleaner.delete.retention.ms", ConfigType.Long, 86400000L, Range.AtLeast(0), Importance.Medium, "How long tombstones are kept in compacted logs.")
        .Define("log.cleaner.min.cleanable.ratio", ConfigType.Double, 0.5, Range.Between(0, 1), Importance.Medium, "Dirty ratio above which a log is cleaned.")
        .Define("log.cleaner.min.compaction.lag.ms", ConfigType.Long, 0L, Range.AtLeast(0), Importance.Medium, "Minimum age of a record before it can be compacted.")
        .Define("log.cleaner.max.compaction.lag.ms", ConfigType.Long, long.MaxValue, Range.AtLeast(1), Importance.Medium, "Maximum time a record stays uncompacted.")
        .Define("log.flush.interval.messages", ConfigType.Long, long.MaxValue, Range.AtLeast(1), Importance.High, "Messages appended before the log is fsynced.")
        .Define("log.flush.interval.ms", ConfigType.Long, long.MaxValue, Range.AtLeast(0), Importance.High, "Ms a message may stay unflushed.")
        .Define("log.segment.delete.delay.ms", ConfigType.Long, 60000L, Range.AtLeast(0), Importance.High, "Delay before a deleted segment's files are removed.")
        .Define("log.message.timestamp.type", ConfigType.String, "CreateTime", ValidString.In("CreateTime", "LogAppendTime"), Importance.Medium, "CreateTime or LogAppendTime.")
        .Define("message.max.bytes", ConfigType.Int, 1048588, Range.AtLeast(0), Importance.High, "Largest record batch accepted (topic: max.message.bytes).")
        .Define("log.retention.check.interval.ms", ConfigType.Long, 300000L, Range.AtLeast(1), Importance.Medium, "How often retention runs.")
        .Define("log.flush.scheduler.interval.ms", ConfigType.Long, long.MaxValue, Range.AtLeast(1), Importance.High, "How often the time-based flusher runs.")
        .Define("log.flush.offset.checkpoint.interval.ms", ConfigType.Long, 60000L, Range.AtLeast(1), Importance.High, "How often recovery points are checkpointed.")
        .Define("log.flush.start.offset.checkpoint.interval.ms", ConfigType.Long, 60000L, Range.AtLeast(1), Importance.High, "How often log start offsets are checkpointed.")
        .Define("log.cleaner.enable", ConfigType.Boolean, true, Importance.Medium, "Whether compacted topics are cleaned.")
        .Define("log.cleaner.backoff.ms", ConfigType.Long, 15000L, Range.AtLeast(0), Importance.Medium, "Sleep of the cleaner when there is nothing to clean.")
        .Define("num.recovery.threads.per.data.dir", ConfigType.Int, 1, Range.AtLeast(1), Importance.High, "Threads recovering logs at start, per log dir.")
        .Define("producer.id.expiration.ms", ConfigType.Long, 86400000L, Range.AtLeast(1), Importance.Low,
            "How long a partition remembers an idle idempotent producer's id and sequence.")
        .Define("producer.id.expiration.check.interval.ms", ConfigType.Long, 600000L, Range.AtLeast(1), Importance.Low, "How often expired producer ids are removed.")
        // Replication and serving.
        .Define(MinInsyncReplicas, ConfigType.Int, 1, Range.AtLeast(1), Importance.High, "Replicas that must be in the ISR for acks=all produce to succeed (topic: min.insync.replicas).")
        .Define(CompressionTypeKey, ConfigType.String, "producer", ValidString.In("producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"), Importance.High,
            "The codec stored batches use: producer keeps the producer's, else batches are recompressed (topic: compression.type).")
        .Define(ReplicaLagTimeMaxMs, ConfigType.Long, 30000L, Range.AtLeast(1), Importance.High, "A follower not caught up for this long leaves the ISR.")
        .Define(ReplicaFetchMaxBytes, ConfigType.Int, 1048576, Range.AtLeast(0), Importance.Medium, "Bytes per partition a follower fetches.")
        .Define(ReplicaFetchResponseMaxBytes, ConfigType.Int, 10485760, Range.AtLeast(0), Importance.Medium, "Bytes per fetch response a follower asks for.")
        .Define(ReplicaFetchWaitMaxMs, ConfigType.Int, 500, Range.AtLeast(0), Importance.Medium, "How long a follower's fetch waits on the leader.")
        .Define(ReplicaFetchMinBytes, ConfigType.Int, 1, Range.AtLeast(0), Importance.Medium, "Bytes a follower's fetch waits for.")
        .Define(ReplicaFetchBackoffMs, ConfigType.Int, 1000, Range.AtLeast(0), Importance.Medium, "Backoff after a failed follower fetch.")
        .Define(NumReplicaFetchers, ConfigType.Int, 1, Range.AtLeast(1), Importance.High, "Fetchers per source broker.")
        .Define(FetchMaxBytes, ConfigType.Int, 57671680, Range.AtLeast(1024), Importance.Medium, "Largest fetch response a consumer gets.")
        .Define(MaxIncrementalFetchSessionCacheSlots, ConfigType.Int, 1000, Range.AtLeast(0), Importance.Medium, "Incremental fetch sessions kept (KIP-227).")
        .Define(ReplicaHighWatermarkCheckpointIntervalMs, ConfigType.Long, 5000L, Range.AtLeast(1), Importance.High,
            "How often the high watermarks are saved to replication-offset-checkpoint in each log dir.")
        .Define(UncleanLeaderElectionEnable, ConfigType.Boolean, false, Importance.High, "Informational on the broker: the controller elects leaders.")
        .Define(DeleteTopicEnable, ConfigType.Boolean, true, Importance.High, "Informational on the broker: the controller decides whether DeleteTopics is allowed."));
}

/// <summary>The broker's typed settings, built once at start.</summary>
public sealed record BrokerSettings
{
    public LogManagerConfig LogManager { get; init; } = new();

    public int MinInsyncReplicas { get; init; } = 1;

    /// <summary>compression.type: "producer", "uncompressed" or a codec name.</summary>
    public string CompressionType { get; init; } = "producer";

    public long ReplicaLagTimeMaxMs { get; init; } = 30_000;

    public int ReplicaFetchMaxBytes { get; init; } = 1024 * 1024;

    public int ReplicaFetchResponseMaxBytes { get; init; } = 10 * 1024 * 1024;

    public int ReplicaFetchWaitMaxMs { get; init; } = 500;

    public int ReplicaFetchMinBytes { get; init; } = 1;

    public int ReplicaFetchBackoffMs { get; init; } = 1000;

    public int NumReplicaFetchers { get; init; } = 1;

    public int FetchMaxBytes { get; init; } = 57_671_680;

    public int MaxIncrementalFetchSessionCacheSlots { get; init; } = 1000;

    public long HighWatermarkCheckpointIntervalMs { get; init; } = 5000;

    /// <summary>Sentences logged as warnings at start (keys accepted for compatibility that another service decides).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>The broker-level storage keys that were set, as properties (for topic configs layered on top).</summary>
    public IReadOnlyDictionary<string, string> StorageProperties { get; init; } = new Dictionary<string, string>();

    public static BrokerSettings From(KafkaConfig config, NodeSettings node)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(node);
        var props = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string key in BrokerConfig.StorageKeys)
        {
            if (config.SourceOf(key) != ConfigSource.Default)
            {
                props[key] = Format(config.Get(key));
            }
        }

        LogManagerConfig storage;
        try
        {
            var withDirs = new Dictionary<string, string>(props, StringComparer.Ordinal) { ["log.dirs"] = string.Join(',', node.LogDirs) };
            storage = LogManagerConfig.FromProperties(withDirs) with { NodeId = node.NodeId, ClusterId = node.ClusterId };
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException(e.Message, e);
        }

        var warnings = new List<string>();
        foreach (string key in new[] { BrokerConfig.UncleanLeaderElectionEnable, BrokerConfig.DeleteTopicEnable })
        {
            if (config.SourceOf(key) != ConfigSource.Default)
            {
                warnings.Add($"{key} is decided by the controller; the value set on this broker has no effect (set it on the controllers).");
            }
        }

        return new BrokerSettings
        {
            Warnings = warnings,
            HighWatermarkCheckpointIntervalMs = config.GetLong(BrokerConfig.ReplicaHighWatermarkCheckpointIntervalMs),
            LogManager = storage,
            StorageProperties = props,
            MinInsyncReplicas = config.GetInt(BrokerConfig.MinInsyncReplicas),
            CompressionType = config.GetString(BrokerConfig.CompressionTypeKey) ?? "producer",
            ReplicaLagTimeMaxMs = config.GetLong(BrokerConfig.ReplicaLagTimeMaxMs),
            ReplicaFetchMaxBytes = config.GetInt(BrokerConfig.ReplicaFetchMaxBytes),
            ReplicaFetchResponseMaxBytes = config.GetInt(BrokerConfig.ReplicaFetchResponseMaxBytes),
            ReplicaFetchWaitMaxMs = config.GetInt(BrokerConfig.ReplicaFetchWaitMaxMs),
            ReplicaFetchMinBytes = config.GetInt(BrokerConfig.ReplicaFetchMinBytes),
            ReplicaFetchBackoffMs = config.GetInt(BrokerConfig.ReplicaFetchBackoffMs),
            NumReplicaFetchers = config.GetInt(BrokerConfig.NumReplicaFetchers),
            FetchMaxBytes = config.GetInt(BrokerConfig.FetchMaxBytes),
            MaxIncrementalFetchSessionCacheSlots = config.GetInt(BrokerConfig.MaxIncrementalFetchSessionCacheSlots),
        };
    }

    private static string Format(object? value) => value switch
    {
        null => "",
        string[] list => string.Join(',', list),
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>Maps compression.type to the codec to store, or null to keep the producer's.</summary>
    public static CompressionType? TargetCodec(string compressionType) => compressionType switch
    {
        "producer" => null,
        "uncompressed" => Records.CompressionType.None,
        "gzip" => Records.CompressionType.Gzip,
        "snappy" => Records.CompressionType.Snappy,
        "lz4" => Records.CompressionType.Lz4,
        "zstd" => Records.CompressionType.Zstd,
        _ => throw new ArgumentException($"Invalid value {compressionType} for configuration compression.type: expected producer, uncompressed, gzip, snappy, lz4 or zstd."),
    };
}
