using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Aspire.Kafka.Client;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Raft;

namespace Aspire.Kafka.ControllerService;

/// <summary>
/// Kafka's KafkaRaftManager: owns the <see cref="KafkaRaftCore"/>, the metadata log and the
/// quorum-state file, and drives them from ONE loop fed by a channel — inbound Raft requests
/// (from the CONTROLLER listener handlers, which await their answer), responses to the
/// requests this node sent, DescribeQuorum, and the clock (the loop wakes at the core's next
/// deadline, at most every 50 ms). After every input it carries out <see cref="RaftReady"/> in
/// the host contract's order: persist quorum-state, flush the log, send, handle events, advance.
/// </summary>
public sealed partial class RaftManager : BackgroundService
{
    private const int MaxLoopWaitMs = 50;

    private readonly ControllerSettings _settings;
    private readonly ILogger<RaftManager> _logger;
    private readonly Channel<LoopInput> _inputs = Channel.CreateUnbounded<LoopInput>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<long, TaskCompletionSource<RaftMessage>> _pendingInbound = [];
    private readonly Dictionary<int, KafkaNode> _peers;
    private readonly NetworkClient _client;
    private readonly HashSet<Task> _sends = [];
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _loopStop = new();
    private long _nextInboundId;
    private long _appliedOffset;
    private long _pendingHighWatermark;
    private bool _failed;

    private KafkaRaftCore? _core;
    private MetadataRaftLog? _log;
    private FileQuorumStateStore? _store;

    // Published by the loop for health checks, metrics and handlers (read from other threads).
    private volatile RaftStatus _status = new(RaftRole.Unattached, 0, -1, 0, 0, 0);
    private volatile bool _controllerActive;

    public RaftManager(ControllerSettings settings, ILogger<RaftManager> logger, ILoggerFactory loggerFactory, IMeterFactory meterFactory, IHostApplicationLifetime lifetime)
    {
        // Leave the quorum as soon as the host starts stopping: Kestrel drains connections first,
        // and the peers' connections only close once their Raft loops let go of them.
        lifetime.ApplicationStopping.Register(() => _loopStop.Cancel());
        _settings = settings;
        _snapshotPolicy = new SnapshotPolicy(settings.MaxRecordBytesBetweenSnapshots, settings.MaxSnapshotIntervalMs, NowMs);
        _logger = logger;
        _peers = settings.Voters.Where(v => v.Id != settings.NodeId).ToDictionary(v => v.Id, v => new KafkaNode(v.Id, v.Host, v.Port));
        _client = new NetworkClient(new KafkaClientOptions
        {
            ClientId = $"raft-client-{settings.NodeId}",
            ClientSoftwareName = "aspire-kafka-controller",
            // A long-polled Fetch waits up to FetchMaxWaitMs on the leader; the core gives up on
            // its own after controller.quorum.request.timeout.ms, so this only reclaims the slot.
            RequestTimeout = TimeSpan.FromMilliseconds(settings.Raft.RequestTimeoutMs + settings.Raft.FetchMaxWaitMs),
            SocketConnectionSetupTimeout = TimeSpan.FromMilliseconds(settings.Raft.RequestTimeoutMs),
            ReconnectBackoff = TimeSpan.FromMilliseconds(20),
            ReconnectBackoffMax = TimeSpan.FromMilliseconds(200),
        }, loggerFactory: loggerFactory);
        CreateMetrics(meterFactory.Create("Aspire.Kafka.Raft"));
        CreateControllerMetrics(meterFactory.Create(ControllerTelemetry.SourceName));
    }

    /// <summary>What the loop last published.</summary>
    public RaftStatus Status => _status;

    public int NodeId => _settings.NodeId;

    public string ClusterId => _settings.ClusterId;

    /// <summary>Where the metadata log lives (the __cluster_metadata-0 directory).</summary>
    public string? MetadataLogPath => _log?.Dir;

    /// <summary>Steps an inbound Raft request and waits for the core's answer (a parked Fetch waits for new data or its MaxWaitMs).</summary>
    public async Task<RaftMessage> HandleRequestAsync(int source, RaftMessage request, CancellationToken cancellationToken)
    {
        var reply = new TaskCompletionSource<RaftMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        long id = Interlocked.Increment(ref _nextInboundId);
        if (!_inputs.Writer.TryWrite(new InboundRequest(new RaftEnvelope(source, _settings.NodeId, id, request), reply)))
        {
            throw new OperationCanceledException("The controller is shutting down.");
        }

        return await reply.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The leader's view of the quorum (an error code and the known leader elsewhere).</summary>
    public async Task<QuorumDescription> DescribeQuorumAsync(CancellationToken cancellationToken)
    {
        var reply = new TaskCompletionSource<QuorumDescription>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_inputs.Writer.TryWrite(new DescribeQuorumInput(reply)))
        {
            throw new OperationCanceledException("The controller is shutting down.");
        }

        return await reply.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await _loopStop.CancelAsync().ConfigureAwait(false);
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void Dispose()
    {
        _stopping.Dispose();
        _loopStop.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        try
        {
            Open();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, _loopStop.Token);
            await RunLoopAsync(stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _failed = true;
            LogLoopFailed(e);
            throw;
        }
        finally
        {
            await ShutdownAsync().ConfigureAwait(false);
        }
    }

    private void Open()
    {
        _log = MetadataRaftLog.Open(_settings.MetadataLogDir, _settings.MetadataLogSegmentBytes, _settings.MetadataLogSegmentMs);
        _store = new FileQuorumStateStore(Path.Combine(_log.Dir, "quorum-state"), _settings.Raft.Voters, _settings.ClusterId);
        _core = new KafkaRaftCore(_settings.Raft, _log, _store, new Random(), NowMs);
        OpenController();
        LogOpened(_log.Dir, _log.StartOffset, _log.EndOffset, _core.Epoch, _core.Role, string.Join(',', _settings.Voters));
        LogLoaded(_log.HadCleanShutdown, _log.LoadResult.SegmentsLoaded, _log.LoadResult.SegmentsRecovered, _log.LoadResult.BytesTruncated);
        // The latest snapshot first, then the log after it (replayed as the high watermark is learned).
        if (_log.LatestSnapshotId is { } snapshot)
        {
            LoadSnapshotIntoController(snapshot, NowMs);
        }

        Publish();
        DrainReady();
        _started.TrySetResult();
    }

    private async Task RunLoopAsync(CancellationToken stoppingToken)
    {
        KafkaRaftCore core = _core!;
        ChannelReader<LoopInput> reader = _inputs.Reader;
        while (!stoppingToken.IsCancellationRequested)
        {
            long now = NowMs;
            long wait = Math.Clamp(Math.Min(core.NextDeadlineMs, _lingerDeadlineMs) - now, 0, MaxLoopWaitMs);
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
            while (handled++ < 256 && reader.TryRead(out LoopInput? input))
            {
                Handle(input);
                DrainReady();
            }

            core.Tick(NowMs);
            DrainReady();
            TickController(NowMs);
            FlushLingeringRecords(NowMs);
            DrainReady();
            MaybeCreateSnapshot(NowMs);
            Publish();
        }
    }

    private void Handle(LoopInput input)
    {
        KafkaRaftCore core = _core!;
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
            case ControllerInput c:
                c.Run(NowMs);
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
                        OnRoleChanged(role);
                        break;
                    case HighWatermarkAdvanced hw:
                        _pendingHighWatermark = Math.Max(_pendingHighWatermark, hw.HighWatermark);
                        break;
                    case LogTruncated t:
                        LogTruncatedTo(t.Offset);
                        break;
                    case SnapshotInstalled s:
                        LogSnapshotInstalled(s.SnapshotId.ToString());
                        LoadSnapshotIntoController(s.SnapshotId, NowMs);
                        break;
                }
            }

            core.Advance(ready);
            if (_pendingHighWatermark > _appliedOffset)
            {
                // Replaying may propose (activation), which is an input: only after Advance.
                ApplyCommitted(_pendingHighWatermark, NowMs);
            }
        }

        Publish();
    }


    private void Publish()
    {
        KafkaRaftCore core = _core!;
        _status = new RaftStatus(core.Role, core.Epoch, core.LeaderId, core.HighWatermark, core.LogEndOffset, _appliedOffset);
        _controllerActive = _controller?.IsActive ?? false;
    }

    private void Send(RaftEnvelope envelope)
    {
        if (!_peers.TryGetValue(envelope.Destination, out KafkaNode? node))
        {
            return;
        }

        Task send = SendAsync(node, envelope);
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

    private async Task SendAsync(KafkaNode node, RaftEnvelope envelope)
    {
        CancellationToken token = _stopping.Token;
        try
        {
            IApiMessage response = envelope.Message switch
            {
                VoteRequestData => await SendAsync<VoteRequest, VoteResponse>(node, envelope, token).ConfigureAwait(false),
                BeginQuorumEpochRequestData => await SendAsync<BeginQuorumEpochRequest, BeginQuorumEpochResponse>(node, envelope, token).ConfigureAwait(false),
                EndQuorumEpochRequestData => await SendAsync<EndQuorumEpochRequest, EndQuorumEpochResponse>(node, envelope, token).ConfigureAwait(false),
                FetchRequestData => await SendAsync<FetchRequest, FetchResponse>(node, envelope, token).ConfigureAwait(false),
                FetchSnapshotRequestData => await SendAsync<FetchSnapshotRequest, FetchSnapshotResponse>(node, envelope, token).ConfigureAwait(false),
                _ => throw new InvalidOperationException($"{envelope.Message.GetType().Name} is not a Raft request."),
            };
            RaftEnvelope back = RaftMessageCodec.FromResponse(response, envelope.Destination, _settings.NodeId, envelope.CorrelationId);
            _inputs.Writer.TryWrite(new InboundResponse(back));
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is KafkaClientException or InvalidDataException or IOException or KafkaProtocolException)
        {
            // Dropped: the core gives up on it after controller.quorum.request.timeout.ms and retries.
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

    private async Task ShutdownAsync()
    {
        _inputs.Writer.TryComplete();
        if (_core is { } core)
        {
            try
            {
                if (core.Role == RaftRole.Leader)
                {
                    // Graceful resignation: EndQuorumEpoch lets a successor stand at once.
                    core.Resign(NowMs);
                    DrainReady();
                    Task[] sends;
                    lock (_sends)
                    {
                        sends = [.. _sends];
                    }

                    await Task.WhenAny(Task.WhenAll(sends), Task.Delay(TimeSpan.FromMilliseconds(500))).ConfigureAwait(false);
                }
            }
            catch (InvalidOperationException e)
            {
                LogLoopFailed(e);
            }
        }

        if (_controller is not null)
        {
            RenounceController();
        }

        while (_inputs.Reader.TryRead(out LoopInput? input))
        {
            (input as InboundRequest)?.Reply.TrySetCanceled();
            (input as DescribeQuorumInput)?.Reply.TrySetCanceled();
            (input as ControllerInput)?.Run(NowMs);
        }

        foreach (TaskCompletionSource<RaftMessage> pending in _pendingInbound.Values)
        {
            pending.TrySetCanceled();
        }

        _pendingInbound.Clear();
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _client.DisposeAsync().ConfigureAwait(false);
        if (_failed)
        {
            _log?.Abandon();
        }
        else
        {
            _log?.Dispose();
        }
    }

    // Wall-clock milliseconds, as Kafka's raft client: DescribeQuorum's LastFetchTimestamp and
    // LastCaughtUpTimestamp are epoch milliseconds a client compares with its own clock.
    private static long NowMs => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private abstract record LoopInput;

    private sealed record InboundRequest(RaftEnvelope Envelope, TaskCompletionSource<RaftMessage> Reply) : LoopInput;

    private sealed record InboundResponse(RaftEnvelope Envelope) : LoopInput;

    private sealed record DescribeQuorumInput(TaskCompletionSource<QuorumDescription> Reply) : LoopInput;

    [LoggerMessage(Level = LogLevel.Information, Message = "Opened the metadata log {Dir} (offsets {StartOffset}..{EndOffset}), epoch {Epoch}, role {Role}; voters {Voters}")]
    private partial void LogOpened(string dir, long startOffset, long endOffset, int epoch, RaftRole role, string voters);

    [LoggerMessage(Level = LogLevel.Information, Message = "Metadata log loaded: clean shutdown {CleanShutdown}, {Segments} segment(s), {Recovered} recovered, {Truncated} byte(s) truncated")]
    private partial void LogLoaded(bool cleanShutdown, int segments, int recovered, long truncated);

    [LoggerMessage(Level = LogLevel.Information, Message = "Raft role {Role} in epoch {Epoch}, leader {LeaderId}")]
    private partial void LogRoleChanged(RaftRole role, int epoch, int leaderId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Metadata log truncated to offset {Offset}")]
    private partial void LogTruncatedTo(long offset);

    [LoggerMessage(Level = LogLevel.Information, Message = "Installed metadata snapshot {SnapshotId}")]
    private partial void LogSnapshotInstalled(string snapshotId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Request} to node {NodeId} failed: {Reason}")]
    private partial void LogSendFailed(string request, int nodeId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "The Raft loop failed")]
    private partial void LogLoopFailed(Exception exception);
}

/// <summary>A consistent view of the Raft state, published by the loop after every step.</summary>
public sealed record RaftStatus(RaftRole Role, int Epoch, int LeaderId, long HighWatermark, long LogEndOffset, long AppliedOffset);
