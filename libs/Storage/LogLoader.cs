using System.Globalization;
using Aspire.Kafka.Protocol;

namespace Aspire.Kafka.Storage;

/// <summary>What <see cref="LogLoader.Load"/> hands to the <see cref="UnifiedLog"/> it opens: the log as found and repaired.</summary>
internal sealed record LoadedLog(
    LogSegment[] Segments,
    LogOffsetMetadata LogEndOffsetMetadata,
    long LogStartOffset,
    long RecoveryPoint,
    long HighWatermark,
    ProducerStateManager ProducerState,
    KafkaUuid? TopicId,
    LogLoadResult Result);

/// <summary>
/// Opens a log directory (Kafka's LogLoader): removes or completes leftovers of interrupted
/// deletes, cleanings and swaps, opens the segments, checks or rebuilds their indexes, recovers
/// every segment from the recovery point on unless the log dir was shut down cleanly (CRC, torn
/// tail, segments after a corruption), trims the leader-epoch cache, rebuilds the producer state
/// and reads or writes partition.metadata. One loader loads one log once; it keeps nothing.
/// </summary>
internal sealed class LogLoader
{
    private readonly string _dir;
    private readonly TopicPartition _topicPartition;
    private readonly LogConfig _config;
    private readonly UnifiedLogOptions _options;
    private readonly LeaderEpochFileCache _epochs;
    private readonly IStorageLogger _logger;
    private readonly HashSet<LogSegment> _recoveredAtLoad = [];
    private int _recovered;

    internal LogLoader(string dir, TopicPartition topicPartition, LogConfig config, UnifiedLogOptions options, LeaderEpochFileCache epochs)
    {
        _dir = dir;
        _topicPartition = topicPartition;
        _config = config;
        _options = options;
        _epochs = epochs;
        _logger = options.Logger;
    }

    private long NowMs => _options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Loads the log; on failure every segment it opened is closed again.</summary>
    internal LoadedLog Load()
    {
        var options = _options;
        int swapsCompleted = CleanLeftovers();
        var producerState = new ProducerStateManager(_topicPartition, _dir, options.ProducerIdExpirationMs, _logger);
        var baseOffsets = Directory.EnumerateFiles(_dir, "*" + LogSegment.LogFileSuffix)
            .Select(f => Path.GetFileName(f))
            .Select(n => long.TryParse(n.AsSpan(0, n.Length - LogSegment.LogFileSuffix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out long o) ? o : -1)
            .Where(o => o >= 0)
            .Order()
            .ToList();

        var config = _config;
        long now = NowMs;
        var segments = new List<LogSegment>();
        int rebuilt = 0;
        long truncatedBytes = 0;
        int deletedAfterCorruption = 0;
        try
        {
            for (int n = 0; n < baseOffsets.Count; n++)
            {
                long baseOffset = baseOffsets[n];
                bool willRecover = !options.HadCleanShutdown && (n + 1 == baseOffsets.Count || baseOffsets[n + 1] > options.RecoveryPoint);
                bool indexesPresent = File.Exists(Path.Combine(_dir, FileUtil.SegmentFileName(baseOffset, LogSegment.IndexFileSuffix)))
                    && File.Exists(Path.Combine(_dir, FileUtil.SegmentFileName(baseOffset, LogSegment.TimeIndexFileSuffix)));
                var segment = LogSegment.Open(_dir, baseOffset, config, now);
                segments.Add(segment);
                if (willRecover)
                {
                    continue;
                }

                if (!indexesPresent && segment.Size > 0)
                {
                    _logger.Log(StorageLogLevel.Warning, $"Index files of {segment.LogFilePath} are missing: rebuilding them.");
                    truncatedBytes += RecoverSegment(segment);
                    rebuilt++;
                    continue;
                }

                try
                {
                    segment.SanityCheck(full: true);
                }
                catch (CorruptIndexException e)
                {
                    _logger.Log(StorageLogLevel.Warning, $"{e.Message} Rebuilding the indexes of {segment.LogFilePath}.");
                    truncatedBytes += RecoverSegment(segment);
                    rebuilt++;
                }
            }

            if (!options.HadCleanShutdown)
            {
                // Every segment holding offsets at or after the recovery point may have lost bytes.
                for (int i = 0; i < segments.Count; i++)
                {
                    long next = i + 1 < segments.Count ? segments[i + 1].BaseOffset : long.MaxValue;
                    if (next <= options.RecoveryPoint)
                    {
                        continue;
                    }

                    int before = segments[i].Size;
                    int truncated = RecoverSegment(segments[i]);
                    if (truncated > 0 && segments[i].TrailingZeroBytes == truncated
                        && (i + 1 == segments.Count || segments[i + 1].BaseOffset == segments[i].ReadNextOffset()))
                    {
                        // Zeros that preallocate=true wrote ahead of the end, and the next segment
                        // (if any) starts right after the last batch: nothing was lost.
                        _logger.Log(StorageLogLevel.Information, string.Create(CultureInfo.InvariantCulture,
                            $"Recovery of {_topicPartition}: trimmed {truncated} zero bytes written ahead of the end of segment {segments[i].BaseOffset}."));
                        continue;
                    }

                    truncatedBytes += truncated;
                    if (truncated > 0)
                    {
                        _logger.Log(StorageLogLevel.Warning, string.Create(CultureInfo.InvariantCulture,
                            $"Recovery of {_topicPartition}: segment {segments[i].BaseOffset} had an invalid tail; truncated {truncated} of {before} bytes."));
                        for (int j = segments.Count - 1; j > i; j--)
                        {
                            _logger.Log(StorageLogLevel.Warning, string.Create(CultureInfo.InvariantCulture,
                                $"Recovery of {_topicPartition}: deleting segment {segments[j].BaseOffset} ({segments[j].Size} bytes) after the corruption."));
                            truncatedBytes += segments[j].Size;
                            segments[j].DeleteFiles();
                            segments.RemoveAt(j);
                            deletedAfterCorruption++;
                        }

                        break;
                    }
                }
            }

            if (segments.Count == 0)
            {
                segments.Add(LogSegment.Open(_dir, options.LogStartOffset, config, now));
            }

            for (int i = 0; i < segments.Count - 1; i++)
            {
                if (_recoveredAtLoad.Contains(segments[i]))
                {
                    // Rebuilt indexes are preallocated: give them their final entry and trim them.
                    segments[i].OnBecomeInactiveSegment();
                }
                else
                {
                    segments[i].OffsetIndex.Unload();
                    segments[i].TimeIndex.Unload();
                }
            }

            _recoveredAtLoad.Clear();

            var active = segments[^1];
            active.OnBecomeActiveSegment();
            long leo = active.ReadNextOffset();
            LogSegment[] loaded = [.. segments];
            long logStartOffset = Math.Clamp(options.LogStartOffset, segments[0].BaseOffset, leo);
            if (!options.HadCleanShutdown && _recovered > 0)
            {
                foreach (var s in segments)
                {
                    s.Flush();
                }
            }

            long highWatermark = Math.Clamp(options.HighWatermark ?? leo, logStartOffset, leo);
            _epochs.TruncateFromEnd(leo);
            _epochs.TruncateFromStart(logStartOffset);

            // Snapshots of segments deleted before the last shutdown; then Kafka's loadProducerState.
            producerState.DeleteSnapshotsBefore(segments[0].BaseOffset);
            long producerBatchesRead = RebuildProducerState(producerState, loaded, logStartOffset, leo, NowMs);
            long? producerSnapshotOffset = producerState.LatestSnapshotOffset;
            KafkaUuid? topicId = LoadTopicId();
            var result = new LogLoadResult(segments.Count, _recovered, truncatedBytes, deletedAfterCorruption, rebuilt, swapsCompleted)
            {
                ProducerStateBatchesRead = producerBatchesRead,
                ProducerSnapshotOffset = producerSnapshotOffset,
            };
            return new LoadedLog(loaded, new LogOffsetMetadata(leo, active.BaseOffset, active.Size), logStartOffset, leo, highWatermark,
                producerState, topicId, result);
        }
        catch
        {
            foreach (var s in segments)
            {
                s.Dispose();
            }

            throw;
        }
    }

    /// <summary>
    /// Kafka's rebuildProducerState up to <paramref name="lastOffset"/> (the log end offset), at load
    /// and after a truncation: drop snapshots above it, load the newest valid one unless the state is
    /// already there, then read the batch headers from the snapshot's offset (or the log start) on.
    /// Returns the batches read.
    /// </summary>
    internal static long RebuildProducerState(ProducerStateManager producerState, LogSegment[] segments, long logStartOffset, long lastOffset, long nowMs)
    {
        // No producer before a truncation: none after it either (Kafka's shortcut for logs without idempotent producers).
        bool emptyBeforeTruncation = producerState.IsEmpty && producerState.MapEndOffset >= lastOffset;
        producerState.TruncateAndReload(logStartOffset, lastOffset, nowMs);
        long read = 0;
        if (lastOffset > producerState.MapEndOffset && !emptyBeforeTruncation)
        {
            long start = Math.Max(producerState.MapEndOffset, logStartOffset);
            List<ProducerAppendInfo>? producers = null;
            for (int i = 0; i < segments.Length; i++)
            {
                var segment = segments[i];
                if (i + 1 < segments.Length && segments[i + 1].BaseOffset <= start)
                {
                    continue;
                }

                int position = segment.BaseOffset >= start ? 0 : segment.TranslateOffset(start)?.Position ?? segment.Size;
                foreach (var header in segment.BatchHeaders(position))
                {
                    if (header.BaseOffset >= lastOffset)
                    {
                        break;
                    }

                    read++;
                    if (header.HasProducerId && header.LastOffset >= start)
                    {
                        producerState.PendingUpdate(ref producers, header.ProducerId, AppendOrigin.Replication).Append(header);
                    }
                }
            }

            producerState.Update(producers, lastOffset);
        }
        else
        {
            producerState.UpdateMapEndOffset(lastOffset);
        }

        return read;
    }

    private KafkaUuid? LoadTopicId()
    {
        var storedTopicId = PartitionMetadataFile.Read(_dir);
        if (_options.TopicId is not { } topicId)
        {
            return storedTopicId;
        }

        if (storedTopicId is { } stored && stored != topicId)
        {
            throw new KafkaStorageException($"The log of {_topicPartition} belongs to topic id {stored}, not {topicId}.");
        }

        if (storedTopicId is null)
        {
            PartitionMetadataFile.Write(_dir, topicId);
        }

        return topicId;
    }

    private int RecoverSegment(LogSegment segment)
    {
        _recovered++;
        _recoveredAtLoad.Add(segment);
        return segment.Recover(_config.MaxMessageBytes > 0 ? Math.Max(_config.MaxMessageBytes, _config.SegmentBytes) : int.MaxValue);
    }

    /// <summary>
    /// Kafka's leftovers at load: .deleted and .cleaned files and temp files go; a .swap log
    /// replaces the live segments in its offset range (the cleaner crashed after the point of no
    /// return); index files without a log go.
    /// </summary>
    private int CleanLeftovers()
    {
        int swaps = 0;
        foreach (var file in Directory.EnumerateFiles(_dir).ToList())
        {
            string name = Path.GetFileName(file);
            if (name.EndsWith(LogSegment.DeletedFileSuffix, StringComparison.Ordinal)
                || name.EndsWith(LogSegment.CleanedFileSuffix, StringComparison.Ordinal)
                || name.EndsWith(".tmp", StringComparison.Ordinal))
            {
                File.Delete(file);
            }
        }

        foreach (var file in Directory.EnumerateFiles(_dir, "*" + LogSegment.LogFileSuffix + LogSegment.SwapFileSuffix).Order(StringComparer.Ordinal).ToList())
        {
            string name = Path.GetFileName(file);
            if (!long.TryParse(name.AsSpan(0, 20), NumberStyles.None, CultureInfo.InvariantCulture, out long baseOffset))
            {
                continue;
            }

            long next = baseOffset;
            using (var swap = LogSegment.Open(_dir, baseOffset, _config, NowMs, LogSegment.SwapFileSuffix, preallocateIndexes: false))
            {
                foreach (var batch in swap.Batches())
                {
                    next = batch.LastOffset + 1;
                }
            }

            foreach (var live in Directory.EnumerateFiles(_dir, "*" + LogSegment.LogFileSuffix).ToList())
            {
                string liveName = Path.GetFileName(live);
                if (long.TryParse(liveName.AsSpan(0, 20), NumberStyles.None, CultureInfo.InvariantCulture, out long liveBase)
                    && liveBase >= baseOffset && liveBase < Math.Max(next, baseOffset + 1))
                {
                    File.Delete(live);
                    File.Delete(Path.Combine(_dir, FileUtil.SegmentFileName(liveBase, LogSegment.IndexFileSuffix)));
                    File.Delete(Path.Combine(_dir, FileUtil.SegmentFileName(liveBase, LogSegment.TimeIndexFileSuffix)));
                }
            }

            File.Move(file, Path.Combine(_dir, FileUtil.SegmentFileName(baseOffset, LogSegment.LogFileSuffix)));
            File.Delete(Path.Combine(_dir, FileUtil.SegmentFileName(baseOffset, LogSegment.IndexFileSuffix + LogSegment.SwapFileSuffix)));
            File.Delete(Path.Combine(_dir, FileUtil.SegmentFileName(baseOffset, LogSegment.TimeIndexFileSuffix + LogSegment.SwapFileSuffix)));
            _logger.Log(StorageLogLevel.Information, $"Completed the interrupted swap of {name} in {_topicPartition}.");
            swaps++;
        }

        foreach (var file in Directory.EnumerateFiles(_dir).ToList())
        {
            string name = Path.GetFileName(file);
            if (name.EndsWith(LogSegment.SwapFileSuffix, StringComparison.Ordinal))
            {
                File.Delete(file);
                continue;
            }

            if ((name.EndsWith(LogSegment.IndexFileSuffix, StringComparison.Ordinal) || name.EndsWith(LogSegment.TimeIndexFileSuffix, StringComparison.Ordinal))
                && name.Length > 20
                && !File.Exists(Path.Combine(_dir, name[..20] + LogSegment.LogFileSuffix)))
            {
                File.Delete(file);
            }
        }

        return swaps;
    }
}
