using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Raft;

/// <summary>
/// The one host of a <see cref="KafkaRaftCore"/> (etcd's <c>node</c> around <c>rawnode</c>; Kafka's
/// KafkaRaftClient poll loop): ONE loop fed by a channel (inbound requests with their reply,
/// responses to the requests this node sent, DescribeQuorum, actions the user posts) and the
/// clock (it wakes at the core's or the listener's next deadline, at most every 50 ms). After every
/// input it carries out each <see cref="RaftReady"/> in the host contract's order: persist
/// quorum-state, flush the log, send through the <see cref="IRaftTransport"/>, handle events,
/// advance, then hand what became committed to the <see cref="IRaftListener"/>. It snapshots the
/// listener's state when the <see cref="SnapshotPolicy"/> says so and loads snapshots (the log's at
/// start, the leader's after FetchSnapshot) into it. Voters (the controller) and observers (brokers
/// and coordinators following <c>__cluster_metadata</c>) run the same loop.
/// </summary>
public sealed partial class RaftNode : IDisposable
{
    private const int MaxLoopWaitMs = 50;
    private const int MaxInputsPerTurn = 256;
    private const int ApplyReadBytes = 1024 * 1024;
    private static readonly TimeSpan ResignSendWait = TimeSpan.FromMilliseconds(500);

    private readonly RaftConfig _config;
    private readonly SnapshotPolicy _snapshotPolicy;
    private readonly IRaftTransport _transport;
    private readonly IRaftListener _listener;
    private readonly ILogger _logger;
    private readonly Channel<LoopInput> _inputs = Channel.CreateUnbounded<LoopInput>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<long, TaskCompletionSource<RaftMessage>> _pendingInbound = [];
    private readonly HashSet<Task> _sends = [];
    private readonly CancellationTokenSource _sendsStopping = new();
    private long _nextInboundId;
    private long _appliedOffset;
    private int _snapshotsCreated;
    private int _snapshotsLoaded;
    private KafkaRaftCore? _core;
    private IRaftLog? _log;
    private IQuorumStateStore? _store;
    private volatile RaftStatus _status = new(RaftRole.Unattached, 0, -1, 0, 0, 0, 0);

    public RaftNode(RaftConfig config, SnapshotPolicy snapshotPolicy, IRaftTransport transport, IRaftListener listener, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(snapshotPolicy);
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(listener);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _config = config;
        _snapshotPolicy = snapshotPolicy;
        _transport = transport;
        _listener = listener;
        _logger = loggerFactory.CreateLogger<RaftNode>();
    }

    public int NodeId => _config.NodeId;

    /// <summary>What the loop last published (any thread).</summary>
    public RaftStatus Status => _status;

    /// <summary>The offset after the last committed entry handed to the listener (any thread).</summary>
    public long AppliedOffset => Interlocked.Read(ref _appliedOffset);

    /// <summary>How many snapshots of the listener's state this node stored.</summary>
    public int SnapshotsCreated => Volatile.Read(ref _snapshotsCreated);

    /// <summary>How many snapshots were loaded into the listener (the log's at start, the leader's when behind its log start).</summary>
    public int SnapshotsLoaded => Volatile.Read(ref _snapshotsLoaded);

    /// <summary>The core, for the loop's thread only: listener callbacks and posted actions.</summary>
    public KafkaRaftCore Core => _core ?? throw new InvalidOperationException("The Raft node is not running.");

    /// <summary>Steps an inbound Raft request and waits for the core's answer (a parked Fetch waits for new data or its MaxWaitMs).</summary>
    public async Task<RaftMessage> HandleRequestAsync(int source, RaftMessage request, CancellationToken cancellationToken)
    {
        var reply = new TaskCompletionSource<RaftMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        long id = Interlocked.Increment(ref _nextInboundId);
        if (!_inputs.Writer.TryWrite(new InboundRequest(new RaftEnvelope(source, _config.NodeId, id, request), reply)))
        {
            throw new OperationCanceledException("The Raft node is shutting down.");
        }

        return await reply.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The leader's view of the quorum (an error code and the known leader elsewhere).</summary>
    public async Task<QuorumDescription> DescribeQuorumAsync(CancellationToken cancellationToken)
    {
        var reply = new TaskCompletionSource<QuorumDescription>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_inputs.Writer.TryWrite(new DescribeQuorumInput(reply)))
        {
            throw new OperationCanceledException("The Raft node is shutting down.");
        }

        return await reply.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs <paramref name="action"/> on the loop with the clock (it may use <see cref="Core"/>);
    /// false once the node stopped. An action queued when the node stops still runs, after
    /// <see cref="IRaftListener.OnStopping"/>, so it can answer whoever waits on it.
    /// </summary>
    public bool TryPost(Action<long> action) => _inputs.Writer.TryWrite(new PostedAction(action));

    /// <summary>
    /// Creates the core on <paramref name="log"/> and <paramref name="store"/> (both stay the
    /// caller's), loads the log's latest snapshot into the listener and runs the loop until
    /// <paramref name="cancellationToken"/> is canceled; then a leader resigns and what waits is
    /// canceled. Throws what the loop fails with (logged).
    /// </summary>
    public async Task RunAsync(IRaftLog log, IQuorumStateStore store, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(store);
        await Task.Yield();
        try
        {
            _log = log;
            _store = store;
            KafkaRaftCore core = _core = new KafkaRaftCore(_config, log, store, new Random(), NowMs);
            LogStarted(_config.NodeId, core.IsVoter ? "voter" : "observer", string.Join(',', _config.Voters), log.StartOffset, log.EndOffset, core.Epoch, core.Role);
            // The latest snapshot first, then the log after it (applied as the high watermark is learned).
            if (log.LatestSnapshotId is { } snapshot)
            {
                LoadSnapshot(snapshot, NowMs);
            }

            Publish();
            DrainReady();
            await RunLoopAsync(core, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogLoopFailed(e);
            throw;
        }
        finally
        {
            await ShutdownAsync().ConfigureAwait(false);
        }
    }

    public void Dispose() => _sendsStopping.Dispose();

    private async Task RunLoopAsync(KafkaRaftCore core, CancellationToken stoppingToken)
    {
        ChannelReader<LoopInput> reader = _inputs.Reader;
        while (!stoppingToken.IsCancellationRequested)
        {
            long wait = Math.Clamp(Math.Min(core.NextDeadlineMs, _listener.NextDeadlineMs) - NowMs, 0, MaxLoopWaitMs);
            if (wait > 0 && !reader.TryPeek(out _))
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                timeout.CancelAfter(TimeSpan.FromMilliseconds(wait));
                try
                {
                    await reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // The wait ran out (a tick is due) or the host is stopping (the loop condition ends it).
                }
            }

            int handled = 0;
            while (handled++ < MaxInputsPerTurn && reader.TryRead(out LoopInput? input))
            {
                Handle(core, input);
                DrainReady();
            }

            core.Tick(NowMs);
            DrainReady();
            _listener.OnTick(NowMs);
            DrainReady();
            MaybeCreateSnapshot(core, NowMs);
            Publish();
        }
    }

    private void Handle(KafkaRaftCore core, LoopInput input)
    {
        switch (input)
        {
            case InboundRequest r:
                _pendingInbound[r.Envelope.CorrelationId] = r.Reply;
                core.Step(r.Envelope, NowMs);
                break;
            case InboundResponse r:
                core.Step(r.Envelope, NowMs);
                break;
            case DescribeQuorumInput d:
                d.Reply.TrySetResult(core.DescribeQuorum());
                break;
            case PostedAction a:
                a.Run(NowMs);
                break;
        }
    }

    private void DrainReady()
    {
        KafkaRaftCore core = _core!;
        while (core.HasReady)
        {
            RaftReady ready = core.TakeReady();
            if (ready.ElectionStateToPersist is { } state)
            {
                _store!.Write(state);
            }

            if (ready.FlushLog)
            {
                _log!.Flush();
            }

            foreach (RaftEnvelope message in ready.Messages)
            {
                if (message.Message.IsRequest)
                {
                    Send(message);
                }
                else if (_pendingInbound.Remove(message.CorrelationId, out TaskCompletionSource<RaftMessage>? reply))
                {
                    reply.TrySetResult(message.Message);
                }
            }

            foreach (RaftEvent e in ready.Events)
            {
                switch (e)
                {
                    case RoleChanged role:
                        LogRoleChanged(role.Role, role.Epoch, role.LeaderId);
                        _listener.OnRoleChanged(role);
                        break;
                    case LogTruncated t:
                        LogTruncatedTo(t.Offset);
                        break;
                    case SnapshotInstalled s:
                        LogSnapshotInstalled(s.SnapshotId.ToString());
                        LoadSnapshot(s.SnapshotId, NowMs);
                        break;
                }
            }

            core.Advance(ready);
            // Applying may propose (a new leader's activation), which is an input: only after Advance.
            ApplyCommitted(core, NowMs);
        }

        Publish();
    }

    /// <summary>Hands every entry below the high watermark not yet applied to the listener, in one call.</summary>
    private void ApplyCommitted(KafkaRaftCore core, long nowMs)
    {
        IRaftLog log = _log!;
        long highWatermark = core.HighWatermark;
        long applied = _appliedOffset;
        var committed = new List<RaftEntry>();
        while (applied < highWatermark)
        {
            long before = applied;
            foreach (RaftEntry entry in log.Read(Math.Max(applied, log.StartOffset), ApplyReadBytes))
            {
                if (entry.Offset >= highWatermark)
                {
                    break;
                }

                committed.Add(entry);
                if (entry.Kind == RaftEntryKind.Data)
                {
                    _snapshotPolicy.Applied(entry.Payload.Length);
                }

                applied = entry.Offset + 1;
            }

            if (applied == before)
            {
                break;
            }
        }

        if (committed.Count == 0)
        {
            return;
        }

        Interlocked.Exchange(ref _appliedOffset, applied);
        _listener.OnCommitted(committed, nowMs);
    }

    /// <summary>Replaces the listener's state with snapshot <paramref name="id"/> (at start, or after FetchSnapshot installed it).</summary>
    private void LoadSnapshot(SnapshotId id, long nowMs)
    {
        if (!_log!.TryReadSnapshot(id, 0, int.MaxValue, out ReadOnlyMemory<byte> bytes, out _))
        {
            throw new InvalidOperationException($"Snapshot {id} is not in the log.");
        }

        // Kafka's snapshot content: a header control batch, the state's records, a footer.
        IReadOnlyList<ReadOnlyMemory<byte>> values = RaftSnapshotCodec.Decode(bytes);
        // The snapshot replaces the state: applying resumes right after it (the log holds nothing below).
        Interlocked.Exchange(ref _appliedOffset, id.EndOffset);
        Interlocked.Increment(ref _snapshotsLoaded);
        _snapshotPolicy.Reset(nowMs);
        LogSnapshotLoaded(id.ToString(), values.Count);
        _listener.OnSnapshotLoaded(id, values, nowMs);
    }

    /// <summary>
    /// KIP-630 on every node: once the <see cref="SnapshotPolicy"/> is due, the listener's state
    /// becomes the snapshot at the applied offset (only committed, applied entries go) and the log
    /// start moves there. Later divergence checks only ever truncate above the high watermark.
    /// </summary>
    private void MaybeCreateSnapshot(KafkaRaftCore core, long nowMs)
    {
        IRaftLog log = _log!;
        long applied = _appliedOffset;
        long lastSnapshotEnd = Math.Max(log.StartOffset, log.LatestSnapshotId?.EndOffset ?? 0);
        if (applied <= lastSnapshotEnd || applied > core.HighWatermark || !_snapshotPolicy.IsDue(nowMs))
        {
            return;
        }

        int epoch = log.EpochAt(applied - 1) ?? core.Epoch;
        IReadOnlyList<ReadOnlyMemory<byte>> values = _listener.SnapshotValues();
        byte[] bytes = RaftSnapshotCodec.Encode(new SnapshotId(applied, epoch), values, nowMs);
        long entriesBefore = log.EndOffset - log.StartOffset;
        SnapshotId id = core.CreateSnapshot(applied, bytes);
        Interlocked.Increment(ref _snapshotsCreated);
        LogSnapshotCreated(id.ToString(), values.Count, bytes.Length, _snapshotPolicy.BytesSinceSnapshot, entriesBefore - (log.EndOffset - log.StartOffset), log.StartOffset);
        _snapshotPolicy.Reset(nowMs);
        _listener.OnSnapshotCreated(id, bytes);
    }

    private void Publish()
    {
        KafkaRaftCore core = _core!;
        _status = new RaftStatus(core.Role, core.Epoch, core.LeaderId, core.HighWatermark, core.LogEndOffset, _appliedOffset, _log!.StartOffset);
    }

    private void Send(RaftEnvelope envelope)
    {
        Task send = SendAsync(envelope);
        lock (_sends)
        {
            _sends.Add(send);
        }

        send.ContinueWith(t =>
        {
            lock (_sends)
            {
                _sends.Remove(t);
            }
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task SendAsync(RaftEnvelope envelope)
    {
        CancellationToken token = _sendsStopping.Token;
        try
        {
            if (await _transport.SendAsync(envelope, token).ConfigureAwait(false) is { } response)
            {
                _inputs.Writer.TryWrite(new InboundResponse(response));
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }

    private async Task ShutdownAsync()
    {
        _inputs.Writer.TryComplete();
        if (_core is { Role: RaftRole.Leader } core)
        {
            try
            {
                // Graceful resignation: EndQuorumEpoch lets a successor stand at once.
                core.Resign(NowMs);
                DrainReady();
                Task[] sends;
                lock (_sends)
                {
                    sends = [.. _sends];
                }

                await Task.WhenAny(Task.WhenAll(sends), Task.Delay(ResignSendWait)).ConfigureAwait(false);
            }
            catch (InvalidOperationException e)
            {
                LogLoopFailed(e);
            }
        }

        _listener.OnStopping();
        while (_inputs.Reader.TryRead(out LoopInput? input))
        {
            (input as InboundRequest)?.Reply.TrySetCanceled();
            (input as DescribeQuorumInput)?.Reply.TrySetCanceled();
            (input as PostedAction)?.Run(NowMs);
        }

        foreach (TaskCompletionSource<RaftMessage> pending in _pendingInbound.Values)
        {
            pending.TrySetCanceled();
        }

        _pendingInbound.Clear();
        await _sendsStopping.CancelAsync().ConfigureAwait(false);
    }

    // Wall-clock milliseconds, as Kafka's raft client: DescribeQuorum's LastFetchTimestamp and
    // LastCaughtUpTimestamp are epoch milliseconds a client compares with its own clock.
    private static long NowMs => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private abstract record LoopInput;

    private sealed record InboundRequest(RaftEnvelope Envelope, TaskCompletionSource<RaftMessage> Reply) : LoopInput;

    private sealed record InboundResponse(RaftEnvelope Envelope) : LoopInput;

    private sealed record DescribeQuorumInput(TaskCompletionSource<QuorumDescription> Reply) : LoopInput;

    private sealed record PostedAction(Action<long> Run) : LoopInput;

    [LoggerMessage(Level = LogLevel.Information, Message = "Raft node {NodeId} ({Kind}) of voters {Voters} started: log {StartOffset}..{EndOffset}, epoch {Epoch}, role {Role}")]
    private partial void LogStarted(int nodeId, string kind, string voters, long startOffset, long endOffset, int epoch, RaftRole role);

    [LoggerMessage(Level = LogLevel.Information, Message = "Raft role {Role} in epoch {Epoch}, leader {LeaderId}")]
    private partial void LogRoleChanged(RaftRole role, int epoch, int leaderId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Metadata log truncated to offset {Offset}")]
    private partial void LogTruncatedTo(long offset);

    [LoggerMessage(Level = LogLevel.Information, Message = "Installed metadata snapshot {SnapshotId} fetched from the leader")]
    private partial void LogSnapshotInstalled(string snapshotId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded metadata snapshot {SnapshotId} ({Records} records)")]
    private partial void LogSnapshotLoaded(string snapshotId, int records);

    [LoggerMessage(Level = LogLevel.Information, Message = "Created metadata snapshot {SnapshotId} ({Records} records, {Bytes} bytes) after {AppliedBytes} bytes of applied records; dropped {Entries} log entries below it, log start now {LogStart}")]
    private partial void LogSnapshotCreated(string snapshotId, int records, int bytes, long appliedBytes, long entries, long logStart);

    [LoggerMessage(Level = LogLevel.Error, Message = "The Raft loop failed")]
    private partial void LogLoopFailed(Exception exception);
}

/// <summary>A consistent view of the Raft state, published by <see cref="RaftNode"/>'s loop after every step.</summary>
public sealed record RaftStatus(RaftRole Role, int Epoch, int LeaderId, long HighWatermark, long LogEndOffset, long AppliedOffset, long LogStartOffset);
