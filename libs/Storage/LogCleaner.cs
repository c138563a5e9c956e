using System.Buffers.Binary;
using System.Globalization;
using Aspire.Kafka.Records;

namespace Aspire.Kafka.Storage;

/// <summary>What one cleaning of one log did.</summary>
public sealed record CleanerStats(
    long FirstDirtyOffset,
    long FirstUncleanableOffset,
    int SegmentsCleaned,
    long RecordsRead,
    long RecordsRetained,
    long TombstonesRemoved,
    long BytesRead,
    long BytesWritten);

/// <summary>
/// Compaction (cleanup.policy=compact): keeps the newest record of each key. Works on the
/// inactive segments below the first uncleanable offset (the active segment, the high watermark
/// and min.compaction.lag.ms bound it), rewrites them keeping the original offsets, and swaps
/// each rewritten segment in crash-safely (.cleaned → .swap → live, old → .deleted).
/// </summary>
public sealed class LogCleaner(TimeProvider? time = null, IStorageLogger? logger = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly IStorageLogger _logger = logger ?? NullStorageLogger.Instance;

    /// <summary>The end of the part that may be cleaned: the active segment, the high watermark, min.compaction.lag.ms.</summary>
    public long FirstUncleanableOffset(UnifiedLog log)
    {
        var segments = log.Segments;
        long bound = Math.Min(segments[^1].BaseOffset, log.HighWatermark);
        long lag = log.Config.MinCompactionLagMs;
        if (lag > 0)
        {
            long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            foreach (var segment in segments)
            {
                if (segment.LargestTimestamp > now - lag)
                {
                    bound = Math.Min(bound, segment.BaseOffset);
                    break;
                }
            }
        }

        return bound;
    }

    /// <summary>dirty bytes / (clean + dirty bytes) over the cleanable part of the log.</summary>
    public double DirtyRatio(UnifiedLog log, long firstDirtyOffset)
    {
        var (clean, dirty) = CleanAndDirtyBytes(log, firstDirtyOffset, FirstUncleanableOffset(log));
        return clean + dirty == 0 ? 0 : (double)dirty / (clean + dirty);
    }

    /// <summary>True when the log is compacted and its dirty ratio reaches min.cleanable.dirty.ratio.</summary>
    public bool NeedsCleaning(UnifiedLog log, long firstDirtyOffset)
    {
        if (!log.Config.Compact)
        {
            return false;
        }

        var (clean, dirty) = CleanAndDirtyBytes(log, firstDirtyOffset, FirstUncleanableOffset(log));
        return dirty > 0 && (double)dirty / (clean + dirty) >= log.Config.MinCleanableDirtyRatio;
    }

    /// <summary>
    /// Cleans <paramref name="log"/>: builds key → latest offset over [first dirty, first
    /// uncleanable), then rewrites every inactive segment below the first uncleanable offset.
    /// Returns null when there is nothing to clean; the new first dirty offset is
    /// <see cref="CleanerStats.FirstUncleanableOffset"/>.
    /// </summary>
    public CleanerStats? Clean(UnifiedLog log, long firstDirtyOffset, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(log);
        long firstUncleanable = FirstUncleanableOffset(log);
        firstDirtyOffset = Math.Max(firstDirtyOffset, log.LogStartOffset);
        var segments = log.Segments;
        var toClean = new List<(LogSegment Segment, long Next)>();
        for (int i = 0; i < segments.Count - 1; i++)
        {
            if (segments[i + 1].BaseOffset <= firstUncleanable)
            {
                toClean.Add((segments[i], segments[i + 1].BaseOffset));
            }
        }

        if (toClean.Count == 0 || firstDirtyOffset >= firstUncleanable)
        {
            return null;
        }

        // 1. key → latest offset over the dirty part.
        var latest = new Dictionary<ReadOnlyMemory<byte>, long>(ByteKeyComparer.Instance);
        long bytesRead = 0;
        foreach (var (segment, next) in toClean)
        {
            if (next <= firstDirtyOffset)
            {
                continue;
            }

            foreach (var (batch, bytes) in ReadBatches(segment))
            {
                cancellationToken.ThrowIfCancellationRequested();
                bytesRead += bytes.Length;
                if (batch.LastOffset < firstDirtyOffset || IsControl(bytes))
                {
                    continue;
                }

                foreach (var record in RecordDecoding.Records(bytes))
                {
                    if (record.Key is { } key && record.Offset >= firstDirtyOffset && record.Offset < firstUncleanable)
                    {
                        latest[key.ToArray()] = record.Offset;
                    }
                }
            }
        }

        // 2. Rewrite each segment keeping the newest record of each key. The last batch of each
        // producer with state keeps its offsets (as an empty header if no record is left), as
        // Kafka's cleaner does, so that the producer state survives a rebuild from the log.
        var producerLastOffsets = log.ProducerLastOffsets();
        long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var config = log.Config;
        long read = 0;
        long retained = 0;
        long tombstonesRemoved = 0;
        long written = 0;
        int cleanedSegments = 0;
        foreach (var (segment, _) in toClean)
        {
            cancellationToken.ThrowIfCancellationRequested();
            bool keepTombstones = now - segment.LargestTimestamp < config.DeleteRetentionMs;
            foreach (var suffix in new[] { LogSegment.LogFileSuffix, LogSegment.IndexFileSuffix, LogSegment.TimeIndexFileSuffix })
            {
                File.Delete(Path.Combine(log.Dir, FileUtil.SegmentFileName(segment.BaseOffset, suffix + LogSegment.CleanedFileSuffix)));
            }

            var cleaned = LogSegment.Open(log.Dir, segment.BaseOffset, config, now, LogSegment.CleanedFileSuffix);
            try
            {
                foreach (var (batch, bytes) in ReadBatches(segment))
                {
                    if (IsControl(bytes))
                    {
                        cleaned.Append(bytes.Span);
                        written += bytes.Length;
                        continue;
                    }

                    var records = RecordDecoding.Records(bytes);
                    read += records.Count;
                    var keep = new List<Record>(records.Count);
                    foreach (var record in records)
                    {
                        if (record.Key is not { } key)
                        {
                            continue;
                        }

                        if (latest.TryGetValue(key, out long newest) && record.Offset < newest)
                        {
                            continue;
                        }

                        if (record.Value is null && !keepTombstones)
                        {
                            tombstonesRemoved++;
                            continue;
                        }

                        keep.Add(record);
                    }

                    retained += keep.Count;
                    if (keep.Count == records.Count)
                    {
                        cleaned.Append(bytes.Span);
                        written += bytes.Length;
                    }
                    else if (IsLastBatchOfProducer(bytes.Span, producerLastOffsets))
                    {
                        var rebuilt = RebuildKeepingOffsets(bytes.Span, keep);
                        cleaned.Append(rebuilt);
                        written += rebuilt.Length;
                    }
                    else if (keep.Count > 0)
                    {
                        var rebuilt = Rebuild(bytes.Span, keep);
                        cleaned.Append(rebuilt);
                        written += rebuilt.Length;
                    }
                }
            }
            catch
            {
                cleaned.DeleteFiles();
                throw;
            }

            if (log.ReplaceSegments(cleaned, [segment]))
            {
                cleanedSegments++;
            }
            else
            {
                _logger.Log(StorageLogLevel.Information, $"Cleaning of {log.TopicPartition} stopped: segment {segment.BaseOffset} left the log meanwhile.");
                break;
            }
        }

        var stats = new CleanerStats(firstDirtyOffset, firstUncleanable, cleanedSegments, read, retained, tombstonesRemoved, bytesRead, written);
        _logger.Log(StorageLogLevel.Information, string.Create(CultureInfo.InvariantCulture,
            $"Cleaned {log.TopicPartition} [{firstDirtyOffset}, {firstUncleanable}): {cleanedSegments} segments, {read} records read, {retained} kept, {tombstonesRemoved} tombstones removed, {bytesRead} → {written} bytes."));
        return stats;
    }

    private static (long Clean, long Dirty) CleanAndDirtyBytes(UnifiedLog log, long firstDirtyOffset, long firstUncleanable)
    {
        var segments = log.Segments;
        long clean = 0;
        long dirty = 0;
        for (int i = 0; i < segments.Count - 1; i++)
        {
            long next = segments[i + 1].BaseOffset;
            if (next > firstUncleanable)
            {
                break;
            }

            if (next <= firstDirtyOffset)
            {
                clean += segments[i].Size;
            }
            else
            {
                dirty += segments[i].Size;
            }
        }

        return (clean, dirty);
    }

    private static bool IsControl(ReadOnlyMemory<byte> batch) => RecordBatchHeader.Read(batch.Span).IsControl;

    private static IEnumerable<(BatchLocation Batch, ReadOnlyMemory<byte> Bytes)> ReadBatches(LogSegment segment)
    {
        foreach (var batch in segment.Batches())
        {
            var bytes = new byte[batch.Size];
            segment.ReadFully(batch.Position, bytes);
            yield return (batch, bytes);
        }
    }

    private static bool IsLastBatchOfProducer(ReadOnlySpan<byte> batch, Dictionary<long, long> producerLastOffsets)
    {
        var header = RecordBatchHeader.Read(batch);
        return header.HasProducerId && producerLastOffsets.TryGetValue(header.ProducerId, out long last)
            && last >= header.BaseOffset && last <= header.LastOffset;
    }

    /// <summary>
    /// The batch with only <paramref name="keep"/>, with its original base offset, last offset
    /// delta, sequences and max timestamp (so its last offset, last sequence and timestamp stay
    /// those of the producer state); with no record left, a 61-byte header (Kafka's empty batch,
    /// uncompressed).
    /// </summary>
    private static byte[] RebuildKeepingOffsets(ReadOnlySpan<byte> original, List<Record> keep)
    {
        var header = RecordBatchHeader.Read(original);
        byte[] bytes;
        if (keep.Count == 0)
        {
            bytes = new byte[RecordBatch.HeaderSize];
            var empty = header with
            {
                BatchLength = RecordBatch.HeaderSize - RecordBatch.LogOverhead,
                Attributes = (short)(header.Attributes & (RecordBatch.TimestampTypeMask | RecordBatch.TransactionalFlagMask | RecordBatch.ControlFlagMask)),
                BaseTimestamp = header.MaxTimestamp,
                RecordCount = 0,
            };
            empty.Write(bytes);
        }
        else
        {
            using var builder = new RecordBatchBuilder(header.CompressionType, header.BaseOffset, header.ProducerId, header.ProducerEpoch,
                header.BaseSequence, header.PartitionLeaderEpoch, TimestampType.CreateTime, header.IsTransactional);
            foreach (var record in keep)
            {
                builder.Append(record);
            }

            bytes = builder.Build();
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(RecordBatch.LastOffsetDeltaOffset), header.LastOffsetDelta);
            if (header.TimestampType == TimestampType.LogAppendTime)
            {
                RecordBatch.SetLogAppendTime(bytes, header.MaxTimestamp);
            }
            else
            {
                // The producer state's last timestamp (expiration) is the batch's max timestamp: keep it.
                RecordBatch.SetMaxTimestamp(bytes, header.MaxTimestamp);
            }
        }

        RecordBatch.WriteCrc(bytes);
        return bytes;
    }

    private static byte[] Rebuild(ReadOnlySpan<byte> original, List<Record> keep)
    {
        var header = RecordBatchHeader.Read(original);
        int baseSequence = header.BaseSequence >= 0 ? RecordBatch.IncrementSequence(header.BaseSequence, keep[0].Offset - header.BaseOffset) : RecordBatch.NoSequence;
        using var builder = new RecordBatchBuilder(header.CompressionType, keep[0].Offset, header.ProducerId, header.ProducerEpoch,
            baseSequence, header.PartitionLeaderEpoch, TimestampType.CreateTime, header.IsTransactional);
        foreach (var record in keep)
        {
            builder.Append(record);
        }

        var bytes = builder.Build();
        if (header.TimestampType == TimestampType.LogAppendTime)
        {
            RecordBatch.SetLogAppendTime(bytes, header.MaxTimestamp);
        }

        return bytes;
    }

    private sealed class ByteKeyComparer : IEqualityComparer<ReadOnlyMemory<byte>>
    {
        public static readonly ByteKeyComparer Instance = new();

        public bool Equals(ReadOnlyMemory<byte> x, ReadOnlyMemory<byte> y) => x.Span.SequenceEqual(y.Span);

        public int GetHashCode(ReadOnlyMemory<byte> obj)
        {
            var hash = new HashCode();
            hash.AddBytes(obj.Span);
            return hash.ToHashCode();
        }
    }
}
