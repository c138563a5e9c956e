using System.Buffers.Binary;
using Aspire.Kafka.Client;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Records;

namespace Aspire.Kafka.Mirror;

/// <summary>
/// Copies the mirror partitions one source broker leads, as a replica fetcher does: one Fetch for
/// all of them from the position each has reached on the target (its log end offset), then the
/// whole batches fetched go to the target partition leaders in one MirrorAppend per target broker
/// (the offset-preserving append, libs/Protocol/Specs/clients). The target answers each partition
/// with its new log end offset, which is where that partition's next fetch starts; batches the
/// target already holds are skipped there, so a repeated round (a retry, a restart) never writes
/// twice, and nothing is written out of order: a partition's next fetch waits for its append.
/// <para>
/// Errors: a source leader change or an unreachable source broker ends this fetcher's round and
/// asks the <see cref="MirrorService"/> to refresh metadata (the partitions move to the fetcher
/// of their new leader); a target leader change refreshes the target metadata and the batches are
/// fetched again; a corrupt batch (CORRUPT_MESSAGE from the target's validation) or a topic that is
/// not this source's mirror (POLICY_VIOLATION) stops that partition with the reason (<see cref="MirrorState.Failed"/>).
/// </para>
/// </summary>
internal sealed partial class SourceFetcher(int sourceBroker, MirrorService service, ILogger logger)
{
    public int SourceBroker { get; } = sourceBroker;

    /// <summary>Runs rounds until cancelled or until the service moves every partition away (then it asks for a new fetcher when needed).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var backoff = new ExponentialBackoff(service.Settings.RetryBackoff, 2, TimeSpan.FromSeconds(10), 0.2);
        int failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            List<MirrorPartition> partitions = service.PartitionsLedBy(SourceBroker);
            if (partitions.Count == 0)
            {
                return;
            }

            try
            {
                await RoundAsync(partitions, cancellationToken).ConfigureAwait(false);
                failures = 0;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is KafkaClientException or IOException or TimeoutException)
            {
                LogRoundFailed(logger, SourceBroker, e.Message);
                foreach (MirrorPartition p in partitions)
                {
                    p.Reason = e.Message;
                }

                service.RequestRefresh();
                await Task.Delay(backoff.Backoff(failures++), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task RoundAsync(List<MirrorPartition> partitions, CancellationToken cancellationToken)
    {
        MirrorSettings settings = service.Settings;
        foreach (MirrorPartition p in partitions.Where(p => p.NextOffset < 0))
        {
            // Where the target is: the copy continues from its log end offset.
            p.NextOffset = (await service.Target.ListOffsetsAsync(p.Topic, p.Partition, OffsetSpec.Latest, cancellationToken).ConfigureAwait(false)).Offset;
        }

        KafkaNode leader = service.Source.Metadata.Brokers.GetValueOrDefault(SourceBroker)
            ?? throw new KafkaErrorException(ErrorCode.LeaderNotAvailable, $"source broker {SourceBroker} is not in the source metadata");
        KafkaConnection connection = await service.Source.Network.GetConnectionAsync(leader, cancellationToken).ConfigureAwait(false);
        short version = connection.ApiVersions?.LatestUsableVersion(ApiKeys.Fetch, new VersionRange(4, 12), connection.Endpoint) ?? 12;
        int perPartition = Math.Max(64 * 1024, settings.FetchMaxBytes / Math.Max(1, partitions.Count));
        var request = new FetchRequest
        {
            ReplicaId = -1,
            MaxWaitMs = settings.FetchMaxWaitMs,
            MinBytes = 1,
            MaxBytes = settings.FetchMaxBytes,
            IsolationLevel = 0, // everything, aborted transactions and their markers included: the copy is byte for byte
            SessionId = 0,
            SessionEpoch = -1,
            Topics =
            [
                .. partitions.GroupBy(p => p.Topic).Select(t => new FetchRequest.FetchTopic
                {
                    Topic = t.Key,
                    Partitions = [.. t.Select(p => new FetchRequest.FetchPartition { Partition = p.Partition, FetchOffset = p.NextOffset, PartitionMaxBytes = perPartition })],
                }),
            ],
        };
        FetchResponse response = await connection.SendAsync<FetchRequest, FetchResponse>(request, version,
            settings.RequestTimeout + TimeSpan.FromMilliseconds(settings.FetchMaxWaitMs), cancellationToken).ConfigureAwait(false);
        if (response.ErrorCode != 0)
        {
            throw new KafkaErrorException((ErrorCode)response.ErrorCode, $"Fetch from source broker {SourceBroker}");
        }

        var toAppend = new List<(MirrorPartition Partition, ReadOnlyMemory<byte> Batches, int Records)>();
        foreach (FetchResponse.FetchableTopicResponse topic in response.Responses)
        {
            foreach (FetchResponse.PartitionData data in topic.Partitions)
            {
                MirrorPartition? p = partitions.FirstOrDefault(x => x.Topic == topic.Topic && x.Partition == data.PartitionIndex);
                if (p is null)
                {
                    continue;
                }

                switch ((ErrorCode)data.ErrorCode)
                {
                    case ErrorCode.None:
                        p.SourceEndOffset = data.HighWatermark;
                        (ReadOnlyMemory<byte> batches, int records, long firstTimestamp) = WholeBatchesFrom(data.Records ?? ReadOnlyMemory<byte>.Empty, p.NextOffset);
                        if (batches.Length > 0)
                        {
                            p.OldestPendingTimestamp = firstTimestamp;
                            toAppend.Add((p, batches, records));
                        }
                        else if (p.LagRecords == 0)
                        {
                            p.OldestPendingTimestamp = -1;
                        }

                        break;
                    case ErrorCode.OffsetOutOfRange:
                        await ResetOutOfRangeAsync(p, cancellationToken).ConfigureAwait(false);
                        break;
                    case ErrorCode.NotLeaderOrFollower or ErrorCode.UnknownTopicOrPartition or ErrorCode.LeaderNotAvailable or ErrorCode.FencedLeaderEpoch:
                        p.Reason = $"source: {(ErrorCode)data.ErrorCode}";
                        service.RequestRefresh();
                        break;
                    default:
                        p.Reason = $"source: {(ErrorCode)data.ErrorCode}";
                        break;
                }
            }
        }

        if (toAppend.Count > 0)
        {
            await AppendAsync(toAppend, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The fetch offset fell outside the source log: below its start (retention deleted what the
    /// target never got) the copy continues from the source's log start and the target's log jumps
    /// there, as a follower's does; above its end (the source lost records the target has, e.g. an
    /// unclean leader election) the partition stops: the target is not overwritten.
    /// </summary>
    private async Task ResetOutOfRangeAsync(MirrorPartition p, CancellationToken cancellationToken)
    {
        long start = (await service.Source.ListOffsetsAsync(p.Topic, p.Partition, OffsetSpec.Earliest, cancellationToken).ConfigureAwait(false)).Offset;
        long end = (await service.Source.ListOffsetsAsync(p.Topic, p.Partition, OffsetSpec.Latest, cancellationToken).ConfigureAwait(false)).Offset;
        if (p.NextOffset < start)
        {
            LogSkippedDeleted(logger, p.Topic, p.Partition, p.NextOffset, start);
            p.NextOffset = start;
        }
        else if (p.NextOffset > end)
        {
            service.Fail(p, $"the target holds offsets up to {p.NextOffset}, beyond the source's end {end}: the source lost records (not overwritten)");
        }
    }

    /// <summary>
    /// The whole batches of a fetched record set that end at or after <paramref name="from"/> (a fetch
    /// may start inside a batch the target has, and end with a partial batch), their record count,
    /// and the first one's base timestamp.
    /// </summary>
    internal static (ReadOnlyMemory<byte> Batches, int Records, long FirstTimestamp) WholeBatchesFrom(ReadOnlyMemory<byte> records, long from)
    {
        ReadOnlySpan<byte> span = records.Span;
        int start = -1;
        int end = 0;
        int count = 0;
        long firstTimestamp = -1;
        int position = 0;
        while (span.Length - position >= RecordBatch.HeaderSize)
        {
            ReadOnlySpan<byte> batch = span[position..];
            int size = BinaryPrimitives.ReadInt32BigEndian(batch[RecordBatch.BatchLengthOffset..]) + RecordBatch.LogOverhead;
            if (size < RecordBatch.HeaderSize || size > batch.Length)
            {
                break; // a partial batch at the end of the fetch: the next fetch starts there
            }

            long lastOffset = BinaryPrimitives.ReadInt64BigEndian(batch) + BinaryPrimitives.ReadInt32BigEndian(batch[RecordBatch.LastOffsetDeltaOffset..]);
            if (lastOffset >= from)
            {
                if (start < 0)
                {
                    start = position;
                    firstTimestamp = BinaryPrimitives.ReadInt64BigEndian(batch[RecordBatch.BaseTimestampOffset..]);
                }

                count += BinaryPrimitives.ReadInt32BigEndian(batch[RecordBatch.RecordsCountOffset..]);
                end = position + size;
            }

            position += size;
        }

        return start < 0 ? (ReadOnlyMemory<byte>.Empty, 0, -1) : (records[start..end], count, firstTimestamp);
    }

    /// <summary>One MirrorAppend per target leader, concurrently; each partition then continues from the log end offset the target answered.</summary>
    private async Task AppendAsync(List<(MirrorPartition Partition, ReadOnlyMemory<byte> Batches, int Records)> toAppend, CancellationToken cancellationToken)
    {
        ClusterMetadata target = service.Target.Metadata;
        var byLeader = new Dictionary<int, List<(MirrorPartition Partition, ReadOnlyMemory<byte> Batches, int Records)>>();
        foreach (var entry in toAppend)
        {
            int leaderId = target.Topics.GetValueOrDefault(entry.Partition.Topic)?.Partition(entry.Partition.Partition)?.LeaderId ?? -1;
            if (leaderId < 0 || !target.Brokers.ContainsKey(leaderId))
            {
                entry.Partition.Reason = "target: no leader known";
                service.RequestRefresh();
                continue;
            }

            (byLeader.TryGetValue(leaderId, out var list) ? list : byLeader[leaderId] = []).Add(entry);
        }

        await Task.WhenAll(byLeader.Select(async group =>
        {
            KafkaNode node = target.Brokers[group.Key];
            using System.Diagnostics.Activity? span = MirrorTelemetry.Source.StartActivity("mirror.append", System.Diagnostics.ActivityKind.Client);
            span?.SetTag("mirror.source.broker", SourceBroker);
            span?.SetTag("mirror.target.broker", node.Id);
            span?.SetTag("mirror.partitions", group.Value.Count);
            span?.SetTag("mirror.records", group.Value.Sum(e => e.Records));
            var request = new MirrorAppendRequest
            {
                SourceCluster = service.Settings.SourceAlias,
                TimeoutMs = (int)service.Settings.RequestTimeout.TotalMilliseconds,
                Topics =
                [
                    .. group.Value.GroupBy(e => e.Partition.Topic).Select(t => new MirrorAppendRequest.MirrorAppendTopic
                    {
                        Name = t.Key,
                        Partitions = [.. t.Select(e => new MirrorAppendRequest.MirrorAppendPartition { Index = e.Partition.Partition, Records = e.Batches })],
                    }),
                ],
            };
            KafkaConnection connection = await service.Target.Network.GetConnectionAsync(node, cancellationToken).ConfigureAwait(false);
            MirrorAppendResponse response = await connection.SendAsync<MirrorAppendRequest, MirrorAppendResponse>(request, 0,
                service.Settings.RequestTimeout * 2, cancellationToken).ConfigureAwait(false);
            foreach (MirrorAppendResponse.MirrorAppendTopicResponse topic in response.Topics)
            {
                foreach (MirrorAppendResponse.MirrorAppendPartitionResponse answer in topic.Partitions)
                {
                    var entry = group.Value.First(e => e.Partition.Topic == topic.Name && e.Partition.Partition == answer.Index);
                    Completed(entry.Partition, answer, entry.Batches.Length, entry.Records);
                }
            }
        })).ConfigureAwait(false);
    }

    private void Completed(MirrorPartition p, MirrorAppendResponse.MirrorAppendPartitionResponse answer, int bytes, int records)
    {
        switch ((ErrorCode)answer.ErrorCode)
        {
            case ErrorCode.None:
                p.NextOffset = answer.LogEndOffset;
                p.Reason = null;
                Interlocked.Add(ref p.RecordsCopied, records);
                Interlocked.Add(ref p.BytesCopied, bytes);
                service.Metrics.Copied(records, bytes);
                if (p.LagRecords == 0)
                {
                    p.OldestPendingTimestamp = -1;
                }

                break;
            case ErrorCode.CorruptMessage or ErrorCode.PolicyViolation or ErrorCode.InvalidRequest or ErrorCode.MessageTooLarge:
                service.Fail(p, $"target refused the batches at offset {p.NextOffset}: {(ErrorCode)answer.ErrorCode} {answer.ErrorMessage}");
                break;
            default:
                // Leader moved, not enough replicas, timeouts: fetch again after a metadata refresh.
                p.Reason = $"target: {(ErrorCode)answer.ErrorCode} {answer.ErrorMessage}";
                p.NextOffset = -1;
                service.RequestRefresh();
                break;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Mirroring from source broker {Broker} failed, retrying: {Reason}")]
    private static partial void LogRoundFailed(ILogger logger, int broker, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Topic}-{Partition}: offsets {From} to {To} were deleted on the source before they were mirrored; the target's log continues at {To}.")]
    private static partial void LogSkippedDeleted(ILogger logger, string topic, int partition, long from, long to);
}
