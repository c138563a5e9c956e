using System.Collections.Concurrent;
using System.Diagnostics;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.ServiceDefaults.Kafka;
using Aspire.Kafka.Storage;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Broker;

/// <summary>
/// Replicates the partitions one source broker leads (Kafka's ReplicaFetcherThread): first
/// truncates each new partition to where it agrees with the leader (OffsetForLeaderEpoch with the
/// latest local epoch), then loops Fetch with this broker's id from the log end offset, appends
/// what comes back as follower (leader offsets and epochs kept), takes the leader's high
/// watermark and log start offset, truncates again on a diverging epoch, and resets to the
/// leader's range on OFFSET_OUT_OF_RANGE.
/// </summary>
internal sealed class ReplicaFetcherThread(string name, int leaderId, ReplicaManager replicaManager, IReplicaLeaderEndpoint endpoint, ILogger<ReplicaFetcherThread> logger)
{
    private readonly ConcurrentDictionary<TopicPartition, PartitionFetchState> _partitions = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    internal sealed class PartitionFetchState(KafkaUuid topicId, int leaderEpoch)
    {
        public KafkaUuid TopicId { get; } = topicId;

        public int LeaderEpoch { get; } = leaderEpoch;

        public bool Truncating { get; set; } = true;

        public long DelayedUntilMs { get; set; }
    }

    public string Name { get; } = name;

    public int LeaderId { get; } = leaderId;

    public int PartitionCount => _partitions.Count;

    public void Start() => _loop = Task.Run(() => RunAsync(_stop.Token));

    public void AddPartition(TopicPartition tp, KafkaUuid topicId, int leaderEpoch)
    {
        _partitions[tp] = new PartitionFetchState(topicId, leaderEpoch);
        _wake.Release();
    }

    public void RemovePartition(TopicPartition tp) => _partitions.TryRemove(tp, out _);

    public async Task StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        _stop.Dispose();
        _wake.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        TimeSpan backoff = TimeSpan.FromMilliseconds(Math.Max(1, replicaManager.Settings.ReplicaFetchBackoffMs));
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                long now = replicaManager.NowMs;
                var ready = _partitions.Where(p => p.Value.DelayedUntilMs <= now).ToList();
                if (ready.Count == 0)
                {
                    long next = _partitions.IsEmpty ? long.MaxValue : _partitions.Values.Min(p => p.DelayedUntilMs) - now;
                    TimeSpan wait = next == long.MaxValue ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(Math.Clamp(next, 1, 60_000));
                    await _wake.WaitAsync(wait, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                var truncating = ready.Where(p => p.Value.Truncating).ToList();
                if (truncating.Count > 0)
                {
                    await TruncateToEpochEndOffsetsAsync(truncating, cancellationToken).ConfigureAwait(false);
                }

                var fetching = ready.Where(p => !p.Value.Truncating).ToList();
                if (fetching.Count > 0)
                {
                    await FetchOnceAsync(fetching, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                logger.LogWarning("{Fetcher}: fetch from broker {Leader} failed: {Message}", Name, LeaderId, e.Message);
                long until = replicaManager.NowMs + (long)backoff.TotalMilliseconds;
                foreach (PartitionFetchState state in _partitions.Values)
                {
                    state.DelayedUntilMs = until;
                }
            }
        }
    }

    private bool IsCurrent(TopicPartition tp, PartitionFetchState state) =>
        _partitions.TryGetValue(tp, out PartitionFetchState? now) && ReferenceEquals(now, state);

    private void Delay(PartitionFetchState state) =>
        state.DelayedUntilMs = replicaManager.NowMs + replicaManager.Settings.ReplicaFetchBackoffMs;

    private async Task TruncateToEpochEndOffsetsAsync(List<KeyValuePair<TopicPartition, PartitionFetchState>> partitions, CancellationToken cancellationToken)
    {
        var request = new OffsetForLeaderEpochRequest { ReplicaId = replicaManager.NodeId };
        var asked = new List<KeyValuePair<TopicPartition, PartitionFetchState>>();
        foreach (var (tp, state) in partitions)
        {
            Partition? partition = replicaManager.GetPartition(tp);
            if (partition is null)
            {
                continue;
            }

            int? latest = partition.Log.LeaderEpochCache.LatestEpoch;
            if (latest is null)
            {
                // No epochs: nothing was ever written with one; fall back to the high watermark (Kafka does the same).
                partition.WithFollowerLock(state.LeaderEpoch, () => replicaManager.LogManager.TruncateTo(new Dictionary<TopicPartition, long> { [tp] = partition.Log.HighWatermark }));
                state.Truncating = false;
                continue;
            }

            OffsetForLeaderEpochRequest.OffsetForLeaderTopic? topic = request.Topics.FirstOrDefault(t => t.Topic == tp.Topic);
            if (topic is null)
            {
                topic = new OffsetForLeaderEpochRequest.OffsetForLeaderTopic { Topic = tp.Topic };
                request.Topics.Add(topic);
            }

            topic.Partitions.Add(new OffsetForLeaderEpochRequest.OffsetForLeaderPartition { Partition = tp.Partition, CurrentLeaderEpoch = state.LeaderEpoch, LeaderEpoch = latest.Value });
            asked.Add(new(tp, state));
        }

        if (asked.Count == 0)
        {
            return;
        }

        using Activity? span = StartSpan("kafka.replica.truncate", asked.Count);
        OffsetForLeaderEpochResponse response = await endpoint.OffsetForLeaderEpochAsync(LeaderId, request, cancellationToken).ConfigureAwait(false);
        foreach (var (tp, state) in asked)
        {
            OffsetForLeaderEpochResponse.EpochEndOffset? result = response.Topics.FirstOrDefault(t => t.Topic == tp.Topic)?.Partitions.FirstOrDefault(p => p.Partition == tp.Partition);
            Partition? partition = replicaManager.GetPartition(tp);
            if (result is null || partition is null || !IsCurrent(tp, state))
            {
                continue;
            }

            if (result.ErrorCode != 0)
            {
                logger.LogDebug("{Fetcher}: OffsetForLeaderEpoch for {Partition}: {Error}.", Name, tp, (ErrorCode)result.ErrorCode);
                Delay(state);
                continue;
            }

            TruncateToLeader(partition, state, result.LeaderEpoch, result.EndOffset);
            state.Truncating = false;
        }
    }

    /// <summary>Truncates to where this log agrees with the leader about <paramref name="leaderEpoch"/> ending at <paramref name="leaderEndOffset"/>.</summary>
    private void TruncateToLeader(Partition partition, PartitionFetchState state, int leaderEpoch, long leaderEndOffset)
    {
        UnifiedLog log = partition.Log;
        long target;
        if (leaderEpoch < 0 || leaderEndOffset < 0)
        {
            target = log.HighWatermark;
        }
        else
        {
            (int localEpoch, long localEnd) = log.LeaderEpochCache.EndOffsetFor(leaderEpoch, log.LogEndOffset);
            target = localEpoch < 0 ? Math.Min(leaderEndOffset, log.LogEndOffset) : Math.Min(leaderEndOffset, localEnd);
        }

        if (target < log.LogEndOffset)
        {
            Activity.Current?.AddEvent(new ActivityEvent("truncated", tags: new ActivityTagsCollection
            {
                ["kafka.topic"] = partition.TopicPartition.Topic,
                ["kafka.partition"] = partition.TopicPartition.Partition,
                ["kafka.log.end.offset"] = log.LogEndOffset,
                ["kafka.truncate.offset"] = target,
            }));
            partition.WithFollowerLock(state.LeaderEpoch, () =>
            {
                logger.LogInformation("Truncating {Partition} from {Leo} to {Target} to match leader {Leader} (epoch {Epoch} ends at {End}).",
                    partition.TopicPartition, log.LogEndOffset, target, LeaderId, leaderEpoch, leaderEndOffset);
                replicaManager.LogManager.TruncateTo(new Dictionary<TopicPartition, long> { [partition.TopicPartition] = target });
            });
        }
    }

    private async Task FetchOnceAsync(List<KeyValuePair<TopicPartition, PartitionFetchState>> partitions, CancellationToken cancellationToken)
    {
        BrokerSettings settings = replicaManager.Settings;
        var request = new FetchRequest
        {
            ReplicaId = replicaManager.NodeId,
            MaxWaitMs = settings.ReplicaFetchWaitMaxMs,
            MinBytes = settings.ReplicaFetchMinBytes,
            MaxBytes = settings.ReplicaFetchResponseMaxBytes,
            IsolationLevel = 0,
            SessionId = 0,
            SessionEpoch = FetchSessionCache.FinalEpoch,
        };
        var sent = new Dictionary<TopicPartition, (PartitionFetchState State, long FetchOffset)>();
        foreach (var (tp, state) in partitions)
        {
            Partition? partition = replicaManager.GetPartition(tp);
            if (partition is null)
            {
                continue;
            }

            FetchRequest.FetchTopic? topic = request.Topics.FirstOrDefault(t => t.Topic == tp.Topic);
            if (topic is null)
            {
                topic = new FetchRequest.FetchTopic { Topic = tp.Topic };
                request.Topics.Add(topic);
            }

            long fetchOffset = partition.Log.LogEndOffset;
            topic.Partitions.Add(new FetchRequest.FetchPartition
            {
                Partition = tp.Partition,
                CurrentLeaderEpoch = state.LeaderEpoch,
                FetchOffset = fetchOffset,
                LastFetchedEpoch = partition.Log.LeaderEpochCache.LatestEpoch ?? -1,
                LogStartOffset = partition.Log.LogStartOffset,
                PartitionMaxBytes = settings.ReplicaFetchMaxBytes,
            });
            sent[tp] = (state, fetchOffset);
        }

        if (sent.Count == 0)
        {
            return;
        }

        using Activity? span = StartSpan("kafka.replica.fetch", sent.Count);
        long bytes = 0;
        int withRecords = 0;
        short firstError = 0;
        try
        {
            FetchResponse response = await endpoint.FetchAsync(LeaderId, request, cancellationToken).ConfigureAwait(false);
            if (response.ErrorCode != 0)
            {
                firstError = response.ErrorCode;
                logger.LogWarning("{Fetcher}: fetch from broker {Leader} failed: {Error}.", Name, LeaderId, (ErrorCode)response.ErrorCode);
                foreach (var s in sent.Values)
                {
                    Delay(s.State);
                }

                return;
            }

            foreach (FetchResponse.FetchableTopicResponse topic in response.Responses)
            {
                foreach (FetchResponse.PartitionData data in topic.Partitions)
                {
                    if (firstError == 0 && data.ErrorCode != 0)
                    {
                        firstError = data.ErrorCode;
                    }

                    var tp = new TopicPartition(topic.Topic, data.PartitionIndex);
                    if (!sent.TryGetValue(tp, out var s) || !IsCurrent(tp, s.State) || replicaManager.GetPartition(tp) is not { } partition)
                    {
                        continue;
                    }

                    long appended = await ProcessPartitionDataAsync(partition, s.State, s.FetchOffset, data, cancellationToken).ConfigureAwait(false);
                    if (appended > 0)
                    {
                        bytes += appended;
                        withRecords++;
                    }
                }
            }
        }
        catch (Exception e) when (span is not null && MarkFailed(span, e))
        {
            throw; // not reached: the filter returns false
        }
        finally
        {
            if (span is not null)
            {
                span.SetTag("kafka.fetch.bytes", bytes);
                span.SetTag("kafka.fetch.partitions_with_records", withRecords);
                span.SetTag("kafka.error.code", (int)firstError);
                if (firstError != 0)
                {
                    span.SetTag("error.type", Server.RequestSpan.ErrorName(firstError));
                    span.SetStatus(ActivityStatusCode.Error);
                }
                else if (bytes == 0 && span.Status != ActivityStatusCode.Error && span.Events.Count() == 0)
                {
                    span.DoNotExport(); // an idle long poll
                }
            }
        }
    }

    /// <summary>A root span of this fetcher (null unless sampled), current for the rest of the calling method.</summary>
    private Activity? StartSpan(string name, int partitions)
    {
        Activity? span = BrokerTelemetry.ActivitySource.StartRootActivity(name, ActivityKind.Client);
        if (span is null)
        {
            return null;
        }

        if (span.IsAllDataRequested)
        {
            span.SetTag("kafka.leader.id", LeaderId);
            span.SetTag("kafka.replica.id", replicaManager.NodeId);
            span.SetTag("kafka.partitions", partitions);
            span.SetTag("kafka.fetcher", Name);
        }

        Activity.Current = span;
        return span;
    }

    private static bool MarkFailed(Activity span, Exception exception)
    {
        span.AddException(exception);
        span.SetStatus(ActivityStatusCode.Error, exception.GetType().Name);
        return false;
    }

    /// <summary>Handles one partition of a fetch response; returns the record bytes appended.</summary>
    private async Task<long> ProcessPartitionDataAsync(Partition partition, PartitionFetchState state, long fetchOffset, FetchResponse.PartitionData data, CancellationToken cancellationToken)
    {
        long appendedBytes = 0;
        TopicPartition tp = partition.TopicPartition;
        UnifiedLog log = partition.Log;
        switch ((ErrorCode)data.ErrorCode)
        {
            case ErrorCode.None:
                if (data.DivergingEpoch.Epoch >= 0 || data.DivergingEpoch.EndOffset >= 0)
                {
                    TruncateToLeader(partition, state, data.DivergingEpoch.Epoch, data.DivergingEpoch.EndOffset);
                    return 0;
                }

                if (data.Records is { Length: > 0 } records)
                {
                    try
                    {
                        partition.WithFollowerLock(state.LeaderEpoch, () =>
                        {
                            if (log.LogEndOffset == fetchOffset)
                            {
                                LogAppendInfo info = log.AppendAsFollower(records.Span);
                                replicaManager.Metrics.ReplicationBytesIn(tp.Topic, info.ValidBytes);
                                appendedBytes = info.ValidBytes;
                            }
                        });
                    }
                    catch (Exception e) when (e is InvalidRecordException or InvalidOffsetException or RecordTooLargeException)
                    {
                        logger.LogError("{Fetcher}: records of {Partition} from broker {Leader} cannot be appended: {Message}", Name, tp, LeaderId, e.Message);
                        Activity.Current?.AddException(e);
                        Delay(state);
                        return 0;
                    }
                }

                partition.UpdateFollowerHighWatermark(data.HighWatermark);
                if (data.LogStartOffset > log.LogStartOffset)
                {
                    log.MaybeIncrementLogStartOffset(Math.Min(data.LogStartOffset, log.HighWatermark));
                }

                return appendedBytes;

            case ErrorCode.OffsetOutOfRange:
                await HandleOffsetOutOfRangeAsync(partition, state, cancellationToken).ConfigureAwait(false);
                return 0;

            default:
                logger.LogDebug("{Fetcher}: fetch of {Partition} from broker {Leader}: {Error}.", Name, tp, LeaderId, (ErrorCode)data.ErrorCode);
                Delay(state);
                return 0;
        }
    }

    /// <summary>Kafka's handleOutOfRangeError: truncate to the leader's end when ahead, or restart at its start when behind.</summary>
    private async Task HandleOffsetOutOfRangeAsync(Partition partition, PartitionFetchState state, CancellationToken cancellationToken)
    {
        TopicPartition tp = partition.TopicPartition;
        long leaderEnd = await LeaderOffsetAsync(tp, state, ReplicaManager.LatestTimestamp, cancellationToken).ConfigureAwait(false);
        if (leaderEnd < 0)
        {
            Delay(state);
            return;
        }

        UnifiedLog log = partition.Log;
        if (leaderEnd < log.LogEndOffset)
        {
            partition.WithFollowerLock(state.LeaderEpoch, () => replicaManager.LogManager.TruncateTo(new Dictionary<TopicPartition, long> { [tp] = leaderEnd }));
            return;
        }

        long leaderStart = await LeaderOffsetAsync(tp, state, ReplicaManager.EarliestTimestamp, cancellationToken).ConfigureAwait(false);
        if (leaderStart > log.LogEndOffset)
        {
            partition.WithFollowerLock(state.LeaderEpoch, () =>
            {
                logger.LogInformation("{Partition} is behind the leader's log start {Start}; starting the log over there.", tp, leaderStart);
                log.TruncateFullyAndStartAt(leaderStart);
            });
        }
        else
        {
            Delay(state);
        }
    }

    private async Task<long> LeaderOffsetAsync(TopicPartition tp, PartitionFetchState state, long timestamp, CancellationToken cancellationToken)
    {
        var request = new ListOffsetsRequest
        {
            ReplicaId = replicaManager.NodeId,
            Topics =
            [
                new ListOffsetsRequest.ListOffsetsTopic
                {
                    Name = tp.Topic,
                    Partitions = [new ListOffsetsRequest.ListOffsetsPartition { PartitionIndex = tp.Partition, Timestamp = timestamp }],
                },
            ],
        };
        ListOffsetsResponse response = await endpoint.ListOffsetsAsync(LeaderId, request, cancellationToken).ConfigureAwait(false);
        ListOffsetsResponse.ListOffsetsPartitionResponse? p = response.Topics.FirstOrDefault()?.Partitions.FirstOrDefault();
        return p is null || p.ErrorCode != 0 ? -1 : p.Offset;
    }
}
