using Aspire.Kafka.Client;
using Aspire.Kafka.Metadata;
using Aspire.Kafka.Raft;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Node;

/// <summary>
/// How a broker or coordinator follows <c>__cluster_metadata</c> (Kafka's KafkaRaftClient in
/// observer mode + MetadataLoader + publishers): a <see cref="RaftNode"/> (the shared Raft host)
/// that is not a voter fetches the log from the Raft leader (asking the voters in turn when it
/// knows none), truncates on divergence and installs the leader's snapshot when it is behind the
/// log start, exactly as a voter's follower state does. The log is kept in memory (a restarted node
/// re-fetches it, as a fresh Kafka observer would). This class is the node's listener: committed
/// records are applied to a <see cref="MetadataLoader"/>; every <see cref="IMetadataListener"/>
/// sees each update in log order on the node's loop. As Kafka's brokers do (KIP-630), the node
/// snapshots its applied image by <see cref="SnapshotPolicy"/> (metadata.log.max.record.bytes.between.snapshots,
/// metadata.log.max.snapshot.interval.ms), which drops the log entries below the snapshot: the
/// log only grows (a NoOpRecord every metadata.max.idle.interval.ms when nothing else happens),
/// so without it a long-running node's memory would too.
/// </summary>
public sealed partial class ClusterMetadataFollower : BackgroundService, IRaftListener
{
    private readonly IServiceProvider _services;
    private IReadOnlyList<IMetadataListener> _listeners = [];
    private readonly ILogger<ClusterMetadataFollower> _logger;
    private readonly NetworkRaftTransport _transport;
    private readonly RaftNode _node;
    private readonly List<(Func<MetadataImage, bool> Condition, TaskCompletionSource<MetadataImage> Done)> _waiters = [];
    private readonly MetadataLoader _loader = new();
    private volatile MetadataImage _image = MetadataImage.Empty;
    private volatile int _leaderId = -1;
    private volatile byte[]? _latestSnapshot;

    public ClusterMetadataFollower(NodeSettings settings, IServiceProvider services, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _services = services;
        _logger = loggerFactory.CreateLogger<ClusterMetadataFollower>();
        _transport = new NetworkRaftTransport(settings.NodeId, settings.ClusterId, settings.Voters, new KafkaClientOptions
        {
            ClientId = $"raft-observer-{settings.NodeId}",
            ClientSoftwareName = "aspire-kafka-node",
            RequestTimeout = TimeSpan.FromMilliseconds(settings.RequestTimeoutMs + 500),
            SocketConnectionSetupTimeout = TimeSpan.FromMilliseconds(settings.RequestTimeoutMs),
            ReconnectBackoff = TimeSpan.FromMilliseconds(settings.RetryBackoffMs),
            ReconnectBackoffMax = TimeSpan.FromMilliseconds(500),
        }, loggerFactory);
        var config = new RaftConfig
        {
            NodeId = settings.NodeId,
            Voters = [.. settings.Voters.Select(v => v.Id)],
            FetchTimeoutMs = settings.FetchTimeoutMs,
            RequestTimeoutMs = settings.RequestTimeoutMs,
            RetryBackoffMs = settings.RetryBackoffMs,
        };
        var snapshotPolicy = new SnapshotPolicy(settings.MaxRecordBytesBetweenSnapshots, settings.MaxSnapshotIntervalMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        _node = new RaftNode(config, snapshotPolicy, _transport, this, loggerFactory);
    }

    /// <summary>The latest applied image (<see cref="MetadataImage.Empty"/> until the first committed batch).</summary>
    public MetadataImage Image => _image;

    /// <summary>The Raft leader (the active controller) this node knows, or -1.</summary>
    public int LeaderId => _leaderId;

    /// <summary>The quorum's high watermark as last learned.</summary>
    public long HighWatermark => _node.Status.HighWatermark;

    /// <summary>The offset after the last applied record (what heartbeats report as the current metadata offset + 1).</summary>
    public long AppliedOffset => _node.AppliedOffset;

    /// <summary>How many leader snapshots this node installed (it was behind the leader's log start).</summary>
    public int SnapshotsLoaded => _node.SnapshotsLoaded;

    /// <summary>How many snapshots of its own applied image this node made (each dropped the log entries below it).</summary>
    public int SnapshotsCreated => _node.SnapshotsCreated;

    /// <summary>The first offset this node still holds as a log entry (the latest snapshot's end, or 0).</summary>
    public long LogStartOffset => _node.Status.LogStartOffset;

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

    public override void Dispose()
    {
        _node.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        // Resolved here, not in the constructor: listeners (the ReplicaManager) depend on the
        // ControllerChannel, which depends on this follower for the leader id.
        _listeners = [.. _services.GetServices<IMetadataListener>()];
        try
        {
            // Observers persist nothing: the in-memory log and store take what the core hands back.
            await _node.RunAsync(new InMemoryRaftLog(), new InMemoryQuorumStateStore(), stoppingToken).ConfigureAwait(false);
        }
        finally
        {
            await _transport.DisposeAsync().ConfigureAwait(false);
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

    void IRaftListener.OnRoleChanged(RoleChanged role) => _leaderId = role.LeaderId;

    /// <summary>
    /// Applies everything committed in one Ready as ONE update (as Kafka's MetadataLoader publishes
    /// once caught up): a restarted node replaying a long log must not pass its listeners through
    /// every intermediate leader/follower state.
    /// </summary>
    void IRaftListener.OnCommitted(IReadOnlyList<RaftEntry> entries, long nowMs)
    {
        var batch = new List<MetadataLogRecord>(entries.Count);
        foreach (RaftEntry entry in entries)
        {
            if (entry.Kind == RaftEntryKind.Data)
            {
                batch.Add(MetadataLogRecord.Decode(entry.Offset, entry.Epoch, entry.Payload));
            }
        }

        Publish(_loader.Apply(batch));
    }

    void IRaftListener.OnSnapshotLoaded(SnapshotId id, IReadOnlyList<ReadOnlyMemory<byte>> values, long nowMs) =>
        Publish(_loader.LoadSnapshot([.. values.Select(MetadataRecordSerde.Read)], new MetadataProvenance(id.EndOffset - 1, id.Epoch)));

    IReadOnlyList<ReadOnlyMemory<byte>> IRaftListener.SnapshotValues() => _image.ToSerializedRecords();

    void IRaftListener.OnSnapshotCreated(SnapshotId id, byte[] snapshot) => _latestSnapshot = snapshot;

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

    [LoggerMessage(Level = LogLevel.Error, Message = "Metadata listener {Listener} failed on the update up to offset {Offset}")]
    private partial void LogListenerFailed(string listener, long offset, Exception exception);
}
