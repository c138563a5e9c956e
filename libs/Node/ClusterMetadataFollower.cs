using System.Threading.Channels;
using Aspire.Kafka.Client;
using Aspire.Kafka.Metadata;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Raft;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Node;

/// <summary>
/// How a broker or coordinator follows <c>__cluster_metadata</c> (Kafka's KafkaRaftClient in
/// observer mode + MetadataLoader + publishers): a <see cref="KafkaRaftCore"/> that is not a
/// voter fetches the log from the Raft leader (asking the voters in turn when it knows none),
/// truncates on divergence and installs the leader's snapshot when it is behind the log start,
/// exactly as a voter's follower state does. The log is kept in memory (a restarted node
/// re-fetches it, as a fresh Kafka observer would). Committed records are applied to a
/// <see cref="MetadataLoader"/>; every <see cref="IMetadataListener"/> sees each update in log
/// order on this loop. As Kafka's brokers do (KIP-630), the node snapshots its applied image by
/// <see cref="SnapshotPolicy"/> (metadata.log.max.record.bytes.between.snapshots,
/// metadata.log.max.snapshot.interval.ms), which drops the log entries below the snapshot: the
/// log only grows (a NoOpRecord every metadata.max.idle.interval.ms when nothing else happens),
/// so without it a long-running node's memory would too.
/// </summary>
public sealed partial class ClusterMetadataFollower : BackgroundService
{
    private const int MaxLoopWaitMs = 50;

    private readonly NodeSettings _settings;
    private readonly IServiceProvider _services;
    private IReadOnlyList<IMetadataListener> _listeners = [];
    private readonly ILogger<ClusterMetadataFollower> _logger;
    private readonly Channel<RaftEnvelope> _responses = Channel.CreateUnbounded<RaftEnvelope>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<int, KafkaNode> _voters;
    private readonly NetworkClient _client;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<(Func<MetadataImage, bool> Condition, TaskCompletionSource<MetadataImage> Done)> _waiters = [];
    private readonly MetadataLoader _loader = new();
    private readonly InMemoryRaftLog _log = new();
    private KafkaRaftCore? _core;
    private long _appliedOffset;
    private volatile MetadataImage _image = MetadataImage.Empty;
    private volatile int _leaderId = -1;
    private long _highWatermark;
    private int _snapshotsLoaded;
    private int _snapshotsCreated;
    private long _logStartOffset;
    private volatile byte[]? _latestSnapshot;
    private readonly SnapshotPolicy _snapshotPolicy;

    public ClusterMetadataFollower(NodeSettings settings, IServiceProvider services, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _settings = settings;
        _services = services;
        _logger = loggerFactory.CreateLogger<ClusterMetadataFollower>();
        _voters = settings.Voters.ToDictionary(v => v.Id);
        _snapshotPolicy = new SnapshotPolicy(settings.MaxRecordBytesBetweenSnapshots, settings.MaxSnapshotIntervalMs, NowMs);
        _client = new NetworkClient(new KafkaClientOptions
        {
            ClientId = $"raft-observer-{settings.NodeId}",
            ClientSoftwareName = "aspire-kafka-node",
            RequestTimeout = TimeSpan.FromMilliseconds(settings.RequestTimeoutMs + 500),
            SocketConnectionSetupTimeout = TimeSpan.FromMilliseconds(settings.RequestTimeoutMs),
            ReconnectBackoff = TimeSpan.FromMilliseconds(settings.RetryBackoffMs),
            ReconnectBackoffMax = TimeSpan.FromMilliseconds(500),
        }, loggerFactory: loggerFactory);
    }

    /// <summary>The latest applied image (<see cref="MetadataImage.Empty"/> until the first committed batch).</summary>
    public MetadataImage Image => _image;

    /// <summary>The Raft leader (the active controller) this node knows, or -1.</summary>
    public int LeaderId => _leaderId;

    /// <summary>The quorum's high watermark as last learned.</summary>
    public long HighWatermark => Interlocked.Read(ref _highWatermark);

    /// <summary>The offset after the last applied record (what heartbeats report as the current metadata offset + 1).</summary>
    public long AppliedOffset => Interlocked.Read(ref _appliedOffset);

    /// <summary>How many leader snapshots this node installed (it was behind the leader's log start).</summary>
    public int SnapshotsLoaded => Volatile.Read(ref _snapshotsLoaded);

    /// <summary>How many snapshots of its own applied image this node made (each dropped the log entries below it).</summary>
    public int SnapshotsCreated => Volatile.Read(ref _snapshotsCreated);

    /// <summary>The first offset this node still holds as a log entry (the latest snapshot's end, or 0).</summary>
    public long LogStartOffset => Interlocked.Read(ref _logStartOffset);

    /// <summary>The latest snapshot this node made, in Kafka's snapshot format (null before the first).</summary>
    internal byte[]? LatestSnapshot => _latestSnapshot;

    /// <summary>
    /// Completes when an applied image satisfies <paramref name="condition"/> (checked at once and
    /// after every update). A canceled wait is forgotten, so waits that time out (a request
    /// handler's deadline) do not pile up while the condition stays false.
    /// </summary>
    public Task<MetadataImage> WaitForAsync(Func<MetadataImage, bool> condition, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var done = new TaskCompletionSource<MetadataImage>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waiters)
        {
            MetadataImage now = _image;
            if (condition(now))
            {
                return Task.FromResult(now);
            }

            _waiters.Add((condition, done));
        }

        return cancellationToken.CanBeCanceled ? ForgetWhenCanceledAsync(done, cancellationToken) : done.Task;
    }

    private async Task<MetadataImage> ForgetWhenCanceledAsync(TaskCompletionSource<MetadataImage> done, CancellationToken cancellationToken)
    {
        try
        {
            return await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            lock (_waiters)
            {
                _waiters.RemoveAll(w => w.Done == done);
            }

            throw;
        }
    }

    /// <summary>A controller said it is not the active one: stop routing controller requests to it until the log says otherwise.</summary>
    internal void ForgetLeader(int id) => Interlocked.CompareExchange(ref _leaderId, -1, id);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void Dispose()
    {
        _stopping.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        // Resolved here, not in the constructor: listeners (the ReplicaManager) depend on the
        // ControllerChannel, which depends on this follower for the leader id.
        _listeners = [.. _services.GetServices<IMetadataListener>()];
        var config = new RaftConfig
        {
            NodeId = _settings.NodeId,
            Voters = [.. _settings.Voters.Select(v => v.Id)],
            FetchTimeoutMs = _settings.FetchTimeoutMs,
            RequestTimeoutMs = _settings.RequestTimeoutMs,
            RetryBackoffMs = _settings.RetryBackoffMs,
        };
        _core = new KafkaRaftCore(config, _log, new InMemoryQuorumStateStore(), new Random(), NowMs);
        LogStarted(_settings.NodeId, string.Join(',', _settings.Voters.Select(v => $"{v.Id}@{v.Endpoint}")));
        try
        {
            DrainReady();
            await RunLoopAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            LogLoopFailed(e);
            throw;
        }
        finally
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
            await _client.DisposeAsync().ConfigureAwait(false);
            lock (_waiters)
            {
                foreach ((_, TaskCompletionSource<MetadataImage> done) in _waiters)
                {
                    done.TrySetCanceled(stoppingToken);
                }

                _waiters.Clear();
            }
        }
    }

    private async Task RunLoopAsync(CancellationToken stoppingToken)
    {
        KafkaRaftCore core = _core!;
        ChannelReader<RaftEnvelope> reader = _responses.Reader;
        while (!stoppingToken.IsCancellationRequested)
        {
            long wait = Math.Clamp(core.NextDeadlineMs - NowMs, 0, MaxLoopWaitMs);
            if (wait > 0 && !reader.TryPeek(out _))
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                timeout.CancelAfter(TimeSpan.FromMilliseconds(wait));
                try
                {
                    await reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                    // A tick is due.
                }
            }

            int handled = 0;
            while (handled++ < 256 && reader.TryRead(out RaftEnvelope? response))
            {
                core.Step(response, NowMs);
                DrainReady();
            }

            core.Tick(NowMs);
            DrainReady();
        }
    }

    private void DrainReady()
    {
        KafkaRaftCore core = _core!;
        while (core.HasReady)
        {
            RaftReady ready = core.TakeReady();
            // Observers persist nothing: the in-memory store and log take what the core hands back.
            foreach (RaftEnvelope message in ready.Messages)
            {
                if (message.Message.IsRequest)
                {
                    Send(message);
                }
            }

            foreach (RaftEvent e in ready.Events)
            {
                switch (e)
                {
                    case RoleChanged role:
                        if (role.LeaderId != _leaderId)
                        {
                            LogLeader(role.LeaderId, role.Epoch);
                        }

                        _leaderId = role.LeaderId;
                        break;
                    case HighWatermarkAdvanced hw:
                        Interlocked.Exchange(ref _highWatermark, hw.HighWatermark);
                        break;
                    case SnapshotInstalled s:
                        LoadSnapshot(s.SnapshotId);
                        break;
                }
            }

            core.Advance(ready);
            ApplyCommitted(core.HighWatermark);
        }

        MaybeCreateSnapshot(NowMs);
    }

    /// <summary>
    /// Snapshots the applied image when <see cref="SnapshotPolicy"/> says so: Kafka's snapshot format
    /// (RaftSnapshotCodec) at the applied offset, stored in the log, which drops the entries below.
    /// Only committed, applied entries go; the divergence checks of later fetches only ever
    /// truncate above the high watermark, and a leader that no longer has our offset sends its own
    /// snapshot as before.
    /// </summary>
    private void MaybeCreateSnapshot(long nowMs)
    {
        KafkaRaftCore core = _core!;
        long applied = _appliedOffset;
        if (applied <= _log.StartOffset || applied > core.HighWatermark || !_snapshotPolicy.IsDue(nowMs))
        {
            return;
        }

        int epoch = _log.EpochAt(applied - 1) ?? core.Epoch;
        List<ReadOnlyMemory<byte>> records = _image.ToSerializedRecords();
        byte[] bytes = RaftSnapshotCodec.Encode(new SnapshotId(applied, epoch), records, nowMs);
        long entriesBefore = _log.EndOffset - _log.StartOffset;
        SnapshotId id = core.CreateSnapshot(applied, bytes);
        _latestSnapshot = bytes;
        Interlocked.Exchange(ref _logStartOffset, _log.StartOffset);
        Interlocked.Increment(ref _snapshotsCreated);
        LogSnapshotCreated(id.ToString(), records.Count, bytes.Length, _snapshotPolicy.BytesSinceSnapshot, entriesBefore - (_log.EndOffset - _log.StartOffset));
        _snapshotPolicy.Reset(nowMs);
    }

    private void LoadSnapshot(SnapshotId id)
    {
        // The snapshot content is Kafka's (header control batch, the image's records, footer): RaftSnapshotCodec.
        var records = RaftSnapshotCodec.Decode(_log.SnapshotData).Select(MetadataRecordSerde.Read).ToList();
        MetadataUpdate update = _loader.LoadSnapshot(records, new MetadataProvenance(id.EndOffset - 1, id.Epoch));
        Interlocked.Exchange(ref _appliedOffset, id.EndOffset);
        Interlocked.Exchange(ref _logStartOffset, _log.StartOffset);
        Interlocked.Increment(ref _snapshotsLoaded);
        _snapshotPolicy.Reset(NowMs);
        LogSnapshotLoaded(id.ToString(), records.Count);
        Publish(update);
    }

    /// <summary>
    /// Applies everything committed up to <paramref name="highWatermark"/> as ONE update (as Kafka's
    /// MetadataLoader publishes once caught up): a restarted node replaying a long log must not
    /// pass its listeners through every intermediate leader/follower state.
    /// </summary>
    private void ApplyCommitted(long highWatermark)
    {
        var batch = new List<MetadataLogRecord>();
        long applied = _appliedOffset;
        while (applied < highWatermark)
        {
            IReadOnlyList<RaftEntry> entries = _log.Read(Math.Max(applied, _log.StartOffset), 1024 * 1024);
            long before = applied;
            foreach (RaftEntry entry in entries)
            {
                if (entry.Offset >= highWatermark)
                {
                    break;
                }

                if (entry.Kind == RaftEntryKind.Data)
                {
                    batch.Add(MetadataLogRecord.Decode(entry.Offset, entry.Epoch, entry.Payload));
                    _snapshotPolicy.Applied(entry.Payload.Length);
                }

                applied = entry.Offset + 1;
            }

            if (applied == before)
            {
                break;
            }
        }

        if (applied == _appliedOffset)
        {
            return;
        }

        MetadataUpdate update = _loader.Apply(batch);
        Interlocked.Exchange(ref _appliedOffset, applied);
        Publish(update);
    }

    private void Publish(MetadataUpdate update)
    {
        _image = update.Image;
        foreach (IMetadataListener listener in _listeners)
        {
            try
            {
                listener.OnMetadataUpdate(update);
            }
#pragma warning disable CA1031 // A failing listener is logged; the log keeps being followed for the others.
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogListenerFailed(listener.GetType().Name, update.Image.Provenance.LastContainedOffset, e);
            }
        }

        lock (_waiters)
        {
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Condition(update.Image))
                {
                    _waiters[i].Done.TrySetResult(update.Image);
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    private void Send(RaftEnvelope envelope)
    {
        if (_voters.TryGetValue(envelope.Destination, out KafkaNode? node))
        {
            _ = SendAsync(node, envelope);
        }
    }

    private async Task SendAsync(KafkaNode node, RaftEnvelope envelope)
    {
        CancellationToken token = _stopping.Token;
        try
        {
            IApiMessage response = envelope.Message switch
            {
                FetchRequestData => await SendAsync<FetchRequest, FetchResponse>(node, envelope, token).ConfigureAwait(false),
                FetchSnapshotRequestData => await SendAsync<FetchSnapshotRequest, FetchSnapshotResponse>(node, envelope, token).ConfigureAwait(false),
                _ => throw new InvalidOperationException($"An observer does not send {envelope.Message.GetType().Name}."),
            };
            _responses.Writer.TryWrite(RaftMessageCodec.FromResponse(response, envelope.Destination, _settings.NodeId, envelope.CorrelationId));
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is KafkaClientException or InvalidDataException or IOException or KafkaProtocolException or ObjectDisposedException)
        {
            // Dropped: the core times the request out and asks again (another voter if the leader is gone).
            LogSendFailed(envelope.Message.GetType().Name, node.Id, e.Message);
        }
    }

    private async Task<IApiMessage> SendAsync<TRequest, TResponse>(KafkaNode node, RaftEnvelope envelope, CancellationToken cancellationToken)
        where TRequest : class, IApiMessage<TRequest>
        where TResponse : class, IApiMessage<TResponse>
    {
        short version = TRequest.ValidVersions.Highest;
        var request = (TRequest)RaftMessageCodec.ToRequest(envelope, _settings.ClusterId, version);
        return await _client.SendAsync<TRequest, TResponse>(node, request, version, cancellationToken).ConfigureAwait(false);
    }

    private static long NowMs => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    [LoggerMessage(Level = LogLevel.Information, Message = "Following __cluster_metadata as observer {NodeId} of voters {Voters}")]
    private partial void LogStarted(int nodeId, string voters);

    [LoggerMessage(Level = LogLevel.Information, Message = "Metadata leader is controller {LeaderId} (epoch {Epoch})")]
    private partial void LogLeader(int leaderId, int epoch);

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded metadata snapshot {SnapshotId} ({Records} records)")]
    private partial void LogSnapshotLoaded(string snapshotId, int records);

    [LoggerMessage(Level = LogLevel.Information, Message = "Created metadata snapshot {SnapshotId} ({Records} records, {Bytes} bytes) after {AppliedBytes} bytes of records; dropped {Entries} log entries below it")]
    private partial void LogSnapshotCreated(string snapshotId, int records, int bytes, long appliedBytes, long entries);

    [LoggerMessage(Level = LogLevel.Error, Message = "Metadata listener {Listener} failed on the update up to offset {Offset}")]
    private partial void LogListenerFailed(string listener, long offset, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Request} to controller {NodeId} failed: {Reason}")]
    private partial void LogSendFailed(string request, int nodeId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "The metadata follower loop failed")]
    private partial void LogLoopFailed(Exception exception);
}
