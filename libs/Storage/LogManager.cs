using System.Collections.Concurrent;
using System.Globalization;
using Aspire.Kafka.Config;
using Aspire.Kafka.Protocol;
using Range = Aspire.Kafka.Config.Range;

namespace Aspire.Kafka.Storage;

/// <summary>
/// Broker-wide storage settings (Kafka's names and defaults). The keys are declared once, in
/// <see cref="ConfigDef"/> (the per-log keys in <see cref="LogConfig.ServerConfigDef"/>); the
/// defaults below are read from there.
/// </summary>
public sealed record LogManagerConfig
{
    public const string RetentionCheckIntervalMsConfig = "log.retention.check.interval.ms";
    public const string FlushSchedulerIntervalMsConfig = "log.flush.scheduler.interval.ms";
    public const string FlushOffsetCheckpointIntervalMsConfig = "log.flush.offset.checkpoint.interval.ms";
    public const string FlushStartOffsetCheckpointIntervalMsConfig = "log.flush.start.offset.checkpoint.interval.ms";
    public const string CleanerEnableConfig = "log.cleaner.enable";
    public const string CleanerBackoffMsConfig = "log.cleaner.backoff.ms";
    public const string NumRecoveryThreadsPerDataDirConfig = "num.recovery.threads.per.data.dir";
    public const string ProducerIdExpirationMsConfig = "producer.id.expiration.ms";
    public const string ProducerIdExpirationCheckIntervalMsConfig = "producer.id.expiration.check.interval.ms";
    public const string BackgroundThreadsConfig = "background.threads";

    /// <summary>The broker-wide storage keys (besides log.dirs, which the node declares, and the per-log keys of <see cref="LogConfig.ServerConfigDef"/>).</summary>
    public static ConfigDef ConfigDef { get; } = new ConfigDef()
        .Define(RetentionCheckIntervalMsConfig, ConfigType.Long, 300_000L, Range.AtLeast(1), Importance.Medium, "How often retention runs.")
        .Define(FlushSchedulerIntervalMsConfig, ConfigType.Long, long.MaxValue, Range.AtLeast(1), Importance.High, "How often logs are checked against flush.ms (never by default).")
        .Define(FlushOffsetCheckpointIntervalMsConfig, ConfigType.Long, 60_000L, Range.AtLeast(1), Importance.High, "How often recovery points are checkpointed (recovery-point-offset-checkpoint).")
        .Define(FlushStartOffsetCheckpointIntervalMsConfig, ConfigType.Long, 60_000L, Range.AtLeast(1), Importance.High, "How often log start offsets are checkpointed (log-start-offset-checkpoint).")
        .Define(CleanerEnableConfig, ConfigType.Boolean, true, Importance.Medium, "Whether compacted topics are cleaned.")
        .Define(CleanerBackoffMsConfig, ConfigType.Long, 15_000L, Range.AtLeast(0), Importance.Medium, "The cleaner's sleep when no log needs cleaning.")
        .Define(NumRecoveryThreadsPerDataDirConfig, ConfigType.Int, 1, Range.AtLeast(1), Importance.High, "Workers per log dir that load (and recover) logs at start.")
        .Define(ProducerIdExpirationMsConfig, ConfigType.Long, 86_400_000L, Range.AtLeast(1), Importance.Low,
            "How long a partition remembers an idle idempotent producer's id and sequence.")
        .Define(ProducerIdExpirationCheckIntervalMsConfig, ConfigType.Long, 600_000L, Range.AtLeast(1), Importance.Low, "How often expired producer ids are removed.")
        .Define(BackgroundThreadsConfig, ConfigType.Int, 10, Range.AtLeast(1), Importance.High,
            "How many of the storage background jobs (retention, flush, checkpoints, producer-id expiration, cleaner) may run at once.");

    /// <summary>log.dirs (or log.dir).</summary>
    public IReadOnlyList<string> LogDirs { get; init; } = ["/tmp/kafka-logs"];

    /// <summary>The broker defaults for every log (log.* keys); topics override them.</summary>
    public LogConfig DefaultLogConfig { get; init; } = new();

    /// <summary>log.retention.check.interval.ms.</summary>
    public long RetentionCheckIntervalMs { get; init; } = Default<long>(RetentionCheckIntervalMsConfig);

    /// <summary>log.flush.scheduler.interval.ms: how often logs are checked against flush.ms.</summary>
    public long FlushSchedulerIntervalMs { get; init; } = Default<long>(FlushSchedulerIntervalMsConfig);

    /// <summary>log.flush.offset.checkpoint.interval.ms: recovery-point-offset-checkpoint.</summary>
    public long FlushRecoveryOffsetCheckpointIntervalMs { get; init; } = Default<long>(FlushOffsetCheckpointIntervalMsConfig);

    /// <summary>log.flush.start.offset.checkpoint.interval.ms: log-start-offset-checkpoint.</summary>
    public long FlushStartOffsetCheckpointIntervalMs { get; init; } = Default<long>(FlushStartOffsetCheckpointIntervalMsConfig);

    /// <summary>log.cleaner.enable.</summary>
    public bool CleanerEnable { get; init; } = Default<bool>(CleanerEnableConfig);

    /// <summary>log.cleaner.backoff.ms: the cleaner's sleep when no log needs cleaning.</summary>
    public long CleanerBackoffMs { get; init; } = Default<long>(CleanerBackoffMsConfig);

    /// <summary>num.recovery.threads.per.data.dir (logs of a dir load in parallel with this many workers).</summary>
    public int RecoveryThreadsPerDataDir { get; init; } = Default<int>(NumRecoveryThreadsPerDataDirConfig);

    /// <summary>Kafka's default producer.id.expiration.ms: 1 day.</summary>
    public static long DefaultProducerIdExpirationMs => Default<long>(ProducerIdExpirationMsConfig);

    /// <summary>
    /// producer.id.expiration.ms: a producer id whose last batch is older than this is
    /// forgotten by the partitions (its next batch may start at any sequence).
    /// </summary>
    public long ProducerIdExpirationMs { get; init; } = DefaultProducerIdExpirationMs;

    /// <summary>producer.id.expiration.check.interval.ms: how often expired producer ids are removed.</summary>
    public long ProducerIdExpirationCheckIntervalMs { get; init; } = Default<long>(ProducerIdExpirationCheckIntervalMsConfig);

    /// <summary>background.threads: how many background jobs may run at once (Kafka's scheduler threads).</summary>
    public int BackgroundThreads { get; init; } = Default<int>(BackgroundThreadsConfig);

    /// <summary>node.id for meta.properties (-1: do not write one).</summary>
    public int NodeId { get; init; } = -1;

    /// <summary>cluster.id for meta.properties (null: do not write one).</summary>
    public string? ClusterId { get; init; }

    /// <summary>
    /// Reads the broker's storage keys from server properties: log.dirs (or log.dir), node.id,
    /// <see cref="ConfigDef"/> and the per-log keys (<see cref="LogConfig.FromProperties"/>).
    /// A bad value throws <see cref="ArgumentException"/>.
    /// </summary>
    public static LogManagerConfig FromProperties(IReadOnlyDictionary<string, string> properties)
    {
        ArgumentNullException.ThrowIfNull(properties);
        var c = new LogManagerConfig { DefaultLogConfig = LogConfig.FromProperties(properties) };
        if ((Get("log.dirs") ?? Get("log.dir")) is { } dirs)
        {
            c = c with { LogDirs = dirs.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) };
        }

        if (Get("node.id") is { } nodeId)
        {
            c = c with { NodeId = int.TryParse(nodeId, NumberStyles.Integer, CultureInfo.InvariantCulture, out int id) ? id : throw new ArgumentException($"Invalid value {nodeId} for configuration node.id: not a number of type INT.") };
        }

        try
        {
            if (Parse(RetentionCheckIntervalMsConfig) is { } a) c = c with { RetentionCheckIntervalMs = (long)a };
            if (Parse(FlushSchedulerIntervalMsConfig) is { } b) c = c with { FlushSchedulerIntervalMs = (long)b };
            if (Parse(FlushOffsetCheckpointIntervalMsConfig) is { } d) c = c with { FlushRecoveryOffsetCheckpointIntervalMs = (long)d };
            if (Parse(FlushStartOffsetCheckpointIntervalMsConfig) is { } e) c = c with { FlushStartOffsetCheckpointIntervalMs = (long)e };
            if (Parse(CleanerEnableConfig) is { } f) c = c with { CleanerEnable = (bool)f };
            if (Parse(CleanerBackoffMsConfig) is { } g) c = c with { CleanerBackoffMs = (long)g };
            if (Parse(NumRecoveryThreadsPerDataDirConfig) is { } h) c = c with { RecoveryThreadsPerDataDir = (int)h };
            if (Parse(ProducerIdExpirationMsConfig) is { } j) c = c with { ProducerIdExpirationMs = (long)j };
            if (Parse(ProducerIdExpirationCheckIntervalMsConfig) is { } k) c = c with { ProducerIdExpirationCheckIntervalMs = (long)k };
            if (Parse(BackgroundThreadsConfig) is { } l) c = c with { BackgroundThreads = (int)l };
        }
        catch (ConfigException e)
        {
            throw new ArgumentException(e.Message, nameof(properties), e);
        }

        return c;

        string? Get(string key) => properties.TryGetValue(key, out var v) ? v.Trim() : null;
        object? Parse(string key) => properties.TryGetValue(key, out var v) ? Config.ConfigDef.Parse(ConfigDef[key], v) : null;
    }

    private static T Default<T>(string key) => (T)ConfigDef[key].DefaultValue!;
}

/// <summary>
/// All logs of a broker (Kafka's LogManager): loads every partition directory of every log dir
/// at startup (recovering after an unclean shutdown), creates and deletes logs, runs the
/// background jobs — retention, time-based flush, recovery-point and log-start-offset
/// checkpoints, the cleaner — and shuts down cleanly (flush, close, checkpoints, marker).
/// </summary>
public sealed class LogManager : IAsyncDisposable
{
    private const string DeleteDirSuffix = "-delete";

    private readonly ConcurrentDictionary<TopicPartition, UnifiedLog> _logs = new();
    private readonly ConcurrentDictionary<TopicPartition, long> _firstDirtyOffsets = new();
    private readonly Lock _createLock = new();
    private readonly TimeProvider _time;
    private readonly IStorageLogger _logger;
    private readonly LogCleaner _cleaner;
    private readonly List<Task> _jobs = [];
    private SemaphoreSlim? _backgroundSlots;
    private CancellationTokenSource? _jobsCancellation;
    private bool _started;

    public LogManager(LogManagerConfig config, TimeProvider? time = null, IStorageLogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.LogDirs.Count == 0)
        {
            throw new ArgumentException("log.dirs names no directory.", nameof(config));
        }

        Config = config;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullStorageLogger.Instance;
        _cleaner = new LogCleaner(_time, _logger);
        LogDirs = [.. config.LogDirs.Select(Path.GetFullPath)];
    }

    public LogManagerConfig Config { get; }

    public IReadOnlyList<string> LogDirs { get; }

    public IReadOnlyCollection<UnifiedLog> AllLogs => [.. _logs.Values];

    public LogCleaner Cleaner => _cleaner;

    /// <summary>Per log dir, whether the last shutdown was clean (known after startup).</summary>
    public IReadOnlyDictionary<string, bool> HadCleanShutdown { get; private set; } = new Dictionary<string, bool>();

    /// <summary>
    /// Loads every log of every log dir. A dir without <c>.kafka_cleanshutdown</c> has its logs
    /// recovered from their recovery points; the marker is deleted once the dir is loaded.
    /// </summary>
    public async Task StartupAsync(CancellationToken cancellationToken = default)
    {
        var clean = new Dictionary<string, bool>();
        foreach (var dir in LogDirs)
        {
            Directory.CreateDirectory(dir);
            EnsureMetaProperties(dir);
            bool hadCleanShutdown = CleanShutdownFile.Exists(dir);
            clean[dir] = hadCleanShutdown;
            var recoveryPoints = new OffsetCheckpointFile(Path.Combine(dir, OffsetCheckpointFile.RecoveryPointFileName)).Read();
            var logStartOffsets = new OffsetCheckpointFile(Path.Combine(dir, OffsetCheckpointFile.LogStartOffsetFileName)).Read();
            foreach (var (tp, offset) in new OffsetCheckpointFile(Path.Combine(dir, OffsetCheckpointFile.CleanerOffsetFileName)).Read())
            {
                _firstDirtyOffsets[tp] = offset;
            }

            var partitionDirs = new List<(string Path, TopicPartition Tp)>();
            foreach (var sub in Directory.EnumerateDirectories(dir))
            {
                string name = Path.GetFileName(sub);
                if (name.EndsWith(DeleteDirSuffix, StringComparison.Ordinal))
                {
                    Directory.Delete(sub, recursive: true);
                    continue;
                }

                if (TopicPartition.TryParseDirectoryName(name, out var tp))
                {
                    partitionDirs.Add((sub, tp));
                }
            }

            var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Config.RecoveryThreadsPerDataDir), CancellationToken = cancellationToken };
            await Parallel.ForEachAsync(partitionDirs, options, (p, _) =>
            {
                var log = UnifiedLog.Open(p.Path, Config.DefaultLogConfig, new UnifiedLogOptions
                {
                    HadCleanShutdown = hadCleanShutdown,
                    RecoveryPoint = recoveryPoints.GetValueOrDefault(p.Tp),
                    LogStartOffset = logStartOffsets.GetValueOrDefault(p.Tp),
                    TimeProvider = _time,
                    Logger = _logger,
                    ProducerIdExpirationMs = Config.ProducerIdExpirationMs,
                });
                if (!_logs.TryAdd(p.Tp, log))
                {
                    log.Dispose();
                    throw new KafkaStorageException($"Partition {p.Tp} has logs in two log dirs (found again in {dir}).");
                }

                return ValueTask.CompletedTask;
            }).ConfigureAwait(false);

            _logger.Log(StorageLogLevel.Information, string.Create(CultureInfo.InvariantCulture,
                $"Loaded {partitionDirs.Count} logs from {dir} ({(hadCleanShutdown ? "clean shutdown" : "recovered")})."));
            CheckpointDir(dir);
            if (hadCleanShutdown)
            {
                CleanShutdownFile.Delete(dir);
            }
        }

        HadCleanShutdown = clean;
        _started = true;
    }

    /// <summary>Per-topic overrides can be changed with <see cref="UnifiedLog.UpdateConfig"/> afterwards.</summary>
    public UnifiedLog GetOrCreateLog(TopicPartition topicPartition, LogConfig? config = null, KafkaUuid? topicId = null)
    {
        if (_logs.TryGetValue(topicPartition, out var existing))
        {
            return existing;
        }

        lock (_createLock)
        {
            if (_logs.TryGetValue(topicPartition, out existing))
            {
                return existing;
            }

            string dir = LogDirs.OrderBy(d => _logs.Values.Count(l => l.Dir.StartsWith(d + Path.DirectorySeparatorChar, StringComparison.Ordinal)))
                .First();
            var log = UnifiedLog.Open(Path.Combine(dir, topicPartition.DirectoryName), config ?? Config.DefaultLogConfig, new UnifiedLogOptions
            {
                HadCleanShutdown = true,
                TopicId = topicId,
                TimeProvider = _time,
                Logger = _logger,
                ProducerIdExpirationMs = Config.ProducerIdExpirationMs,
            });
            _logs[topicPartition] = log;
            return log;
        }
    }

    public UnifiedLog? GetLog(TopicPartition topicPartition) => _logs.GetValueOrDefault(topicPartition);

    /// <summary>Removes a partition's log: renamed to <c>&lt;dir&gt;.&lt;id&gt;-delete</c> at once, then deleted.</summary>
    public async Task DeleteLogAsync(TopicPartition topicPartition, CancellationToken cancellationToken = default)
    {
        if (!_logs.TryRemove(topicPartition, out var log))
        {
            return;
        }

        log.Dispose();
        string parent = Path.GetDirectoryName(log.Dir)!;
        string target = Path.Combine(parent, $"{topicPartition.DirectoryName}.{Guid.NewGuid():N}{DeleteDirSuffix}");
        Directory.Move(log.Dir, target);
        _firstDirtyOffsets.TryRemove(topicPartition, out _);
        CheckpointDir(parent);
        await Task.Run(() => Directory.Delete(target, recursive: true), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Truncates logs (replication); the recovery points of their dirs are checkpointed at once.</summary>
    public void TruncateTo(IReadOnlyDictionary<TopicPartition, long> offsets)
    {
        var dirs = new HashSet<string>();
        foreach (var (tp, offset) in offsets)
        {
            if (_logs.TryGetValue(tp, out var log) && log.TruncateTo(offset))
            {
                dirs.Add(Path.GetDirectoryName(log.Dir)!);
                if (_firstDirtyOffsets.TryGetValue(tp, out long dirty) && dirty > offset)
                {
                    _firstDirtyOffsets[tp] = offset;
                }
            }
        }

        foreach (var dir in dirs)
        {
            CheckpointDir(dir);
        }
    }

    // ------------------------------------------------------------------ the jobs, callable directly

    /// <summary>One retention pass over every log; returns the segments deleted.</summary>
    public int CleanupLogs()
    {
        int deleted = 0;
        foreach (var log in _logs.Values)
        {
            try
            {
                deleted += log.DeleteOldSegments();
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or KafkaStorageException)
            {
                _logger.Log(StorageLogLevel.Error, $"Retention of {log.TopicPartition} failed: {e.Message}", e);
            }
        }

        return deleted;
    }

    /// <summary>Flushes every log whose last flush is older than its flush.ms.</summary>
    public void FlushDirtyLogs()
    {
        long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var log in _logs.Values)
        {
            long flushMs = log.Config.FlushMs;
            if (flushMs != long.MaxValue && now - log.LastFlushTimeMs >= flushMs && log.RecoveryPoint < log.LogEndOffset)
            {
                try
                {
                    log.Flush();
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException)
                {
                    _logger.Log(StorageLogLevel.Error, $"Flush of {log.TopicPartition} failed: {e.Message}", e);
                }
            }
        }
    }

    /// <summary>Removes the producer ids idle for producer.id.expiration.ms from every log; returns how many.</summary>
    public int RemoveExpiredProducers()
    {
        int removed = 0;
        foreach (var log in _logs.Values)
        {
            removed += log.RemoveExpiredProducers();
        }

        return removed;
    }

    /// <summary>Writes recovery-point-offset-checkpoint in every log dir.</summary>
    public void CheckpointRecoveryOffsets()
    {
        foreach (var dir in LogDirs)
        {
            WriteCheckpoint(dir, OffsetCheckpointFile.RecoveryPointFileName, l => l.RecoveryPoint);
        }
    }

    /// <summary>Writes log-start-offset-checkpoint in every log dir.</summary>
    public void CheckpointLogStartOffsets()
    {
        foreach (var dir in LogDirs)
        {
            WriteCheckpoint(dir, OffsetCheckpointFile.LogStartOffsetFileName, l => l.LogStartOffset);
        }
    }

    /// <summary>Cleans the compacted log with the highest dirty ratio, if one needs it; returns what it did.</summary>
    public CleanerStats? CleanFilthiestLog(CancellationToken cancellationToken = default)
    {
        UnifiedLog? filthiest = null;
        double best = -1;
        foreach (var log in _logs.Values)
        {
            long firstDirty = FirstDirtyOffset(log);
            if (_cleaner.NeedsCleaning(log, firstDirty))
            {
                double ratio = _cleaner.DirtyRatio(log, firstDirty);
                if (ratio > best)
                {
                    best = ratio;
                    filthiest = log;
                }
            }
        }

        if (filthiest is null)
        {
            return null;
        }

        var stats = _cleaner.Clean(filthiest, FirstDirtyOffset(filthiest), cancellationToken);
        if (stats is not null)
        {
            _firstDirtyOffsets[filthiest.TopicPartition] = stats.FirstUncleanableOffset;
            WriteCheckpoint(Path.GetDirectoryName(filthiest.Dir)!, OffsetCheckpointFile.CleanerOffsetFileName,
                l => _firstDirtyOffsets.TryGetValue(l.TopicPartition, out long o) ? o : -1);
        }

        return stats;
    }

    public long FirstDirtyOffset(UnifiedLog log) =>
        Math.Max(_firstDirtyOffsets.GetValueOrDefault(log.TopicPartition, log.LogStartOffset), log.LogStartOffset);

    /// <summary>Starts the periodic jobs with Kafka's intervals (a job whose interval is long.MaxValue does not run).</summary>
    public void StartBackgroundJobs()
    {
        if (!_started)
        {
            throw new InvalidOperationException("Call StartupAsync before starting the background jobs.");
        }

        if (_jobsCancellation is not null)
        {
            return;
        }

        _jobsCancellation = new CancellationTokenSource();
        // background.threads: at most this many jobs run at once, as Kafka's scheduler has that many threads.
        _backgroundSlots ??= new SemaphoreSlim(Config.BackgroundThreads, Config.BackgroundThreads);
        var token = _jobsCancellation.Token;
        StartJob("kafka-log-retention", Config.RetentionCheckIntervalMs, () => CleanupLogs(), token);
        StartJob("kafka-log-flusher", Config.FlushSchedulerIntervalMs, FlushDirtyLogs, token);
        StartJob("kafka-recovery-point-checkpoint", Config.FlushRecoveryOffsetCheckpointIntervalMs, CheckpointRecoveryOffsets, token);
        StartJob("kafka-log-start-offset-checkpoint", Config.FlushStartOffsetCheckpointIntervalMs, CheckpointLogStartOffsets, token);
        StartJob("PeriodicProducerExpirationCheck", Config.ProducerIdExpirationCheckIntervalMs, () => RemoveExpiredProducers(), token);
        if (Config.CleanerEnable)
        {
            StartJob("kafka-log-cleaner", Config.CleanerBackoffMs, () =>
            {
                while (!token.IsCancellationRequested && CleanFilthiestLog(token) is not null)
                {
                }
            }, token);
        }
    }

    /// <summary>Stops the jobs, flushes and closes every log, writes the checkpoints and the clean-shutdown marker.</summary>
    public async Task ShutdownAsync()
    {
        await StopBackgroundJobsAsync().ConfigureAwait(false);
        foreach (var dir in LogDirs)
        {
            string prefix = dir + Path.DirectorySeparatorChar;
            var logs = _logs.Values.Where(l => l.Dir.StartsWith(prefix, StringComparison.Ordinal)).ToList();
            await Parallel.ForEachAsync(logs, (log, _) =>
            {
                log.Close();
                return ValueTask.CompletedTask;
            }).ConfigureAwait(false);
            CheckpointDir(dir);
            CleanShutdownFile.Write(dir);
        }

        _logs.Clear();
    }

    public async ValueTask DisposeAsync()
    {
        if (_logs.IsEmpty && _jobsCancellation is null)
        {
            return;
        }

        await ShutdownAsync().ConfigureAwait(false);
    }

    private async Task StopBackgroundJobsAsync()
    {
        if (_jobsCancellation is null)
        {
            return;
        }

        await _jobsCancellation.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_jobs).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }

        _jobs.Clear();
        _jobsCancellation.Dispose();
        _jobsCancellation = null;
    }

    private void StartJob(string name, long intervalMs, Action action, CancellationToken token)
    {
        if (intervalMs <= 0 || intervalMs == long.MaxValue)
        {
            return;
        }

        _jobs.Add(Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(intervalMs), _time);
            try
            {
                while (await timer.WaitForNextTickAsync(token).ConfigureAwait(false))
                {
                    SemaphoreSlim slots = _backgroundSlots!;
                    await slots.WaitAsync(token).ConfigureAwait(false);
                    try
                    {
                        action();
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        _logger.Log(StorageLogLevel.Error, $"Background job {name} failed: {e.Message}", e);
                    }
                    finally
                    {
                        slots.Release();
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // Stopping.
            }
        }, CancellationToken.None));
    }

    private void CheckpointDir(string dir)
    {
        WriteCheckpoint(dir, OffsetCheckpointFile.RecoveryPointFileName, l => l.RecoveryPoint);
        WriteCheckpoint(dir, OffsetCheckpointFile.LogStartOffsetFileName, l => l.LogStartOffset);
        WriteCheckpoint(dir, OffsetCheckpointFile.CleanerOffsetFileName, l => _firstDirtyOffsets.TryGetValue(l.TopicPartition, out long o) ? o : -1);
    }

    private void WriteCheckpoint(string dir, string fileName, Func<UnifiedLog, long> offset)
    {
        string prefix = dir + Path.DirectorySeparatorChar;
        var entries = new Dictionary<TopicPartition, long>();
        foreach (var (tp, log) in _logs)
        {
            if (log.Dir.StartsWith(prefix, StringComparison.Ordinal))
            {
                long value = offset(log);
                if (value >= 0)
                {
                    entries[tp] = value;
                }
            }
        }

        new OffsetCheckpointFile(Path.Combine(dir, fileName)).Write(entries);
    }

    private void EnsureMetaProperties(string dir)
    {
        var existing = MetaProperties.Read(dir);
        if (existing is not null)
        {
            if (Config.ClusterId is { } cid && existing.ClusterId != cid)
            {
                throw new KafkaStorageException($"Log dir {dir} belongs to cluster {existing.ClusterId}, not {cid}.");
            }

            if (Config.NodeId >= 0 && existing.NodeId != Config.NodeId)
            {
                throw new KafkaStorageException($"Log dir {dir} belongs to node {existing.NodeId}, not {Config.NodeId}.");
            }

            return;
        }

        if (Config.ClusterId is { } clusterId && Config.NodeId >= 0)
        {
            new MetaProperties(1, clusterId, Config.NodeId, KafkaUuid.NewRandom()).Write(dir);
        }
    }
}
