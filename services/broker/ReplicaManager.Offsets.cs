using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Storage;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Broker;

public sealed partial class ReplicaManager
{
    public const long LatestTimestamp = -1;
    public const long EarliestTimestamp = -2;
    public const long MaxTimestamp = -3;
    public const long EarliestLocalTimestamp = -4;

    /// <summary>ListOffsets v1+: earliest (-2), latest (-1), max timestamp (-3), earliest local (-4), or by timestamp.</summary>
    public ListOffsetsResponse HandleListOffsets(ListOffsetsRequest request, short version)
    {
        ArgumentNullException.ThrowIfNull(request);
        var response = new ListOffsetsResponse();
        foreach (ListOffsetsRequest.ListOffsetsTopic topic in request.Topics)
        {
            var topicResponse = new ListOffsetsResponse.ListOffsetsTopicResponse { Name = topic.Name };
            response.Topics.Add(topicResponse);
            foreach (ListOffsetsRequest.ListOffsetsPartition p in topic.Partitions)
            {
                var result = new ListOffsetsResponse.ListOffsetsPartitionResponse { PartitionIndex = p.PartitionIndex };
                topicResponse.Partitions.Add(result);
                var tp = new TopicPartition(topic.Name, p.PartitionIndex);
                // Replica id -2 (debugging tools) may read any replica; everyone else needs the leader.
                ErrorCode check = CheckLeader(tp, version >= 4 ? p.CurrentLeaderEpoch : -1, out Partition? partition, anyReplica: request.ReplicaId == -2);
                if (check != ErrorCode.None || partition is null)
                {
                    result.ErrorCode = (short)check;
                    continue;
                }

                UnifiedLog log = partition.Log;
                bool isConsumer = request.ReplicaId < 0;
                long lastFetchable = isConsumer ? log.HighWatermark : log.LogEndOffset;
                try
                {
                    TimestampAndOffset? found;
                    switch (p.Timestamp)
                    {
                        case LatestTimestamp:
                            found = new TimestampAndOffset(-1, lastFetchable, partition.LeaderEpoch);
                            break;
                        case EarliestTimestamp:
                        case EarliestLocalTimestamp:
                            found = new TimestampAndOffset(-1, log.LogStartOffset, log.LeaderEpochCache.EpochForOffset(log.LogStartOffset));
                            break;
                        default:
                            if (p.Timestamp < MaxTimestamp)
                            {
                                result.ErrorCode = (short)ErrorCode.InvalidRequest;
                                continue;
                            }

                            found = log.FetchOffsetByTimestamp(p.Timestamp);
                            if (found is { } f && isConsumer && f.Offset >= lastFetchable)
                            {
                                found = null;
                            }

                            break;
                    }

                    if (found is { } hit)
                    {
                        result.Offset = hit.Offset;
                        result.Timestamp = hit.Timestamp;
                        if (version >= 4)
                        {
                            result.LeaderEpoch = hit.LeaderEpoch ?? -1;
                        }
                    }
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException or KafkaStorageException)
                {
                    _logger.LogError(e, "ListOffsets on {Partition} failed: {Message}", tp, e.Message);
                    result.ErrorCode = (short)ErrorCode.KafkaStorageError;
                }
            }
        }

        return response;
    }

    /// <summary>OffsetForLeaderEpoch: the end offset of the requested epoch on the leader (followers truncate to it).</summary>
    public OffsetForLeaderEpochResponse HandleOffsetForLeaderEpoch(OffsetForLeaderEpochRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var response = new OffsetForLeaderEpochResponse();
        foreach (OffsetForLeaderEpochRequest.OffsetForLeaderTopic topic in request.Topics)
        {
            var topicResult = new OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult { Topic = topic.Topic };
            response.Topics.Add(topicResult);
            foreach (OffsetForLeaderEpochRequest.OffsetForLeaderPartition p in topic.Partitions)
            {
                var result = new OffsetForLeaderEpochResponse.EpochEndOffset { Partition = p.Partition };
                topicResult.Partitions.Add(result);
                var tp = new TopicPartition(topic.Topic, p.Partition);
                ErrorCode check = CheckLeader(tp, p.CurrentLeaderEpoch, out Partition? partition);
                if (check != ErrorCode.None || partition is null)
                {
                    result.ErrorCode = (short)check;
                    continue;
                }

                (int epoch, long endOffset) = partition.Log.LeaderEpochCache.EndOffsetFor(p.LeaderEpoch, partition.Log.LogEndOffset);
                result.LeaderEpoch = epoch;
                result.EndOffset = endOffset;
            }
        }

        return response;
    }

    /// <summary>DeleteRecords: moves each partition's log start offset up to the requested offset (-1: the high watermark).</summary>
    public DeleteRecordsResponse HandleDeleteRecords(DeleteRecordsRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var response = new DeleteRecordsResponse();
        foreach (DeleteRecordsRequest.DeleteRecordsTopic topic in request.Topics)
        {
            var topicResult = new DeleteRecordsResponse.DeleteRecordsTopicResult { Name = topic.Name };
            response.Topics.Add(topicResult);
            foreach (DeleteRecordsRequest.DeleteRecordsPartition p in topic.Partitions)
            {
                var result = new DeleteRecordsResponse.DeleteRecordsPartitionResult { PartitionIndex = p.PartitionIndex, LowWatermark = -1 };
                topicResult.Partitions.Add(result);
                var tp = new TopicPartition(topic.Name, p.PartitionIndex);
                ErrorCode check = CheckLeader(tp, -1, out Partition? partition);
                if (check != ErrorCode.None || partition is null)
                {
                    result.ErrorCode = (short)check;
                    continue;
                }

                UnifiedLog log = partition.Log;
                long offset = p.Offset == -1 ? log.HighWatermark : p.Offset;
                if (offset < 0 || offset > log.HighWatermark)
                {
                    result.ErrorCode = (short)ErrorCode.OffsetOutOfRange;
                    continue;
                }

                try
                {
                    if (log.MaybeIncrementLogStartOffset(offset))
                    {
                        _logger.LogInformation("DeleteRecords moved the log start offset of {Partition} to {Offset}.", tp, log.LogStartOffset);
                    }

                    result.LowWatermark = log.LogStartOffset;
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException or KafkaStorageException)
                {
                    result.ErrorCode = (short)ErrorCode.KafkaStorageError;
                }
            }
        }

        return response;
    }

    /// <summary>DescribeLogDirs: each log dir with its partitions' sizes (and, v4+, the disk's total and usable bytes).</summary>
    public DescribeLogDirsResponse HandleDescribeLogDirs(DescribeLogDirsRequest request, short version)
    {
        ArgumentNullException.ThrowIfNull(request);
        var response = new DescribeLogDirsResponse();
        HashSet<TopicPartition>? wanted = request.Topics is null
            ? null
            : [.. request.Topics.SelectMany(t => t.Partitions.Select(p => new TopicPartition(t.Topic, p)))];
        foreach (string dir in LogManager.LogDirs)
        {
            var result = new DescribeLogDirsResponse.DescribeLogDirsResult { LogDir = dir };
            if (version >= 4)
            {
                try
                {
                    var drive = new DriveInfo(dir);
                    result.TotalBytes = drive.TotalSize;
                    result.UsableBytes = drive.AvailableFreeSpace;
                }
                catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
                {
                    result.TotalBytes = -1;
                    result.UsableBytes = -1;
                }
            }

            string prefix = dir + Path.DirectorySeparatorChar;
            foreach (IGrouping<string, UnifiedLog> topic in LogManager.AllLogs
                .Where(l => l.Dir.StartsWith(prefix, StringComparison.Ordinal) && (wanted is null || wanted.Contains(l.TopicPartition)))
                .GroupBy(l => l.TopicPartition.Topic)
                .OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                var t = new DescribeLogDirsResponse.DescribeLogDirsTopic { Name = topic.Key };
                foreach (UnifiedLog log in topic.OrderBy(l => l.TopicPartition.Partition))
                {
                    Partition? partition = GetPartition(log.TopicPartition);
                    long lag = partition is null || partition.IsLeader ? 0 : Math.Max(0, partition.HighWatermark - log.LogEndOffset);
                    t.Partitions.Add(new DescribeLogDirsResponse.DescribeLogDirsPartition
                    {
                        PartitionIndex = log.TopicPartition.Partition,
                        PartitionSize = log.Size,
                        OffsetLag = lag,
                    });
                }

                result.Topics.Add(t);
            }

            response.Results.Add(result);
        }

        return response;
    }
}
