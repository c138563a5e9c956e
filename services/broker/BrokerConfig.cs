using Aspire.Kafka.Node;
using Aspire.Kafka.Records;
using Aspire.Kafka.Config;
using Aspire.Kafka.ServiceDefaults.Configuration;
using Aspire.Kafka.Storage;
using Range = Aspire.Kafka.Config.Range;

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

    /// <summary>
    /// The node keys, storage's (the per-log keys of <see cref="LogConfig.ServerConfigDef"/> and
    /// the broker-wide <see cref="LogManagerConfig.ConfigDef"/>) and the replication and serving keys.
    /// </summary>
    public static ConfigDef Definition { get; } = NodeConfig.Create()
        .Merge(LogConfig.ServerConfigDef)
        .Merge(LogManagerConfig.ConfigDef)
        .Merge(new ConfigDef()
            .Define(ServerConfigs.ProcessRoles("broker"))
            .Define(ServerConfigs.ReplicaLagTimeMaxMs)
            .Define(ServerConfigs.ReplicaFetchMaxBytes)
            .Define(ReplicaFetchResponseMaxBytes, ConfigType.Int, 10485760, Range.AtLeast(0), Importance.Medium, "Bytes per fetch response a follower asks for.")
            .Define(ReplicaFetchWaitMaxMs, ConfigType.Int, 500, Range.AtLeast(0), Importance.Medium, "How long a follower's fetch waits on the leader.")
            .Define(ReplicaFetchMinBytes, ConfigType.Int, 1, Range.AtLeast(0), Importance.Medium, "Bytes a follower's fetch waits for.")
            .Define(ReplicaFetchBackoffMs, ConfigType.Int, 1000, Range.AtLeast(0), Importance.Medium, "Backoff after a failed follower fetch.")
            .Define(NumReplicaFetchers, ConfigType.Int, 1, Range.AtLeast(1), Importance.High, "Fetchers per source broker.")
            .Define(ServerConfigs.FetchMaxBytes)
            .Define(MaxIncrementalFetchSessionCacheSlots, ConfigType.Int, 1000, Range.AtLeast(0), Importance.Medium, "Incremental fetch sessions kept (KIP-227).")
            .Define(ReplicaHighWatermarkCheckpointIntervalMs, ConfigType.Long, 5000L, Range.AtLeast(1), Importance.High,
                "How often the high watermarks are saved to replication-offset-checkpoint in each log dir.")
            .Define(ServerConfigs.DeleteTopicEnable with { NoEffectReason = ControllerDecides })
            .Define(ServerConfigs.OffsetsTopicReplicationFactor with { NoEffectReason = ServerConfigs.ControllersCreateOffsetsTopic }))
        .WithoutEffect(UncleanLeaderElectionEnable, ControllerDecides);

    /// <summary>Why a key only the controllers decide has no effect on a broker.</summary>
    public const string ControllerDecides = "the controllers decide it; set it on them";
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

    /// <summary>The broker-level storage keys that were set, as properties (for topic configs layered on top).</summary>
    public IReadOnlyDictionary<string, string> StorageProperties { get; init; } = new Dictionary<string, string>();

    public static BrokerSettings From(KafkaConfig config, NodeSettings node)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(node);
        var props = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (ConfigKey key in LogConfig.ServerConfigDef.Keys.Concat(LogManagerConfig.ConfigDef.Keys))
        {
            if (config.SourceOf(key.Name) != ConfigSource.Default)
            {
                props[key.Name] = ConfigDef.Format(config.Get(key.Name)) ?? "";
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

        return new BrokerSettings
        {
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
