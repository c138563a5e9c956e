using Aspire.Kafka.Mirror.Control;
using Grpc.Core;

namespace Aspire.Kafka.Mirror;

/// <summary>The gRPC control API (Protos/mirror_control.proto) over the <see cref="MirrorService"/>.</summary>
public sealed partial class MirrorControlService(MirrorService mirror, GroupOffsetSync groups, ILogger<MirrorControlService> logger) : MirrorControl.MirrorControlBase
{
    public override Task<MirrorStatus> Describe(TopicsRequest request, ServerCallContext context) => Task.FromResult(Status(Topics(request)));

    public override Task<MirrorStatus> Pause(TopicsRequest request, ServerCallContext context)
    {
        IReadOnlyCollection<string>? topics = Topics(request);
        CheckKnown(topics);
        mirror.SetPaused(topics, paused: true);
        LogControl(logger, "pause", Describe(topics));
        return Task.FromResult(Status(topics));
    }

    public override Task<MirrorStatus> Resume(TopicsRequest request, ServerCallContext context)
    {
        IReadOnlyCollection<string>? topics = Topics(request);
        CheckKnown(topics);
        mirror.SetPaused(topics, paused: false);
        LogControl(logger, "resume", Describe(topics));
        return Task.FromResult(Status(topics));
    }

    public override async Task<MirrorStatus> Failover(TopicsRequest request, ServerCallContext context)
    {
        IReadOnlyCollection<string>? topics = Topics(request);
        CheckKnown(topics);
        LogControl(logger, "failover", Describe(topics));
        await FailoverAsync(topics, context.CancellationToken).ConfigureAwait(false);
        return Status(topics);
    }

    /// <summary>
    /// The planned switch-over: waits (up to the request's timeout) until every chosen partition's
    /// target has the source's end offset, syncs the group offsets once more, then fails over.
    /// </summary>
    public override async Task<MirrorStatus> Promote(PromoteRequest request, ServerCallContext context)
    {
        IReadOnlyCollection<string>? topics = request.Topics.Count == 0 ? null : [.. request.Topics];
        CheckKnown(topics);
        LogControl(logger, "promote", Describe(topics));
        TimeSpan timeout = TimeSpan.FromMilliseconds(request.TimeoutMs > 0 ? request.TimeoutMs : 30_000);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        deadline.CancelAfter(timeout);
        List<MirrorPartition> chosen = [.. mirror.Partitions.Where(p => topics is null || topics.Contains(p.Topic))];
        try
        {
            // Zero lag means the target has every record the source's high watermark covered at the
            // last fetch; a fresh fetch round happens at least every mirror.fetch.max.wait.ms.
            while (chosen.Any(p => p.State == MirrorState.Mirroring && (p.LagRecords > 0 || p.SourceEndOffset < 0 || p.NextOffset < 0)))
            {
                await Task.Delay(50, deadline.Token).ConfigureAwait(false); // polling interval
            }

            await groups.SyncAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"not promoted: after {timeout.TotalMilliseconds:0} ms the lag is {chosen.Sum(p => p.LagRecords)} records ({string.Join(", ", chosen.Where(p => p.LagRecords > 0).Select(p => $"{p.Topic}-{p.Partition}: {p.LagRecords}"))})"));
        }

        await FailoverAsync(topics, context.CancellationToken).ConfigureAwait(false);
        return Status(topics);
    }

    private async Task FailoverAsync(IReadOnlyCollection<string>? topics, CancellationToken cancellationToken)
    {
        try
        {
            await mirror.FailoverAsync(topics, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidOperationException or Client.KafkaClientException)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, e.Message));
        }
    }

    private void CheckKnown(IReadOnlyCollection<string>? topics)
    {
        if (topics?.FirstOrDefault(t => mirror.Partitions.All(p => p.Topic != t)) is { } unknown)
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"{unknown} is not a mirror topic of this mirror ({mirror.Settings.SourceAlias} → {mirror.Settings.TargetAlias})."));
        }
    }

    private static IReadOnlyCollection<string>? Topics(TopicsRequest request) => request.Topics.Count == 0 ? null : [.. request.Topics];

    private static string Describe(IReadOnlyCollection<string>? topics) => topics is null ? "every mirror topic" : string.Join(", ", topics);

    private MirrorStatus Status(IReadOnlyCollection<string>? topics)
    {
        long now = mirror.NowMs;
        var status = new MirrorStatus
        {
            SourceAlias = mirror.Settings.SourceAlias,
            TargetAlias = mirror.Settings.TargetAlias,
            SourceBootstrap = string.Join(',', mirror.Settings.SourceBootstrap),
            TargetBootstrap = string.Join(',', mirror.Settings.TargetBootstrap),
            LastGroupSyncMs = groups.LastSync?.ToUnixTimeMilliseconds() ?? 0,
            GroupSyncError = groups.LastError ?? "",
        };
        foreach (MirrorPartition p in mirror.Partitions.Where(p => topics is null || topics.Contains(p.Topic)))
        {
            status.Partitions.Add(new PartitionStatus
            {
                Topic = p.Topic,
                Partition = p.Partition,
                State = p.State.ToString(),
                Reason = p.Reason ?? "",
                SourceEndOffset = p.SourceEndOffset,
                TargetEndOffset = p.NextOffset,
                LagRecords = p.LagRecords,
                LagMs = p.LagMs(now),
            });
        }

        status.RefusedTopics.AddRange(mirror.RefusedTopics.Select(t => new RefusedTopic { Topic = t.Key, Reason = t.Value }));
        return status;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Control: {Operation} of {Topics}.")]
    private static partial void LogControl(ILogger logger, string operation, string topics);
}
