using System.Collections.Concurrent;
using System.Threading.Channels;
using Aspire.Kafka.Client;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Config;

namespace Aspire.Kafka.Mirror;

/// <summary>
/// The mirror of one source cluster on one target cluster (README.md has the design):
/// <list type="bullet">
/// <item>every <c>refresh.topics.interval.ms</c> (and when a fetcher asks), the selected source
/// topics get a mirror topic on the target with the same name, partition count and topic configs,
/// marked <c>aspire.mirror.source = source.cluster.alias</c> (read-only for producers); a topic
/// the target already has is used only if it carries that marker and not more partitions;</item>
/// <item>a <see cref="SourceFetcher"/> per source broker copies the partitions it leads;</item>
/// <item>every <c>sync.topic.configs.interval.ms</c> the topics' configs are copied again;</item>
/// <item>the <see cref="GroupOffsetSync"/> writes the selected groups' committed offsets;</item>
/// <item>the control operations (pause, resume, failover, promote) change partition states, and
/// failover removes the marker so the target topics take producers.</item>
/// </list>
/// </summary>
public sealed partial class MirrorService : BackgroundService
{
    private readonly ConcurrentDictionary<(string Topic, int Partition), MirrorPartition> _partitions = new();
    private readonly ConcurrentDictionary<int, (Task Run, CancellationTokenSource Stop)> _fetchers = new();
    private readonly ConcurrentDictionary<string, string> _refusedTopics = new(StringComparer.Ordinal);
    private readonly Channel<bool> _refresh = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ILogger<MirrorService> _logger;
    private readonly ILoggerFactory _loggerFactory;
    private readonly TimeProvider _time;
    private DateTimeOffset _lastConfigSync = DateTimeOffset.MinValue;
    private CancellationToken _stopping;

    public MirrorService(MirrorSettings settings, MirrorMetrics metrics, TimeProvider time, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Settings = settings;
        Metrics = metrics;
        _time = time;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<MirrorService>();
        Source = new KafkaClient(ClientOptions(settings.SourceBootstrap, $"mirror-{settings.SourceAlias}-to-{settings.TargetAlias}-source"), time, loggerFactory);
        Target = new KafkaClient(ClientOptions(settings.TargetBootstrap, $"mirror-{settings.SourceAlias}-to-{settings.TargetAlias}-target"), time, loggerFactory);
        metrics.Observe(this);
    }

    public MirrorSettings Settings { get; }

    public MirrorMetrics Metrics { get; }

    public KafkaClient Source { get; }

    public KafkaClient Target { get; }

    /// <summary>The mirror partitions, in topic and partition order.</summary>
    public IReadOnlyList<MirrorPartition> Partitions => [.. _partitions.Values.OrderBy(p => p.Topic, StringComparer.Ordinal).ThenBy(p => p.Partition)];

    /// <summary>Topics the mirror refuses to write to, with the reason (a target topic that is not its mirror…).</summary>
    public IReadOnlyDictionary<string, string> RefusedTopics => _refusedTopics;

    /// <summary>When the last topic refresh finished without error (null before the first).</summary>
    public DateTimeOffset? LastRefresh { get; private set; }

    /// <summary>The last topic refresh's error, null when it succeeded.</summary>
    public string? LastRefreshError { get; private set; }

    public long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Asks for a metadata refresh (leader changes, new partitions) before the next interval.</summary>
    public void RequestRefresh() => _refresh.Writer.TryWrite(true);

    /// <summary>The partitions <paramref name="sourceBroker"/> leads that are being mirrored.</summary>
    internal List<MirrorPartition> PartitionsLedBy(int sourceBroker) =>
        [.. _partitions.Values.Where(p => p.SourceLeader == sourceBroker && p.State == MirrorState.Mirroring)];

    /// <summary>Stops a partition on an error the operator must look at.</summary>
    internal void Fail(MirrorPartition partition, string reason)
    {
        partition.State = MirrorState.Failed;
        partition.Reason = reason;
        LogPartitionFailed(partition.Topic, partition.Partition, reason);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _stopping = stoppingToken;
        LogStarting(Settings.SourceAlias, string.Join(',', Settings.SourceBootstrap), Settings.TargetAlias, string.Join(',', Settings.TargetBootstrap));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RefreshAsync(stoppingToken).ConfigureAwait(false);
                LastRefresh = _time.GetUtcNow();
                LastRefreshError = null;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is KafkaClientException or IOException or TimeoutException)
            {
                LastRefreshError = e.Message;
                LogRefreshFailed(e.Message);
            }

            using var interval = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            interval.CancelAfter(LastRefreshError is null ? Settings.RefreshTopicsInterval : Settings.RetryBackoff);
            try
            {
                await _refresh.Reader.ReadAsync(interval.Token).ConfigureAwait(false);
                // Several requests in a burst (every partition of a moved leader) make one refresh, after a short pause.
                await Task.Delay(Settings.RetryBackoff / 5, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
            {
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        foreach ((Task run, CancellationTokenSource stop) in _fetchers.Values)
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await run.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            stop.Dispose();
        }
    }

    /// <summary>One round of topic selection, mirror topic creation and checks, config sync, and fetcher assignment.</summary>
    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        using System.Diagnostics.Activity? span = MirrorTelemetry.Source.StartActivity("mirror.refresh");
        ClusterMetadata source = await Source.RefreshMetadataAsync(null, cancellationToken).ConfigureAwait(false);
        List<TopicMetadata> selected = [.. source.Topics.Values.Where(t => t.Error == ErrorCode.None && Settings.Topics.Matches(t.Name)).OrderBy(t => t.Name, StringComparer.Ordinal)];
        ClusterMetadata target = await Target.RefreshMetadataAsync([.. selected.Select(t => t.Name)], cancellationToken).ConfigureAwait(false);

        bool syncConfigs = _time.GetUtcNow() - _lastConfigSync >= Settings.SyncTopicConfigsInterval;
        IReadOnlyDictionary<string, TopicConfigs> sourceConfigs = selected.Count == 0
            ? new Dictionary<string, TopicConfigs>()
            : await Source.DescribeTopicConfigsAsync(selected.Select(t => t.Name), cancellationToken).ConfigureAwait(false);
        List<string> existing = [.. selected.Where(t => target.Topics.GetValueOrDefault(t.Name) is { Error: ErrorCode.None }).Select(t => t.Name)];
        IReadOnlyDictionary<string, TopicConfigs> targetConfigs = existing.Count == 0
            ? new Dictionary<string, TopicConfigs>()
            : await Target.DescribeTopicConfigsAsync(existing, cancellationToken).ConfigureAwait(false);

        var toCreate = new List<NewTopic>();
        var toGrow = new Dictionary<string, int>();
        var configChanges = new Dictionary<string, IReadOnlyDictionary<string, string?>>();
        foreach (TopicMetadata topic in selected)
        {
            IReadOnlyDictionary<string, string?> wanted = sourceConfigs.GetValueOrDefault(topic.Name)?.SetOnTopic ?? new Dictionary<string, string?>();
            wanted = wanted.Where(c => c.Key != ServerConfigs.MirrorSourceTopicConfig).ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal);
            if (!target.Topics.TryGetValue(topic.Name, out TopicMetadata? mirror) || mirror.Error == ErrorCode.UnknownTopicOrPartition)
            {
                var configs = new Dictionary<string, string?>(wanted, StringComparer.Ordinal) { [ServerConfigs.MirrorSourceTopicConfig] = Settings.SourceAlias };
                toCreate.Add(new NewTopic(topic.Name, topic.Partitions.Count, -1, configs));
                continue;
            }

            if (_partitions.Values.Any(p => p.Topic == topic.Name && p.State == MirrorState.FailedOver))
            {
                continue; // failed over: the topic is the target's own now
            }

            IReadOnlyDictionary<string, string?> has = targetConfigs.GetValueOrDefault(topic.Name)?.SetOnTopic ?? new Dictionary<string, string?>();
            string? marker = has.GetValueOrDefault(ServerConfigs.MirrorSourceTopicConfig);
            if (marker != Settings.SourceAlias)
            {
                Refuse(topic.Name, marker is null or ""
                    ? $"the target cluster already has a topic {topic.Name} that is not a mirror (no {ServerConfigs.MirrorSourceTopicConfig}); it is never overwritten"
                    : $"the target topic {topic.Name} mirrors cluster '{marker}', not '{Settings.SourceAlias}'");
                continue;
            }

            if (mirror.Partitions.Count > topic.Partitions.Count)
            {
                Refuse(topic.Name, $"the target topic {topic.Name} has {mirror.Partitions.Count} partitions, the source {topic.Partitions.Count}: partitions cannot be removed");
                continue;
            }

            _refusedTopics.TryRemove(topic.Name, out _);
            if (mirror.Partitions.Count < topic.Partitions.Count)
            {
                toGrow[topic.Name] = topic.Partitions.Count;
            }

            if (syncConfigs)
            {
                var change = new Dictionary<string, string?>(StringComparer.Ordinal);
                foreach ((string key, string? value) in wanted.Where(w => has.GetValueOrDefault(w.Key) != w.Value))
                {
                    change[key] = value;
                }

                foreach (string removed in has.Keys.Where(k => k != ServerConfigs.MirrorSourceTopicConfig && !wanted.ContainsKey(k)))
                {
                    change[removed] = null;
                }

                if (change.Count > 0)
                {
                    configChanges[topic.Name] = change;
                }
            }

            foreach (PartitionMetadata p in topic.Partitions.Where(p => p.Partition < mirror.Partitions.Count))
            {
                MirrorPartition partition = _partitions.GetOrAdd((topic.Name, p.Partition), key => new MirrorPartition(key.Topic, key.Partition));
                if (partition.SourceLeader != p.LeaderId)
                {
                    partition.SourceLeader = p.LeaderId;
                }
            }
        }

        await ApplyAsync(toCreate, toGrow, configChanges, cancellationToken).ConfigureAwait(false);
        if (syncConfigs)
        {
            _lastConfigSync = _time.GetUtcNow();
        }

        foreach (MirrorPartition p in _partitions.Values.Where(p => p.State is MirrorState.Mirroring or MirrorState.Paused && !source.Topics.ContainsKey(p.Topic)))
        {
            p.State = MirrorState.SourceDeleted;
            p.Reason = "the source topic was deleted; the mirror stopped and the target keeps its data";
            LogSourceDeleted(p.Topic, p.Partition);
        }

        StartFetchers();
        span?.SetTag("mirror.topics", selected.Count);
        span?.SetTag("mirror.partitions", _partitions.Count);
    }

    private async Task ApplyAsync(List<NewTopic> toCreate, Dictionary<string, int> toGrow, Dictionary<string, IReadOnlyDictionary<string, string?>> configChanges, CancellationToken cancellationToken)
    {
        if (toCreate.Count > 0)
        {
            foreach (TopicResult created in await Target.CreateTopicsAsync(toCreate, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (created.Error is ErrorCode.None)
                {
                    LogCreated(created.Name, created.NumPartitions, Settings.SourceAlias);
                }
                else if (created.Error != ErrorCode.TopicAlreadyExists)
                {
                    Refuse(created.Name, $"creating the mirror topic failed: {created.Error} {created.ErrorMessage}");
                }
            }

            RequestRefresh(); // pick the new topics' partitions up at once
        }

        if (toGrow.Count > 0)
        {
            foreach (TopicResult grown in await Target.CreatePartitionsAsync(toGrow, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (grown.Error == ErrorCode.None)
                {
                    LogGrown(grown.Name, toGrow[grown.Name]);
                }
                else
                {
                    LogGrowFailed(grown.Name, grown.Error, grown.ErrorMessage);
                }
            }

            RequestRefresh();
        }

        if (configChanges.Count > 0)
        {
            foreach (TopicResult altered in await Target.AlterTopicConfigsAsync(configChanges, cancellationToken).ConfigureAwait(false))
            {
                if (altered.Error == ErrorCode.None)
                {
                    LogConfigsSynced(altered.Name, string.Join(", ", configChanges[altered.Name].Select(c => c.Value is null ? $"-{c.Key}" : $"{c.Key}={c.Value}")));
                }
                else
                {
                    LogConfigSyncFailed(altered.Name, altered.Error, altered.ErrorMessage);
                }
            }
        }
    }

    private void Refuse(string topic, string reason)
    {
        if (_refusedTopics.TryGetValue(topic, out string? known) && known == reason)
        {
            return;
        }

        _refusedTopics[topic] = reason;
        LogRefused(topic, reason);
    }

    /// <summary>One fetcher per source broker that leads a mirrored partition.</summary>
    private void StartFetchers()
    {
        foreach (int broker in _partitions.Values.Where(p => p.State == MirrorState.Mirroring && p.SourceLeader >= 0).Select(p => p.SourceLeader).Distinct())
        {
            if (_fetchers.TryGetValue(broker, out var running) && !running.Run.IsCompleted)
            {
                continue;
            }

            running.Stop?.Dispose();
            var stop = CancellationTokenSource.CreateLinkedTokenSource(_stopping);
            var fetcher = new SourceFetcher(broker, this, _loggerFactory.CreateLogger<SourceFetcher>());
            _fetchers[broker] = (Task.Run(() => fetcher.RunAsync(stop.Token), CancellationToken.None), stop);
        }
    }

    /// <summary>Pauses (or resumes) the mirroring of the partitions of <paramref name="topics"/> (all when null); returns the partitions changed.</summary>
    public IReadOnlyList<MirrorPartition> SetPaused(IReadOnlyCollection<string>? topics, bool paused)
    {
        var changed = new List<MirrorPartition>();
        foreach (MirrorPartition p in Select(topics))
        {
            if (paused && p.State == MirrorState.Mirroring)
            {
                p.State = MirrorState.Paused;
                changed.Add(p);
            }
            else if (!paused && p.State == MirrorState.Paused)
            {
                p.State = MirrorState.Mirroring;
                p.NextOffset = -1; // read the target's end again
                changed.Add(p);
            }
        }

        if (!paused)
        {
            StartFetchers();
        }

        return changed;
    }

    /// <summary>
    /// Failover (the disaster case): stops mirroring <paramref name="topics"/> (all when null) now and
    /// makes the target topics writable by removing their <c>aspire.mirror.source</c> marker. Returns
    /// each topic with the offsets its partitions had reached (the end of the mirrored data).
    /// </summary>
    public async Task<IReadOnlyList<MirrorPartition>> FailoverAsync(IReadOnlyCollection<string>? topics, CancellationToken cancellationToken)
    {
        List<MirrorPartition> chosen = [.. Select(topics).Where(p => p.State != MirrorState.FailedOver)];
        foreach (MirrorPartition p in chosen)
        {
            p.State = MirrorState.FailedOver;
        }

        var unmark = chosen.Select(p => p.Topic).Distinct().ToDictionary(t => t, _ => (IReadOnlyDictionary<string, string?>)new Dictionary<string, string?> { [ServerConfigs.MirrorSourceTopicConfig] = null });
        if (unmark.Count > 0)
        {
            foreach (TopicResult result in await Target.AlterTopicConfigsAsync(unmark, cancellationToken).ConfigureAwait(false))
            {
                if (result.Error != ErrorCode.None)
                {
                    throw new InvalidOperationException($"Failing over {result.Name} failed: {result.Error} {result.ErrorMessage}");
                }

                LogFailedOver(result.Name);
            }
        }

        return chosen;
    }

    private IEnumerable<MirrorPartition> Select(IReadOnlyCollection<string>? topics) =>
        _partitions.Values.Where(p => topics is null || topics.Contains(p.Topic));

    private static KafkaClientOptions ClientOptions(IReadOnlyList<string> bootstrap, string clientId) => new()
    {
        BootstrapServers = bootstrap,
        ClientId = clientId,
        ClientSoftwareName = "aspire-kafka-mirror",
    };

    public override void Dispose()
    {
        Source.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Target.DisposeAsync().AsTask().GetAwaiter().GetResult();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Mirroring cluster {Source} ({SourceBootstrap}) to cluster {Target} ({TargetBootstrap}).")]
    private partial void LogStarting(string source, string sourceBootstrap, string target, string targetBootstrap);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refreshing the mirror topics failed, retrying: {Reason}")]
    private partial void LogRefreshFailed(string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Created mirror topic {Topic} ({Partitions} partitions) on the target, mirroring cluster {Source}.")]
    private partial void LogCreated(string topic, int partitions, string source);

    [LoggerMessage(Level = LogLevel.Information, Message = "Mirror topic {Topic} grew to {Partitions} partitions, as its source.")]
    private partial void LogGrown(string topic, int partitions);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Adding partitions to mirror topic {Topic} failed: {Error} {Message}")]
    private partial void LogGrowFailed(string topic, ErrorCode error, string? message);

    [LoggerMessage(Level = LogLevel.Information, Message = "Mirror topic {Topic}: configs synced from the source ({Changes}).")]
    private partial void LogConfigsSynced(string topic, string changes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Mirror topic {Topic}: syncing configs failed: {Error} {Message}")]
    private partial void LogConfigSyncFailed(string topic, ErrorCode error, string? message);

    [LoggerMessage(Level = LogLevel.Error, Message = "Not mirroring {Topic}: {Reason}.")]
    private partial void LogRefused(string topic, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Mirror partition {Topic}-{Partition} stopped: {Reason}.")]
    private partial void LogPartitionFailed(string topic, int partition, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Source topic of {Topic}-{Partition} was deleted: the mirror stopped, the target keeps its data.")]
    private partial void LogSourceDeleted(string topic, int partition);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed over {Topic}: mirroring stopped, the target topic takes producers now.")]
    private partial void LogFailedOver(string topic);
}
