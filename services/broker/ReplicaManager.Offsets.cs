using Aspire.Kafka.Storage;
using Aspire.Kafka.Protocol;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Broker;

/// <summary>One log dir as DescribeLogDirs shows it: the disk's sizes (-1 when unknown) and each hosted partition.</summary>
internal sealed record LogDirDescription(string Dir, long TotalBytes, long UsableBytes, IReadOnlyList<LogDirPartition> Partitions);

/// <summary>A partition's log in a log dir: its size on disk and how far this replica is behind the high watermark.</summary>
internal readonly record struct LogDirPartition(TopicPartition TopicPartition, long Size, long OffsetLag);

public sealed partial class ReplicaManager
{
    public const long LatestTimestamp = -1;
    public const long EarliestTimestamp = -2;
    public const long MaxTimestamp = -3;
    public const long EarliestLocalTimestamp = -4;

    /// <summary>
    /// Kafka's fetchOffsetForTimestamp: earliest (-2), latest (-1), max timestamp (-3), earliest
    /// local (-4), or the first offset at or after a timestamp; null when nothing matches. Consumers
    /// see only up to the high watermark; <paramref name="anyReplica"/> (debugging tools) may read a
    /// follower.
    /// </summary>
    internal (ErrorCode Error, TimestampAndOffset? Found) FetchOffsetForTimestamp(TopicPartition tp, long timestamp, int currentLeaderEpoch, bool isConsumer, bool anyReplica)
    {
        ErrorCode check = CheckLeader(tp, currentLeaderEpoch, out Partition? partition, anyReplica);
        if (check != ErrorCode.None || partition is null)
        {
            return (check, null);
        }

        UnifiedLog log = partition.Log;
        long lastFetchable = isConsumer ? log.HighWatermark : log.LogEndOffset;
        try
        {
            switch (timestamp)
            {
                case LatestTimestamp:
                    return (ErrorCode.None, new TimestampAndOffset(-1, lastFetchable, partition.LeaderEpoch));
                case EarliestTimestamp:
                case EarliestLocalTimestamp:
                    return (ErrorCode.None, new TimestampAndOffset(-1, log.LogStartOffset, log.LeaderEpochCache.EpochForOffset(log.LogStartOffset)));
                case < MaxTimestamp:
                    return (ErrorCode.InvalidRequest, null);
                default:
                    TimestampAndOffset? found = log.FetchOffsetByTimestamp(timestamp);
                    return (ErrorCode.None, found is { } f && isConsumer && f.Offset >= lastFetchable ? null : found);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or KafkaStorageException)
        {
            _logger.LogError(e, "ListOffsets on {Partition} failed: {Message}", tp, e.Message);
            return (ErrorCode.KafkaStorageError, null);
        }
    }

    /// <summary>Kafka's lastOffsetForLeaderEpoch: the end offset of <paramref name="leaderEpoch"/> on this leader (followers truncate to it).</summary>
    internal (ErrorCode Error, int Epoch, long EndOffset) LastOffsetForLeaderEpoch(TopicPartition tp, int currentLeaderEpoch, int leaderEpoch)
    {
        ErrorCode check = CheckLeader(tp, currentLeaderEpoch, out Partition? partition);
        if (check != ErrorCode.None || partition is null)
        {
            return (check, -1, -1);
        }

        (int epoch, long endOffset) = partition.Log.LeaderEpochCache.EndOffsetFor(leaderEpoch, partition.Log.LogEndOffset);
        return (ErrorCode.None, epoch, endOffset);
    }

    /// <summary>Kafka's deleteRecords for one partition: moves the log start offset up to <paramref name="offset"/> (-1: the high watermark); returns the new log start offset.</summary>
    internal (ErrorCode Error, long LowWatermark) DeleteRecords(TopicPartition tp, long offset)
    {
        ErrorCode check = CheckLeader(tp, -1, out Partition? partition);
        if (check != ErrorCode.None || partition is null)
        {
            return (check, -1);
        }

        UnifiedLog log = partition.Log;
        long target = offset == -1 ? log.HighWatermark : offset;
        if (target < 0 || target > log.HighWatermark)
        {
            return (ErrorCode.OffsetOutOfRange, -1);
        }

        try
        {
            if (log.MaybeIncrementLogStartOffset(target))
            {
                _logger.LogInformation("DeleteRecords moved the log start offset of {Partition} to {Offset}.", tp, log.LogStartOffset);
            }

            return (ErrorCode.None, log.LogStartOffset);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or KafkaStorageException)
        {
            return (ErrorCode.KafkaStorageError, -1);
        }
    }

    /// <summary>Each log dir with its partitions (only <paramref name="wanted"/> when given), sorted by topic and partition.</summary>
    internal IReadOnlyList<LogDirDescription> DescribeLogDirs(IReadOnlySet<TopicPartition>? wanted)
    {
        var dirs = new List<LogDirDescription>();
        foreach (string dir in LogManager.LogDirs)
        {
            long total = -1;
            long usable = -1;
            try
            {
                var drive = new DriveInfo(dir);
                total = drive.TotalSize;
                usable = drive.AvailableFreeSpace;
            }
            catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
            {
            }

            string prefix = dir + Path.DirectorySeparatorChar;
            var partitions = new List<LogDirPartition>();
            foreach (UnifiedLog log in LogManager.AllLogs
                .Where(l => l.Dir.StartsWith(prefix, StringComparison.Ordinal) && (wanted is null || wanted.Contains(l.TopicPartition)))
                .OrderBy(l => l.TopicPartition.Topic, StringComparer.Ordinal)
                .ThenBy(l => l.TopicPartition.Partition))
            {
                Partition? partition = GetPartition(log.TopicPartition);
                long lag = partition is null || partition.IsLeader ? 0 : Math.Max(0, partition.HighWatermark - log.LogEndOffset);
                partitions.Add(new LogDirPartition(log.TopicPartition, log.Size, lag));
            }

            dirs.Add(new LogDirDescription(dir, total, usable, partitions));
        }

        return dirs;
    }
}
