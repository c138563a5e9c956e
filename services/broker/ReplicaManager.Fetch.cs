using Aspire.Kafka.Protocol;
using Aspire.Kafka.Storage;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Broker;

/// <summary>One partition's answer to a Fetch, before it becomes a response entry.</summary>
internal sealed class FetchPartitionResult(TopicPartition topicPartition, KafkaUuid topicId)
{
    public TopicPartition TopicPartition { get; } = topicPartition;

    public KafkaUuid TopicId { get; } = topicId;

    public ErrorCode Error { get; set; }

    public long HighWatermark { get; set; } = -1;

    public long LastStableOffset { get; set; } = -1;

    public long LogStartOffset { get; set; } = -1;

    /// <summary>The batches found, still in the segment file: read into the response only when it is built.</summary>
    public FileRecords Records { get; set; } = FileRecords.Empty;

    public (int Epoch, long EndOffset)? DivergingEpoch { get; set; }

    public LogOffsetMetadata? FetchOffsetMetadata { get; set; }
}

/// <summary>What one read over the requested partitions produced.</summary>
internal sealed record LocalReadResult(IReadOnlyList<FetchPartitionResult> Results, long BytesRead, bool AnyError, bool AnyDiverging);

public sealed partial class ReplicaManager
{
    /// <summary>
    /// Kafka's fetchMessages: reads what is there and, if that is less than min.bytes, waits up to
    /// max.wait.ms in the fetch purgatory for more. Consumers read up to the high watermark,
    /// followers (replica id ≥ 0) up to the log end, which also records their progress for the
    /// high watermark and the ISR. The records found stay in the segment files
    /// (<see cref="FetchPartitionResult.Records"/>): the caller decides how they reach the wire.
    /// </summary>
    internal async ValueTask<IReadOnlyList<FetchPartitionResult>> FetchMessagesAsync(FetchParams fetchParams, IReadOnlyList<FetchPartitionRequest> partitions,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fetchParams);
        LocalReadResult read = ReadFromLocalLog(fetchParams, partitions, updateFollowerState: fetchParams.IsFromFollower);
        if (fetchParams.MaxWaitMs <= 0 || partitions.Count == 0 || read.BytesRead >= Math.Max(1, fetchParams.MinBytes) || read.AnyError || read.AnyDiverging)
        {
            return read.Results;
        }

        var offsets = read.Results.Where(r => r.FetchOffsetMetadata is not null).ToDictionary(r => r.TopicPartition, r => r.FetchOffsetMetadata!);
        var delayed = new DelayedFetch(this, fetchParams, partitions, offsets);
        bool completed = FetchPurgatory.TryCompleteElseWatch(delayed, [.. partitions.Select(p => p.TopicPartition).Distinct()], TimeSpan.FromMilliseconds(fetchParams.MaxWaitMs));
        using CancellationTokenRegistration registration = completed ? default : cancellationToken.Register(static d => ((DelayedFetch)d!).ForceComplete(), delayed);
        return await delayed.Result.ConfigureAwait(false);
    }

    /// <summary>
    /// Reads each partition (Kafka's readFromLocalLog): at most the response's max bytes in total
    /// and each partition's max bytes, but always the first whole batch of the first partition
    /// that has data.
    /// </summary>
    internal LocalReadResult ReadFromLocalLog(FetchParams fetchParams, IReadOnlyList<FetchPartitionRequest> partitions, bool updateFollowerState)
    {
        var results = new List<FetchPartitionResult>(partitions.Count);
        long bytesRead = 0;
        int remaining = fetchParams.MaxBytes;
        bool anyError = false;
        bool anyDiverging = false;
        long now = NowMs;
        foreach (FetchPartitionRequest request in partitions)
        {
            var result = new FetchPartitionResult(request.TopicPartition, request.TopicId);
            results.Add(result);
            ErrorCode check = CheckLeader(request.TopicPartition, request.CurrentLeaderEpoch, out Partition? partition);
            if (check != ErrorCode.None || partition is null)
            {
                result.Error = check;
                anyError = true;
                continue;
            }

            UnifiedLog log = partition.Log;
            try
            {
                if (fetchParams.IsFromFollower && request.LastFetchedEpoch >= 0)
                {
                    (int epoch, long endOffset) = log.LeaderEpochCache.EndOffsetFor(request.LastFetchedEpoch, log.LogEndOffset);
                    if (epoch != request.LastFetchedEpoch || endOffset < request.FetchOffset)
                    {
                        result.DivergingEpoch = (epoch, endOffset);
                        result.HighWatermark = log.HighWatermark;
                        result.LastStableOffset = log.HighWatermark;
                        result.LogStartOffset = log.LogStartOffset;
                        anyDiverging = true;
                        continue;
                    }
                }

                if (updateFollowerState && fetchParams.IsFromFollower)
                {
                    (bool hwIncreased, IReadOnlyList<int>? expandTo) = partition.UpdateFollowerFetchState(fetchParams.ReplicaId, request.FetchOffset, now);
                    if (hwIncreased)
                    {
                        ProducePurgatory.CheckAndComplete(request.TopicPartition);
                        FetchPurgatory.CheckAndComplete(request.TopicPartition);
                    }

                    if (expandTo is not null)
                    {
                        _logger.LogInformation("Expanding the ISR of {Partition} to [{Isr}]: replica {Replica} caught up.",
                            request.TopicPartition, string.Join(',', expandTo), fetchParams.ReplicaId);
                        Metrics.IsrExpands.Add(1);
                        AlterPartitionManager.Submit(partition, expandTo);
                    }
                }

                long highWatermark = log.HighWatermark;
                long? maxOffset = fetchParams.IsFromFollower ? null : highWatermark;
                int limit = Math.Max(0, Math.Min(request.PartitionMaxBytes, remaining));
                FetchDataInfo info = log.Read(request.FetchOffset, limit, maxOffset, minOneMessage: bytesRead == 0);
                result.FetchOffsetMetadata = info.FetchOffsetMetadata;
                result.HighWatermark = highWatermark;
                result.LastStableOffset = highWatermark;
                result.LogStartOffset = log.LogStartOffset;
                if (!info.Records.IsEmpty)
                {
                    result.Records = info.Records;
                    bytesRead += info.Records.Length;
                    remaining = Math.Max(0, remaining - info.Records.Length);
                }
            }
            catch (OffsetOutOfRangeException e)
            {
                _logger.LogDebug("Fetch from {Partition}: {Message}", request.TopicPartition, e.Message);
                result.Error = ErrorCode.OffsetOutOfRange;
                result.HighWatermark = log.HighWatermark;
                result.LastStableOffset = log.HighWatermark;
                result.LogStartOffset = log.LogStartOffset;
                anyError = true;
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or KafkaStorageException)
            {
                _logger.LogError(e, "Reading {Partition} failed: {Message}", request.TopicPartition, e.Message);
                result.Error = ErrorCode.KafkaStorageError;
                anyError = true;
            }
        }

        return new LocalReadResult(results, bytesRead, anyError, anyDiverging);
    }
}
