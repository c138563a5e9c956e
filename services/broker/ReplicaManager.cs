using System.Collections.Concurrent;
using Aspire.Kafka.Metadata;
using Aspire.Kafka.Node;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Records;
using Aspire.Kafka.Storage;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Broker;

/// <summary>
/// The partitions this broker hosts (Kafka's ReplicaManager). Follows the metadata log
/// (<see cref="IMetadataListener"/>): becomes leader, follower, or stops and deletes a replica as
/// the controller decides; applies topic configs at runtime. Serves the data-plane requests
/// (Produce, Fetch, ListOffsets, OffsetForLeaderEpoch, DeleteRecords, DescribeLogDirs) against
/// the logs of <see cref="LogManager"/>, parks acks=all produces and long-polling fetches in
/// purgatories, replicates from leaders through <see cref="ReplicaFetcherManager"/>, and
/// proposes ISR changes through <see cref="AlterPartitionManager"/>.
/// </summary>
public sealed partial class ReplicaManager : IMetadataListener, IAsyncDisposable
{
    private readonly ConcurrentDictionary<TopicPartition, Partition> _partitions = new();
    private readonly Lock _metadataLock = new();
    private readonly List<MetadataUpdate> _pendingUpdates = [];
    private readonly ILogger<ReplicaManager> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<TopicPartition, TopicSettings> _topicSettings = new();
    private Task? _isrExpiration;
    private int _replicationStopped;
    private Task? _highWatermarkCheckpoints;
    private bool _started;
    private MetadataImage _image = MetadataImage.Empty;

    /// <summary>Per-topic broker-side settings that are not part of <see cref="LogConfig"/>.</summary>
    /// <summary>Broker-side settings of a topic; <paramref name="MirrorSource"/> is the source cluster of a mirror topic (aspire.mirror.source), null for an ordinary topic.</summary>
    internal sealed record TopicSettings(int MinInsyncReplicas, CompressionType? TargetCodec, string? MirrorSource = null);

    public ReplicaManager(
        BrokerSettings settings,
        int nodeId,
        LogManager logManager,
        IAlterPartitionChannel alterPartitionChannel,
        IReplicaLeaderEndpoint leaderEndpoint,
        Func<long> brokerEpoch,
        TimeProvider time,
        ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        Settings = settings;
        NodeId = nodeId;
        LogManager = logManager;
        Time = time;
        _logger = loggerFactory.CreateLogger<ReplicaManager>();
        ProducePurgatory = new DelayedOperationPurgatory<DelayedProduce>("Produce", time);
        FetchPurgatory = new DelayedOperationPurgatory<DelayedFetch>("Fetch", time);
        FetchSessions = new FetchSessionCache(settings.MaxIncrementalFetchSessionCacheSlots, time);
        AlterPartitionManager = new AlterPartitionManager(this, alterPartitionChannel, brokerEpoch, loggerFactory.CreateLogger<AlterPartitionManager>());
        FetcherManager = new ReplicaFetcherManager(this, leaderEndpoint, loggerFactory);
        Metrics = new BrokerMetrics(this);
    }

    internal BrokerMetrics Metrics { get; }

    public BrokerSettings Settings { get; }

    public int NodeId { get; }

    public LogManager LogManager { get; }

    public TimeProvider Time { get; }

    /// <summary>The latest metadata image this manager applied.</summary>
    public MetadataImage Image => Volatile.Read(ref _image);

    internal DelayedOperationPurgatory<DelayedProduce> ProducePurgatory { get; }

    internal DelayedOperationPurgatory<DelayedFetch> FetchPurgatory { get; }

    internal FetchSessionCache FetchSessions { get; }

    internal AlterPartitionManager AlterPartitionManager { get; }

    internal ReplicaFetcherManager FetcherManager { get; }

    internal long NowMs => Time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>The hosted partitions.</summary>
    internal IReadOnlyCollection<Partition> Partitions => [.. _partitions.Values];

    internal Partition? GetPartition(TopicPartition tp) => _partitions.GetValueOrDefault(tp);

    internal TopicSettings SettingsFor(TopicPartition tp) =>
        _topicSettings.GetValueOrDefault(tp) ?? new TopicSettings(Settings.MinInsyncReplicas, BrokerSettings.TargetCodec(Settings.CompressionType));

    /// <summary>Loads the logs, starts the storage jobs, the ISR expiration job, and applies metadata that arrived meanwhile.</summary>
    public async Task StartupAsync(CancellationToken cancellationToken)
    {
        await LogManager.StartupAsync(cancellationToken).ConfigureAwait(false);
        LoadHighWatermarks();
        LogManager.StartBackgroundJobs();
        _isrExpiration = Task.Run(() => IsrExpirationLoopAsync(_stopping.Token), CancellationToken.None);
        _highWatermarkCheckpoints = Task.Run(() => HighWatermarkCheckpointLoopAsync(_stopping.Token), CancellationToken.None);
        MetadataUpdate[] pending;
        lock (_metadataLock)
        {
            _started = true;
            pending = [.. _pendingUpdates];
            _pendingUpdates.Clear();
            foreach (MetadataUpdate update in pending)
            {
                Apply(update);
            }
        }

        _logger.LogInformation("Replica manager started with {Logs} logs in {Dirs}.", LogManager.AllLogs.Count, string.Join(',', LogManager.LogDirs));
    }

    public void OnMetadataUpdate(MetadataUpdate update)
    {
        ArgumentNullException.ThrowIfNull(update);
        lock (_metadataLock)
        {
            if (!_started)
            {
                _pendingUpdates.Add(update);
                return;
            }

            Apply(update);
        }
    }

    private void Apply(MetadataUpdate update)
    {
        Volatile.Write(ref _image, update.Image);
        LocalReplicaChanges changes = update.LocalChanges(NodeId);
        long now = NowMs;
        foreach (LocalPartition p in changes.Deletes)
        {
            StopReplica(new TopicPartition(p.TopicName, p.PartitionId));
        }

        foreach (LocalPartition p in changes.Leaders)
        {
            var tp = new TopicPartition(p.TopicName, p.PartitionId);
            Partition? partition = GetOrCreatePartition(tp, p.TopicId, update.Image);
            if (partition is null)
            {
                continue;
            }

            if (p.LeaderChanged || !partition.IsLeader)
            {
                FetcherManager.RemovePartition(tp);
                partition.MakeLeader(p.Partition, now);
                _logger.LogInformation("Leader of {Partition} at epoch {Epoch}, ISR [{Isr}], log end offset {Leo}.",
                    tp, p.Partition.LeaderEpoch, string.Join(',', p.Partition.Isr), partition.LogEndOffset);
            }
            else
            {
                partition.UpdateAssignment(p.Partition);
                partition.MakeLeader(p.Partition, now);
            }

            CompleteDelayedRequests(tp);
        }

        foreach (LocalPartition p in changes.Followers)
        {
            var tp = new TopicPartition(p.TopicName, p.PartitionId);
            Partition? partition = GetOrCreatePartition(tp, p.TopicId, update.Image);
            if (partition is null)
            {
                continue;
            }

            if (p.LeaderChanged || partition.IsLeader || !FetcherManager.Contains(tp, p.Partition.LeaderEpoch))
            {
                partition.MakeFollower(p.Partition);
                FetcherManager.RemovePartition(tp);
                if (p.Partition.Leader >= 0)
                {
                    FetcherManager.AddPartition(tp, p.TopicId, p.Partition.Leader, p.Partition.LeaderEpoch);
                }

                _logger.LogInformation("Follower of {Partition} (leader {Leader}, epoch {Epoch}), log end offset {Leo}.",
                    tp, p.Partition.Leader, p.Partition.LeaderEpoch, partition.LogEndOffset);
            }
            else
            {
                partition.UpdateAssignment(p.Partition);
            }

            CompleteDelayedRequests(tp);
        }

        if (!ReferenceEquals(update.Image.Configs, update.Previous.Configs))
        {
            foreach (Partition partition in _partitions.Values)
            {
                ApplyTopicConfig(partition, update.Image);
            }
        }
    }

    private Partition? GetOrCreatePartition(TopicPartition tp, KafkaUuid topicId, MetadataImage image)
    {
        if (_partitions.TryGetValue(tp, out Partition? existing))
        {
            return existing;
        }

        try
        {
            (LogConfig config, TopicSettings topicSettings) = TopicConfig(tp.Topic, image);
            UnifiedLog log = LogManager.GetOrCreateLog(tp, config, topicId);
            log.UpdateConfig(config);
            var partition = new Partition(tp, topicId, log, NodeId) { MinInsyncReplicas = topicSettings.MinInsyncReplicas };
            _topicSettings[tp] = topicSettings;
            _partitions[tp] = partition;
            return partition;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or KafkaStorageException)
        {
            _logger.LogError(e, "Cannot create the log of {Partition}: {Message}", tp, e.Message);
            return null;
        }
    }

    private void ApplyTopicConfig(Partition partition, MetadataImage image)
    {
        (LogConfig config, TopicSettings topicSettings) = TopicConfig(partition.TopicPartition.Topic, image);
        if (config != partition.Log.Config)
        {
            partition.Log.UpdateConfig(config);
            _logger.LogInformation("Applied the configuration of topic {Topic} to {Partition}.", partition.TopicPartition.Topic, partition.TopicPartition);
        }

        partition.MinInsyncReplicas = topicSettings.MinInsyncReplicas;
        _topicSettings[partition.TopicPartition] = topicSettings;
    }

    /// <summary>
    /// The log config and broker-side settings of a topic, Kafka's precedence: the topic's dynamic
    /// configs, then this broker's dynamic configs, then the cluster-wide dynamic defaults, then
    /// the static broker configuration.
    /// </summary>
    internal (LogConfig Config, TopicSettings Settings) TopicConfig(string topic, MetadataImage image)
    {
        LogConfig config = LogManager.Config.DefaultLogConfig;
        int minIsr = Settings.MinInsyncReplicas;
        CompressionType? codec = BrokerSettings.TargetCodec(Settings.CompressionType);
        foreach ((string what, IReadOnlyDictionary<string, string> overrides) in new (string, IReadOnlyDictionary<string, string>)[]
        {
            ("the cluster default", image.Configs.ConfigMap(ConfigResource.ClusterDefault)),
            ($"broker {NodeId}", image.Configs.ConfigMap(ConfigResource.Broker(NodeId))),
            ($"topic {topic}", image.Configs.ConfigMap(ConfigResource.Topic(topic))),
        })
        {
            if (overrides.Count == 0)
            {
                continue;
            }

            try
            {
                config = LogConfig.FromProperties(overrides, config);
            }
            catch (ArgumentException e)
            {
                _logger.LogError("The dynamic configuration of {What} is invalid and is not applied to {Topic}: {Message}", what, topic, e.Message);
            }

            if (overrides.TryGetValue(BrokerConfig.MinInsyncReplicas, out string? m))
            {
                if (int.TryParse(m, System.Globalization.CultureInfo.InvariantCulture, out int parsed) && parsed >= 1)
                {
                    minIsr = parsed;
                }
                else
                {
                    _logger.LogError("The dynamic configuration of {What} has an invalid min.insync.replicas {Value}; keeping {Current}.", what, m, minIsr);
                }
            }

            if (overrides.TryGetValue(BrokerConfig.CompressionTypeKey, out string? c))
            {
                try
                {
                    codec = BrokerSettings.TargetCodec(c);
                }
                catch (ArgumentException e)
                {
                    _logger.LogError("The dynamic configuration of {What}: {Message}", what, e.Message);
                }
            }
        }

        string? mirrorSource = image.Configs.ConfigMap(ConfigResource.Topic(topic)).GetValueOrDefault(LogConfig.MirrorSourceConfig) is { Length: > 0 } alias ? alias : null;
        return (config, new TopicSettings(minIsr, codec, mirrorSource));
    }

    private void StopReplica(TopicPartition tp)
    {
        FetcherManager.RemovePartition(tp);
        if (_partitions.TryRemove(tp, out _))
        {
            _topicSettings.TryRemove(tp, out _);
            CompleteDelayedRequests(tp);
            _logger.LogInformation("Stopped the replica of {Partition} and deleting its log.", tp);
            _ = DeleteLogAsync(tp);
        }
    }

    private async Task DeleteLogAsync(TopicPartition tp)
    {
        try
        {
            await LogManager.DeleteLogAsync(tp, _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OperationCanceledException or KafkaStorageException)
        {
            _logger.LogWarning("Deleting the log of {Partition} failed: {Message}", tp, e.Message);
        }
    }

    /// <summary>Wakes the delayed produces and fetches watching a partition.</summary>
    internal void CompleteDelayedRequests(TopicPartition tp)
    {
        ProducePurgatory.CheckAndComplete(tp);
        FetchPurgatory.CheckAndComplete(tp);
    }

    private async Task IsrExpirationLoopAsync(CancellationToken cancellationToken)
    {
        long interval = Math.Max(1, Settings.ReplicaLagTimeMaxMs / 2);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(interval), Time, cancellationToken).ConfigureAwait(false);
                MaybeShrinkIsr();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Kafka's replication-offset-checkpoint: the high watermark of every log, per log dir.</summary>
    internal void CheckpointHighWatermarks()
    {
        foreach (string dir in LogManager.LogDirs)
        {
            string prefix = dir + Path.DirectorySeparatorChar;
            var offsets = LogManager.AllLogs.Where(l => l.Dir.StartsWith(prefix, StringComparison.Ordinal))
                .ToDictionary(l => l.TopicPartition, l => l.HighWatermark);
            try
            {
                new OffsetCheckpointFile(Path.Combine(dir, OffsetCheckpointFile.ReplicationOffsetFileName)).Write(offsets);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _logger.LogError("Writing the high watermark checkpoint of {Dir} failed: {Message}", dir, e.Message);
            }
        }
    }

    private void LoadHighWatermarks()
    {
        foreach (string dir in LogManager.LogDirs)
        {
            Dictionary<TopicPartition, long> offsets;
            try
            {
                offsets = new OffsetCheckpointFile(Path.Combine(dir, OffsetCheckpointFile.ReplicationOffsetFileName)).Read();
            }
            catch (Exception e) when (e is IOException or FormatException or KafkaStorageException)
            {
                _logger.LogWarning("Ignoring the high watermark checkpoint of {Dir}: {Message}", dir, e.Message);
                continue;
            }

            foreach ((TopicPartition tp, long hw) in offsets)
            {
                LogManager.GetLog(tp)?.UpdateHighWatermark(hw);
            }
        }
    }

    private async Task HighWatermarkCheckpointLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Settings.HighWatermarkCheckpointIntervalMs), Time, cancellationToken).ConfigureAwait(false);
                CheckpointHighWatermarks();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Proposes the removal of followers that have not caught up within replica.lag.time.max.ms (Kafka's maybeShrinkIsr).</summary>
    internal void MaybeShrinkIsr()
    {
        long now = NowMs;
        foreach (Partition partition in _partitions.Values)
        {
            IReadOnlyList<int>? shrunk = partition.MaybeShrinkIsr(now, Settings.ReplicaLagTimeMaxMs);
            if (shrunk is not null)
            {
                _logger.LogInformation("Shrinking the ISR of {Partition} from [{Old}] to [{New}].",
                    partition.TopicPartition, string.Join(',', partition.Isr), string.Join(',', shrunk));
                Metrics.IsrShrinks.Add(1);
                AlterPartitionManager.Submit(partition, shrunk);
            }
        }
    }

    /// <summary>The current leader of a partition as the metadata says, for NOT_LEADER_OR_FOLLOWER hints.</summary>
    internal (int LeaderId, int LeaderEpoch) LeaderHint(TopicPartition tp)
    {
        PartitionRegistration? registration = Image.Topics.GetTopic(tp.Topic)?.Partition(tp.Partition);
        return registration is null ? (-1, -1) : (registration.Leader, registration.LeaderEpoch);
    }

    /// <summary>The endpoint of a node on a listener (for NodeEndpoints hints).</summary>
    internal Metadata.Endpoint? EndpointOf(int nodeId, string? listenerName)
    {
        BrokerRegistration? node = Image.Cluster.Broker(nodeId);
        if (node is null)
        {
            return null;
        }

        return (listenerName is null ? null : node.Listener(listenerName)) ?? (node.Listeners.Count > 0 ? node.Listeners[0] : null);
    }

    /// <summary>Why a partition this broker does not lead cannot be served: unknown, or not the leader.</summary>
    internal ErrorCode MissingPartitionError(TopicPartition tp)
    {
        TopicImage? topic = Image.Topics.GetTopic(tp.Topic);
        return topic?.Partition(tp.Partition) is null ? ErrorCode.UnknownTopicOrPartition : ErrorCode.NotLeaderOrFollower;
    }

    /// <summary>
    /// The check every partition request starts with: this broker has the partition, leads it (unless
    /// <paramref name="anyReplica"/>), and at the client's <paramref name="currentLeaderEpoch"/> (-1: not
    /// checked). <see cref="ErrorCode.None"/> with the partition, or the error to answer.
    /// </summary>
    internal ErrorCode CheckLeader(TopicPartition tp, int currentLeaderEpoch, out Partition? partition, bool anyReplica = false)
    {
        partition = GetPartition(tp);
        if (partition is null || (!partition.IsLeader && !anyReplica))
        {
            return partition is null ? MissingPartitionError(tp) : ErrorCode.NotLeaderOrFollower;
        }

        if (currentLeaderEpoch >= 0 && currentLeaderEpoch != partition.LeaderEpoch)
        {
            return currentLeaderEpoch < partition.LeaderEpoch ? ErrorCode.FencedLeaderEpoch : ErrorCode.UnknownLeaderEpoch;
        }

        return ErrorCode.None;
    }

    /// <summary>Stops the replica fetchers and closes their connections (after the controlled shutdown).</summary>
    public async Task StopReplicationAsync()
    {
        if (Interlocked.Exchange(ref _replicationStopped, 1) != 0)
        {
            return;
        }

        await FetcherManager.ShutdownAsync().ConfigureAwait(false);
    }

    public async Task ShutdownAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await StopReplicationAsync().ConfigureAwait(false);
        ProducePurgatory.CompleteAll();
        FetchPurgatory.CompleteAll();
        if (_isrExpiration is not null)
        {
            await _isrExpiration.ConfigureAwait(false);
        }

        if (_highWatermarkCheckpoints is not null)
        {
            await _highWatermarkCheckpoints.ConfigureAwait(false);
            CheckpointHighWatermarks();
        }

        await LogManager.ShutdownAsync().ConfigureAwait(false);
        _logger.LogInformation("Replica manager stopped; logs closed cleanly.");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopping.IsCancellationRequested)
        {
            await ShutdownAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
        Metrics.Dispose();
    }
}
