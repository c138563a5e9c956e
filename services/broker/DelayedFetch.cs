using Aspire.Kafka.Storage;

namespace Aspire.Kafka.Broker;

/// <summary>The fetch-wide parameters of a Fetch request (Kafka's FetchParams).</summary>
internal sealed record FetchParams(int ReplicaId, int MaxWaitMs, int MinBytes, int MaxBytes, sbyte IsolationLevel, short Version, string? ListenerName)
{
    public bool IsFromFollower => ReplicaId >= 0;
}

/// <summary>
/// A Fetch waiting for min.bytes of new data or max.wait.ms (Kafka's DelayedFetch): completes
/// early when enough bytes became readable (high watermark for consumers, log end for
/// followers), a partition changed leadership or disappeared, or the log was truncated below the
/// fetch offset; then reads again.
/// </summary>
internal sealed class DelayedFetch(
    ReplicaManager replicaManager,
    FetchParams fetchParams,
    IReadOnlyList<FetchPartitionRequest> partitions,
    IReadOnlyDictionary<TopicPartition, LogOffsetMetadata> fetchOffsetMetadata) : DelayedOperation
{
    private readonly TaskCompletionSource<IReadOnlyList<FetchPartitionResult>> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<IReadOnlyList<FetchPartitionResult>> Result => _done.Task;

    public override bool TryComplete()
    {
        long accumulated = 0;
        foreach (FetchPartitionRequest request in partitions)
        {
            Partition? partition = replicaManager.GetPartition(request.TopicPartition);
            if (partition is null || !partition.IsLeader
                || (request.CurrentLeaderEpoch >= 0 && request.CurrentLeaderEpoch != partition.LeaderEpoch))
            {
                return ForceComplete();
            }

            long endOffset = fetchParams.IsFromFollower ? partition.LogEndOffset : partition.HighWatermark;
            if (endOffset == request.FetchOffset)
            {
                continue;
            }

            if (endOffset < request.FetchOffset)
            {
                return ForceComplete();
            }

            if (!fetchOffsetMetadata.TryGetValue(request.TopicPartition, out LogOffsetMetadata? start) || start.SegmentBaseOffset < 0)
            {
                return ForceComplete();
            }

            LogOffsetMetadata end;
            try
            {
                end = partition.Log.ConvertToOffsetMetadata(endOffset);
            }
            catch (Exception e) when (e is KafkaStorageException or ObjectDisposedException or IOException)
            {
                return ForceComplete();
            }

            if (!start.OnSameSegment(end))
            {
                return ForceComplete();
            }

            accumulated += Math.Min(request.PartitionMaxBytes, Math.Max(0, end.RelativePositionInSegment - start.RelativePositionInSegment));
        }

        return accumulated >= fetchParams.MinBytes && ForceComplete();
    }

    protected override void OnComplete()
    {
        try
        {
            _done.TrySetResult(replicaManager.ReadFromLocalLog(fetchParams, partitions, updateFollowerState: false).Results);
        }
        catch (Exception e)
        {
            _done.TrySetException(e);
        }
    }
}
