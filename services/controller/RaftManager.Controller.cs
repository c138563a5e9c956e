using System.Diagnostics;
using Aspire.Kafka.Controller;
using Aspire.Kafka.Metadata;
using Aspire.Kafka.Raft;
using Aspire.Kafka.ServiceDefaults.Kafka;

namespace Aspire.Kafka.ControllerService;

/// <summary>
/// The QuorumController on top of Raft: the <see cref="IRaftListener"/> of the <see cref="RaftNode"/>,
/// all on its loop. Every voter replays committed records; the leader activates once its epoch's
/// LeaderChange is committed and everything before it replayed, proposes each operation's records
/// through the core, and answers when the high watermark passes the result's ResponseOffset.
/// <c>Tick</c> runs every <see cref="ControllerTickMs"/> (lease expiry, balancing, and the NoOp
/// after metadata.max.idle.interval.ms of silence).
/// </summary>
public sealed partial class RaftManager : IRaftListener
{
    private const int ControllerTickMs = 100;
    private const int MaxLingerRecords = 10_000;

    private readonly List<PendingResponse> _pendingResponses = [];
    private readonly List<ReadOnlyMemory<byte>> _linger = [];
    private long _lingerBaseOffset;
    private long _lingerDeadlineMs = long.MaxValue;
    private readonly QuorumController _controller;
    private long _activateAtOffset = long.MaxValue;
    private long _nextControllerTickMs;
    private volatile MetadataImage _committedImage = MetadataImage.Empty;

    /// <summary>The metadata every voter has replayed (committed records only).</summary>
    public MetadataImage CommittedImage => _committedImage;

    /// <summary>
    /// Runs a QuorumController operation on the active controller, appends its records through
    /// Raft and completes once they are committed. Throws <see cref="NotControllerException"/> on a
    /// controller that is not active (or that lost leadership before the commit).
    /// </summary>
    public async Task<T> SubmitAsync<T>(string operationName, Func<QuorumController, long, ControllerResult<T>> operation, CancellationToken cancellationToken)
    {
        var reply = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        // A child of the request's span (Activity.Current); null unless sampled.
        using Activity? span = ControllerTelemetry.ActivitySource.StartActivity(WriteSpanName);
        Activity? recorded = span is { IsAllDataRequested: true } ? span : null;
        recorded?.SetTag("kafka.controller.operation", operationName);
        void Run(long nowMs)
        {
            QuorumController controller = _controller;
            if (!controller.IsActive)
            {
                span?.DoNotExport(); // answered NOT_CONTROLLER: nothing was written
                reply.TrySetException(new NotControllerException($"Node {NodeId} is not the active controller (leader {Status.LeaderId})."));
                return;
            }

            ControllerResult<T> result;
            try
            {
                result = operation(controller, nowMs);
            }
            catch (Exception e) when (e is NotControllerException or ArgumentException or InvalidOperationException)
            {
                span?.DoNotExport();
                reply.TrySetException(e);
                return;
            }

            if (!result.HasRecords)
            {
                span?.DoNotExport();
            }
            else if (recorded is not null)
            {
                DescribeWrite(recorded, result.Records.Count, result.BaseOffset);
            }

            AppendResult(result, nowMs, () =>
            {
                recorded?.AddEvent(Committed());
                reply.TrySetResult(result.Response);
            }, e =>
            {
                recorded?.SetStatus(ActivityStatusCode.Error, e.Message);
                reply.TrySetException(e);
            });
        }

        if (!_node.TryPost(Run))
        {
            throw new OperationCanceledException("The controller is shutting down.");
        }

        return await reply.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private const string WriteSpanName = "kafka.controller.write";

    private void DescribeWrite(Activity span, int records, long baseOffset)
    {
        span.SetTag("kafka.metadata.records", records);
        span.SetTag("kafka.metadata.base_offset", baseOffset);
        span.SetTag("kafka.raft.epoch", _node.Core.Epoch);
    }

    private ActivityEvent Committed() =>
        new("committed", tags: new ActivityTagsCollection { ["kafka.metadata.high_watermark"] = _node.Core.HighWatermark });

    /// <summary>Appends the controller's own result (Tick, Activate) under a root span when it has records worth tracing.</summary>
    private void AppendOwnResult<T>(string operationName, ControllerResult<T> result, long nowMs, bool trace = true)
    {
        Activity? span = trace && result.HasRecords ? ControllerTelemetry.ActivitySource.StartRootActivity(WriteSpanName) : null;
        if (span is null)
        {
            AppendResult(result, nowMs, static () => { }, static _ => { });
            return;
        }

        if (span.IsAllDataRequested)
        {
            span.SetTag("kafka.controller.operation", operationName);
            DescribeWrite(span, result.Records.Count, result.BaseOffset);
        }

        AppendResult(result, nowMs, () =>
        {
            span.AddEvent(Committed());
            span.Dispose();
        }, e =>
        {
            span.SetStatus(ActivityStatusCode.Error, e.Message);
            span.Dispose();
        });
    }

    private void AppendResult<T>(ControllerResult<T> result, long nowMs, Action respond, Action<Exception> fail)
    {
        if (result.HasRecords)
        {
            // controller.quorum.append.linger.ms: records of consecutive results wait together and
            // go to Raft as one proposal (one batch), in the order the QuorumController produced them.
            if (_linger.Count == 0)
            {
                _lingerBaseOffset = result.BaseOffset;
                _lingerDeadlineMs = nowMs + _settings.AppendLingerMs;
            }

            if (result.BaseOffset != _lingerBaseOffset + _linger.Count)
            {
                LogProposeFailed("out of order", _lingerBaseOffset + _linger.Count, result.BaseOffset);
                fail(new NotControllerException($"Node {NodeId} could not append to the metadata log."));
                RenounceController();
                return;
            }

            _linger.AddRange(result.Records.Select(r => (ReadOnlyMemory<byte>)MetadataRecordSerde.Serialize(r)));
            if (_settings.AppendLingerMs == 0 || _linger.Count >= MaxLingerRecords)
            {
                _lingerDeadlineMs = nowMs;
            }
        }

        if (result.ResponseOffset < _node.AppliedOffset)
        {
            respond();
        }
        else
        {
            _pendingResponses.Add(new PendingResponse(result.ResponseOffset, respond, fail));
        }

        FlushLingeringRecords(nowMs);
    }

    /// <summary>Proposes the lingering records once their linger time is over.</summary>
    private void FlushLingeringRecords(long nowMs)
    {
        if (_linger.Count == 0 || nowMs < _lingerDeadlineMs)
        {
            return;
        }

        List<ReadOnlyMemory<byte>> records = [.. _linger];
        long expected = _lingerBaseOffset;
        _linger.Clear();
        _lingerDeadlineMs = long.MaxValue;
        ProposeResult proposed = _node.Core.Propose(records, nowMs);
        if (!proposed.Succeeded || proposed.BaseOffset != expected)
        {
            LogProposeFailed(RaftErrors.Name(proposed.ErrorCode), expected, proposed.BaseOffset);
            RenounceController();
        }
    }

    /// <summary>Replays committed entries (runs of one kind and epoch), answers what they committed, and activates a new leader.</summary>
    void IRaftListener.OnCommitted(IReadOnlyList<RaftEntry> entries, long nowMs)
    {
        int i = 0;
        while (i < entries.Count)
        {
            RaftEntry first = entries[i];
            int j = i;
            var values = new List<ReadOnlyMemory<byte>>();
            while (j < entries.Count && entries[j].Kind == first.Kind && entries[j].Epoch == first.Epoch)
            {
                values.Add(entries[j].Payload);
                j++;
            }

            if (first.Kind == RaftEntryKind.Data)
            {
                // Followers' and the active controller's own records alike: Replay is the one way into CommittedImage.
                _controller.ReplaySerialized(values, first.Offset, first.Epoch);
            }

            i = j;
        }

        _committedImage = _controller.CommittedImage;
        long applied = _node.AppliedOffset;
        for (int k = _pendingResponses.Count - 1; k >= 0; k--)
        {
            if (_pendingResponses[k].ResponseOffset < applied)
            {
                _pendingResponses[k].Respond();
                _pendingResponses.RemoveAt(k);
            }
        }

        MaybeActivate(nowMs);
        _controllerActive = _controller.IsActive;
    }

    /// <summary>KIP-630 on every voter: a snapshot is the committed image at the applied offset.</summary>
    IReadOnlyList<ReadOnlyMemory<byte>> IRaftListener.SnapshotValues() => _controller.CommittedImage.ToSerializedRecords();

    /// <summary>Replaces the QuorumController's committed state with snapshot <paramref name="id"/> (at start, or after FetchSnapshot installed it).</summary>
    void IRaftListener.OnSnapshotLoaded(SnapshotId id, IReadOnlyList<ReadOnlyMemory<byte>> values, long nowMs)
    {
        MetadataImage image = MetadataImage.FromRecords(values.Select(v => MetadataRecordSerde.Read(v)), new MetadataProvenance(id.EndOffset - 1, id.Epoch));
        if (_controller.IsActive)
        {
            RenounceController();
        }

        _controller.LoadSnapshot(image);
        _committedImage = image;
    }

    void IRaftListener.OnRoleChanged(RoleChanged role) => OnRoleChanged(role);

    long IRaftListener.NextDeadlineMs => _lingerDeadlineMs;

    void IRaftListener.OnTick(long nowMs)
    {
        TickController(nowMs);
        FlushLingeringRecords(nowMs);
        _controllerActive = _controller.IsActive;
    }

    void IRaftListener.OnStopping() => RenounceController();

    private void OnRoleChanged(RoleChanged role)
    {
        if (role.Role == RaftRole.Leader)
        {
            // The LeaderChange record was just appended: activate once it is committed.
            _activateAtOffset = _node.Core.LogEndOffset;
        }
        else
        {
            _activateAtOffset = long.MaxValue;
            RenounceController();
        }
    }

    private void MaybeActivate(long nowMs)
    {
        KafkaRaftCore core = _node.Core;
        QuorumController controller = _controller;
        if (controller.IsActive || core.Role != RaftRole.Leader || _node.AppliedOffset < _activateAtOffset)
        {
            return;
        }

        ControllerResult<ApiError> activation = controller.Activate(core.Epoch, core.LogEndOffset, nowMs);
        LogActivated(core.Epoch, core.LogEndOffset, activation.Records.Count);
        _nextControllerTickMs = nowMs + ControllerTickMs;
        AppendOwnResult("Activate", activation, nowMs);
    }

    private void TickController(long nowMs)
    {
        QuorumController controller = _controller;
        if (!controller.IsActive || nowMs < _nextControllerTickMs)
        {
            return;
        }

        _nextControllerTickMs = nowMs + ControllerTickMs;
        ControllerResult<TickResult> tick = controller.Tick(nowMs);
        if (tick.Response.FencedNodes.Count > 0)
        {
            LogFenced(string.Join(',', tick.Response.FencedNodes));
        }

        // The idle NoOp (every metadata.max.idle.interval.ms) would be a trace twice a second: not traced.
        AppendOwnResult("Tick", tick, nowMs, trace: !tick.Response.WroteNoOp);
    }

    private void RenounceController()
    {
        _linger.Clear();
        _lingerDeadlineMs = long.MaxValue;
        if (_controller.IsActive)
        {
            _controller.Renounce();
            LogRenounced(Status.Epoch);
        }

        _controllerActive = false;

        foreach (PendingResponse pending in _pendingResponses)
        {
            pending.Fail(new NotControllerException($"Node {NodeId} lost the leadership before the records were committed."));
        }

        _pendingResponses.Clear();
    }

    private sealed record PendingResponse(long ResponseOffset, Action Respond, Action<Exception> Fail);

    [LoggerMessage(Level = LogLevel.Information, Message = "Active controller in epoch {Epoch} from offset {Offset} ({Records} bootstrap record(s))")]
    private partial void LogActivated(int epoch, long offset, int records);

    [LoggerMessage(Level = LogLevel.Information, Message = "Controller renounced in epoch {Epoch}")]
    private partial void LogRenounced(int epoch);

    [LoggerMessage(Level = LogLevel.Information, Message = "Fenced node(s) {Nodes}: their lease expired")]
    private partial void LogFenced(string nodes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Append to the metadata log failed ({Error}): expected base offset {Expected}, got {Actual}; renouncing")]
    private partial void LogProposeFailed(string error, long expected, long actual);
}
