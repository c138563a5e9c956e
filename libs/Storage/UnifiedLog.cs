using System.Buffers.Binary;
using System.Globalization;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Records;

namespace Aspire.Kafka.Storage;

/// <summary>How to open a log: what the log dir's checkpoints say about it, and the environment.</summary>
public sealed record UnifiedLogOptions
{
    /// <summary>From recovery-point-offset-checkpoint: everything below is known to be on disk.</summary>
    public long RecoveryPoint { get; init; }

    /// <summary>From log-start-offset-checkpoint.</summary>
    public long LogStartOffset { get; init; }

    /// <summary>True when the log dir had a <c>.kafka_cleanshutdown</c> marker: no recovery scan.</summary>
    public bool HadCleanShutdown { get; init; }

    /// <summary>From replication-offset-checkpoint (the broker's); null: the log end offset.</summary>
    public long? HighWatermark { get; init; }

    public KafkaUuid? TopicId { get; init; }

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    public IStorageLogger Logger { get; init; } = NullStorageLogger.Instance;

    /// <summary>producer.id.expiration.ms (1 day): producers idle longer are removed (at load and by <see cref="UnifiedLog.RemoveExpiredProducers"/>).</summary>
    public long ProducerIdExpirationMs { get; init; } = LogManagerConfig.DefaultProducerIdExpirationMs;
}

/// <summary>What loading a log found and repaired.</summary>
public sealed record LogLoadResult(int SegmentsLoaded, int SegmentsRecovered, long BytesTruncated, int SegmentsDeletedAfterCorruption, int IndexesRebuilt, int SwapFilesCompleted)
{
    /// <summary>Batch headers read to rebuild the producer state (0 when a snapshot at the log end offset had it all).</summary>
    public long ProducerStateBatchesRead { get; init; }

    /// <summary>The offset of the producer snapshot the state was loaded from; null when it was rebuilt from the log start.</summary>
    public long? ProducerSnapshotOffset { get; init; }
}

/// <summary>What the log knows about one idempotent producer (for DescribeProducers).</summary>
public readonly record struct ActiveProducer(long ProducerId, short ProducerEpoch, int LastSequence, long LastOffset, long LastTimestamp, int CoordinatorEpoch, long CurrentTxnFirstOffset);

/// <summary>
/// One partition's log (Kafka's UnifiedLog): segments ordered by base offset, the last one
/// active. Appends, rolls, truncations and deletions take the log's lock; reads work on a
/// snapshot of the segments and the log end offset and never wait for an append.
/// </summary>
public sealed class UnifiedLog : IDisposable
{
    public const long EarliestTimestamp = -2;
    public const long LatestTimestamp = -1;
    public const long MaxTimestamp = -3;

    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly IStorageLogger _logger;
    private readonly long _rollJitterMs;
    private readonly List<Task> _pendingDeletes = [];
    private readonly CancellationTokenSource _closing = new();
    private LogSegment[] _segments;
    private LogOffsetMetadata _logEndOffsetMetadata;
    private LogConfig _config;
    private long _logStartOffset;
    private long _recoveryPoint;
    private long _highWatermark;
    private long _unflushedMessages;
    private long _lastFlushMs;
    private long _truncations;
    private Task _pendingFlush = Task.CompletedTask;
    private bool _closed;
    private ProducerStateManager _producerState = null!;
    private readonly long _producerIdExpirationMs;

    private UnifiedLog(string dir, TopicPartition topicPartition, LogConfig config, UnifiedLogOptions options, LeaderEpochFileCache epochs)
    {
        Dir = dir;
        TopicPartition = topicPartition;
        _config = config;
        _time = options.TimeProvider;
        _logger = options.Logger;
        LeaderEpochCache = epochs;
        _rollJitterMs = config.SegmentJitterMs > 0 ? Random.Shared.NextInt64(config.SegmentJitterMs) : 0;
        _segments = [];
        _logEndOffsetMetadata = new LogOffsetMetadata(0, 0, 0);
        _lastFlushMs = NowMs;
        _producerIdExpirationMs = options.ProducerIdExpirationMs;
    }

    public string Dir { get; private set; }

    public TopicPartition TopicPartition { get; }

    public KafkaUuid? TopicId { get; private set; }

    public LeaderEpochFileCache LeaderEpochCache { get; }

    public LogLoadResult LoadResult { get; private set; } = new(0, 0, 0, 0, 0, 0);

    public LogConfig Config => Volatile.Read(ref _config);

    public long LogStartOffset => Interlocked.Read(ref _logStartOffset);

    public long LogEndOffset => Volatile.Read(ref _logEndOffsetMetadata).MessageOffset;

    public LogOffsetMetadata LogEndOffsetMetadata => Volatile.Read(ref _logEndOffsetMetadata);

    public long HighWatermark => Interlocked.Read(ref _highWatermark);

    public long RecoveryPoint => Interlocked.Read(ref _recoveryPoint);

    public long UnflushedMessages => Interlocked.Read(ref _unflushedMessages);

    public long LastFlushTimeMs => Interlocked.Read(ref _lastFlushMs);

    public IReadOnlyList<LogSegment> Segments => Volatile.Read(ref _segments);

    public LogSegment ActiveSegment => Volatile.Read(ref _segments)[^1];

    public int NumberOfSegments => Volatile.Read(ref _segments).Length;

    /// <summary>Bytes in all segments.</summary>
    public long Size => Volatile.Read(ref _segments).Sum(s => (long)s.Size);

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>The producer state; callers outside this library use <see cref="ActiveProducers"/> (it is not thread-safe).</summary>
    internal ProducerStateManager ProducerStateManager => _producerState;

    /// <summary>Every producer id with state in this partition, copied under the log's lock.</summary>
    public IReadOnlyDictionary<long, ActiveProducer> ActiveProducers
    {
        get
        {
            lock (_lock)
            {
                return _producerState.ActiveProducers.ToDictionary(p => p.Key, p => new ActiveProducer(p.Key, p.Value.ProducerEpoch, p.Value.LastSeq,
                    p.Value.LastDataOffset, p.Value.LastTimestamp, p.Value.CoordinatorEpoch, p.Value.CurrentTxnFirstOffset));
            }
        }
    }

    /// <summary>How many producer ids have state in this partition (Kafka's ProducerIdCount is their sum over a broker's partitions).</summary>
    public int ActiveProducerCount
    {
        get
        {
            lock (_lock)
            {
                return _producerState.ActiveProducers.Count;
            }
        }
    }

    /// <summary>Removes producers idle for producer.id.expiration.ms (the LogManager's periodic check); returns how many.</summary>
    public int RemoveExpiredProducers()
    {
        lock (_lock)
        {
            return _closed ? 0 : _producerState.RemoveExpiredProducers(NowMs);
        }
    }

    /// <summary>producer id → offset of its last batch, for the cleaner (which keeps that batch).</summary>
    internal Dictionary<long, long> ProducerLastOffsets()
    {
        lock (_lock)
        {
            return _producerState.ActiveProducers.ToDictionary(p => p.Key, p => p.Value.LastDataOffset);
        }
    }

    /// <summary>
    /// Opens the log in <paramref name="dir"/> (created if missing): completes or discards
    /// interrupted swaps, opens segments, checks or rebuilds indexes and, unless the log dir was
    /// shut down cleanly, recovers every segment from the recovery point on.
    /// </summary>
    public static UnifiedLog Open(string dir, LogConfig config, UnifiedLogOptions? options = null)
    {
        options ??= new UnifiedLogOptions();
        Directory.CreateDirectory(dir);
        string name = Path.GetFileName(Path.TrimEndingDirectorySeparator(dir));
        if (!TopicPartition.TryParseDirectoryName(name, out var tp))
        {
            tp = new TopicPartition(name, 0);
        }

        var epochs = new LeaderEpochFileCache(Path.Combine(dir, LeaderEpochCheckpointFile.FileName));
        var log = new UnifiedLog(dir, tp, config, options, epochs);
        try
        {
            log.Load(options);
        }
        catch
        {
            log.Dispose();
            throw;
        }

        return log;
    }

    public void UpdateConfig(LogConfig config) => Volatile.Write(ref _config, config);

    // ------------------------------------------------------------------ append

    /// <summary>
    /// Appends producer batches as the leader: validates them, stamps base offsets from the log
    /// end offset, the leader epoch and (LogAppendTime) the append time, in place in
    /// <paramref name="records"/>, then writes them.
    /// </summary>
    /// <exception cref="InvalidRecordException">a batch that is truncated, corrupt or not magic 2.</exception>
    /// <exception cref="RecordTooLargeException">a batch above max.message.bytes, or more than a segment.</exception>
    /// <exception cref="InvalidProducerEpochException">an idempotent producer's batch with an epoch below the partition's.</exception>
    /// <exception cref="OutOfOrderSequenceException">an idempotent producer's batch that does not continue its sequence.</exception>
    /// <exception cref="InvalidTxnStateException">a transactional batch (not served).</exception>
    /// <param name="recordsValidated">
    /// true when the caller already ran <see cref="RecordSet.Validate"/> (CRC included) on these
    /// bytes, as the produce path does to answer per-partition errors: only the framing is checked again.
    /// </param>
    /// <returns>
    /// The offsets written; when a batch repeats one of its producer's last 5 batches (a retry),
    /// nothing is written and the result has <see cref="LogAppendInfo.IsDuplicate"/> set and the
    /// original batch's offsets, as Kafka answers such a produce.
    /// </returns>
    public LogAppendInfo AppendAsLeader(Span<byte> records, int leaderEpoch, bool recordsValidated = false)
    {
        var validation = recordsValidated ? CheckFraming(records) : Validate(records);
        if (validation.BatchCount == 0)
        {
            return EmptyAppend();
        }

        lock (_lock)
        {
            ThrowIfClosed();
            long now = NowMs;
            var config = Config;
            long offset = LogEndOffset;
            long firstOffset = offset;
            long maxTimestamp = RecordBatch.NoTimestamp;
            long offsetOfMax = offset;
            int position = 0;
            bool logAppendTimeType = config.MessageTimestampType == MessageTimestampType.LogAppendTime;
            List<ProducerAppendInfo>? producers = null;
            while (position < records.Length)
            {
                // The framing was checked above: read the few header fields in place.
                var batch = records[position..];
                int size = BinaryPrimitives.ReadInt32BigEndian(batch[RecordBatch.BatchLengthOffset..]) + RecordBatch.LogOverhead;
                batch = batch[..size];
                RecordBatch.SetBaseOffset(batch, offset);
                RecordBatch.SetPartitionLeaderEpoch(batch, leaderEpoch);
                if (logAppendTimeType)
                {
                    RecordBatch.SetLogAppendTime(batch, now);
                }

                long lastOffset = offset + BinaryPrimitives.ReadInt32BigEndian(batch[RecordBatch.LastOffsetDeltaOffset..]);
                long batchMaxTimestamp = BinaryPrimitives.ReadInt64BigEndian(batch[RecordBatch.MaxTimestampOffset..]);
                if (batchMaxTimestamp > maxTimestamp)
                {
                    maxTimestamp = batchMaxTimestamp;
                    offsetOfMax = lastOffset;
                }

                if (BinaryPrimitives.ReadInt64BigEndian(batch[RecordBatch.ProducerIdOffset..]) >= 0
                    && AnalyzeProducerBatch(batch, ref producers) is { } duplicate)
                {
                    return new LogAppendInfo(duplicate.FirstOffset, duplicate.LastOffset, duplicate.Timestamp, duplicate.LastOffset,
                        logAppendTimeType ? duplicate.Timestamp : RecordBatch.NoTimestamp, LogStartOffset,
                        validation.BatchCount, validation.RecordCount, validation.ValidBytes) { IsDuplicate = true };
                }

                offset = lastOffset + 1;
                position += size;
            }

            long logAppendTime = logAppendTimeType ? now : RecordBatch.NoTimestamp;
            AppendLocked(records, firstOffset, offset - 1, maxTimestamp, now, leaderEpoch, followerEpochs: null);
            UpdateProducerState(producers, offset);
            Interlocked.Add(ref _unflushedMessages, validation.RecordCount);
            MaybeFlushLocked();
            return new LogAppendInfo(firstOffset, offset - 1, maxTimestamp, offsetOfMax, logAppendTime, LogStartOffset,
                validation.BatchCount, validation.RecordCount, validation.ValidBytes);
        }
    }

    /// <summary>
    /// Appends batches fetched from the leader as they are (offsets and epochs kept). The first
    /// offset may not be below the log end offset.
    /// </summary>
    public LogAppendInfo AppendAsFollower(ReadOnlySpan<byte> records)
    {
        var validation = Validate(records);
        if (validation.BatchCount == 0)
        {
            return EmptyAppend();
        }

        lock (_lock)
        {
            ThrowIfClosed();
            long leo = LogEndOffset;
            if (validation.FirstOffset < leo)
            {
                throw new InvalidOffsetException(
                    $"Follower append to {TopicPartition} starts at offset {validation.FirstOffset}, below the log end offset {leo}.");
            }

            long maxTimestamp = RecordBatch.NoTimestamp;
            long offsetOfMax = validation.FirstOffset;
            long previousLast = leo - 1;
            var epochs = new List<(int Epoch, long Offset)>();
            List<ProducerAppendInfo>? producers = null;
            int position = 0;
            while (position < records.Length)
            {
                var header = RecordBatchHeader.Read(records[position..]);
                if (header.BaseOffset <= previousLast)
                {
                    throw new InvalidOffsetException($"Follower append to {TopicPartition}: offsets go backwards at batch base offset {header.BaseOffset}.");
                }

                if (header.MaxTimestamp > maxTimestamp)
                {
                    maxTimestamp = header.MaxTimestamp;
                    offsetOfMax = header.LastOffset;
                }

                if (header.PartitionLeaderEpoch >= 0)
                {
                    epochs.Add((header.PartitionLeaderEpoch, header.BaseOffset));
                }

                if (header.HasProducerId)
                {
                    ProducerAppendInfoFor(ref producers, header.ProducerId, AppendOrigin.Replication).Append(header);
                }

                previousLast = header.LastOffset;
                position += header.SizeInBytes;
            }

            AppendLocked(records, validation.FirstOffset, previousLast, maxTimestamp, NowMs, RecordBatch.NoPartitionLeaderEpoch, epochs);
            UpdateProducerState(producers, previousLast + 1);
            Interlocked.Add(ref _unflushedMessages, validation.RecordCount);
            MaybeFlushLocked();
            return new LogAppendInfo(validation.FirstOffset, previousLast, maxTimestamp, offsetOfMax, RecordBatch.NoTimestamp, LogStartOffset,
                validation.BatchCount, validation.RecordCount, validation.ValidBytes);
        }
    }

    /// <summary>Starts a new active segment at the log end offset (Kafka's roll).</summary>
    public LogSegment Roll()
    {
        lock (_lock)
        {
            ThrowIfClosed();
            return RollLocked(LogEndOffset);
        }
    }

    // ------------------------------------------------------------------ read

    /// <summary>
    /// Reads whole batches from <paramref name="startOffset"/>: at most <paramref name="maxLength"/>
    /// bytes unless the first batch alone is larger and <paramref name="minOneMessage"/> is set,
    /// and only batches wholly below <paramref name="maxOffset"/> (exclusive; the high watermark
    /// for consumers, null for the log end offset).
    /// </summary>
    /// <exception cref="OffsetOutOfRangeException">below the log start offset or above the log end offset.</exception>
    public FetchDataInfo Read(long startOffset, int maxLength, long? maxOffset = null, bool minOneMessage = true)
    {
        var segments = Volatile.Read(ref _segments);
        var leo = Volatile.Read(ref _logEndOffsetMetadata);
        long logStart = LogStartOffset;
        if (startOffset < logStart || startOffset > leo.MessageOffset)
        {
            throw new OffsetOutOfRangeException(
                $"Offset {startOffset} is out of range for {TopicPartition}: log start offset {logStart}, log end offset {leo.MessageOffset}.");
        }

        long upper = Math.Min(maxOffset ?? leo.MessageOffset, leo.MessageOffset);
        if (startOffset >= upper)
        {
            return FetchDataInfo.EmptyAt(startOffset == leo.MessageOffset ? leo : new LogOffsetMetadata(startOffset));
        }

        var upperMetadata = upper == leo.MessageOffset ? leo : ConvertToOffsetMetadata(segments, upper);
        int index = FloorSegmentIndex(segments, startOffset);
        for (int i = Math.Max(index, 0); i < segments.Length; i++)
        {
            var segment = segments[i];
            if (segment.BaseOffset > upperMetadata.SegmentBaseOffset && upperMetadata.SegmentBaseOffset >= 0)
            {
                break;
            }

            int maxPosition = segment.BaseOffset == upperMetadata.SegmentBaseOffset ? upperMetadata.RelativePositionInSegment : segment.Size;
            FetchDataInfo? info;
            try
            {
                info = segment.Read(startOffset, maxLength, maxPosition, minOneMessage);
            }
            catch (ObjectDisposedException)
            {
                // Deleted by retention or truncation meanwhile: the offset is gone.
                throw new OffsetOutOfRangeException($"Offset {startOffset} of {TopicPartition} was deleted while reading.");
            }

            if (info is not null)
            {
                return info;
            }
        }

        return FetchDataInfo.EmptyAt(leo);
    }

    /// <summary>
    /// ListOffsets: -2 earliest, -1 latest, -3 the record with the largest timestamp, else the
    /// first record whose timestamp is at least <paramref name="targetTimestamp"/>; null when none.
    /// </summary>
    public TimestampAndOffset? FetchOffsetByTimestamp(long targetTimestamp)
    {
        long logStart = LogStartOffset;
        if (targetTimestamp == EarliestTimestamp)
        {
            return new TimestampAndOffset(RecordBatch.NoTimestamp, logStart, LeaderEpochCache.EpochForOffset(logStart));
        }

        if (targetTimestamp == LatestTimestamp)
        {
            return new TimestampAndOffset(RecordBatch.NoTimestamp, LogEndOffset, LeaderEpochCache.LatestEpoch);
        }

        var segments = Volatile.Read(ref _segments);
        if (targetTimestamp == MaxTimestamp)
        {
            LogSegment? best = null;
            foreach (var segment in segments)
            {
                if (segment.MaxTimestampSoFar >= 0 && (best is null || segment.MaxTimestampSoFar > best.MaxTimestampSoFar))
                {
                    best = segment;
                }
            }

            return best?.FindOffsetByTimestamp(best.MaxTimestampSoFar, logStart);
        }

        foreach (var segment in segments)
        {
            if (segment.MaxTimestampSoFar >= targetTimestamp)
            {
                var found = segment.FindOffsetByTimestamp(targetTimestamp, logStart);
                if (found is not null)
                {
                    return found;
                }
            }
        }

        return null;
    }

    /// <summary>Where <paramref name="offset"/> sits (segment and position), for high watermark bookkeeping.</summary>
    public LogOffsetMetadata ConvertToOffsetMetadata(long offset)
    {
        var leo = LogEndOffsetMetadata;
        return offset == leo.MessageOffset ? leo : ConvertToOffsetMetadata(Volatile.Read(ref _segments), offset);
    }

    // ------------------------------------------------------------------ high watermark, start offset, truncation

    /// <summary>Sets the high watermark (clamped to [log start, log end]); returns the value kept.</summary>
    public long UpdateHighWatermark(long highWatermark)
    {
        lock (_lock)
        {
            long value = Math.Clamp(highWatermark, LogStartOffset, LogEndOffset);
            Interlocked.Exchange(ref _highWatermark, value);
            return value;
        }
    }

    /// <summary>
    /// DeleteRecords: moves the log start offset forward (never past the high watermark). The
    /// segments wholly below it are deleted by the next retention run.
    /// </summary>
    public bool MaybeIncrementLogStartOffset(long newLogStartOffset)
    {
        lock (_lock)
        {
            ThrowIfClosed();
            if (newLogStartOffset > HighWatermark)
            {
                throw new OffsetOutOfRangeException(
                    $"Cannot increment the log start offset of {TopicPartition} to {newLogStartOffset}: the high watermark is {HighWatermark}.");
            }

            if (newLogStartOffset <= LogStartOffset)
            {
                return false;
            }

            Interlocked.Exchange(ref _logStartOffset, newLogStartOffset);
            LeaderEpochCache.TruncateFromStart(newLogStartOffset);
            _producerState.OnLogStartOffsetIncremented(newLogStartOffset);
            if (RecoveryPoint < newLogStartOffset)
            {
                Interlocked.Exchange(ref _recoveryPoint, newLogStartOffset);
            }

            return true;
        }
    }

    /// <summary>
    /// Removes everything from <paramref name="targetOffset"/> on (a follower diverged from the
    /// leader). Returns false when the log already ends at or before it.
    /// </summary>
    public bool TruncateTo(long targetOffset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(targetOffset);
        lock (_lock)
        {
            ThrowIfClosed();
            if (targetOffset >= LogEndOffset)
            {
                return false;
            }

            var segments = _segments;
            if (segments[0].BaseOffset > targetOffset)
            {
                TruncateFullyAndStartAtLocked(targetOffset);
                return true;
            }

            Interlocked.Increment(ref _truncations);
            var removed = segments.Where(s => s.BaseOffset > targetOffset).ToList();
            var kept = segments.Where(s => s.BaseOffset <= targetOffset).ToArray();
            var active = kept[^1];
            int bytes = active.TruncateTo(targetOffset);
            if (removed.Count > 0)
            {
                active.OnBecomeActiveSegment();
            }

            Volatile.Write(ref _segments, kept);
            ScheduleDeletion(removed, "truncation");
            Volatile.Write(ref _logEndOffsetMetadata, new LogOffsetMetadata(targetOffset, active.BaseOffset, active.Size));
            LeaderEpochCache.TruncateFromEnd(targetOffset);
            Interlocked.Exchange(ref _recoveryPoint, Math.Min(RecoveryPoint, targetOffset));
            Interlocked.Exchange(ref _highWatermark, Math.Min(HighWatermark, targetOffset));
            if (targetOffset < LogStartOffset)
            {
                Interlocked.Exchange(ref _logStartOffset, targetOffset);
            }

            RebuildProducerState(targetOffset);

            _logger.Log(StorageLogLevel.Information, string.Create(CultureInfo.InvariantCulture,
                $"Truncated {TopicPartition} to offset {targetOffset}: {bytes} bytes from the active segment and {removed.Count} later segments removed."));
            return true;
        }
    }

    /// <summary>Deletes every segment and starts an empty log at <paramref name="newOffset"/>.</summary>
    public void TruncateFullyAndStartAt(long newOffset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(newOffset);
        lock (_lock)
        {
            ThrowIfClosed();
            TruncateFullyAndStartAtLocked(newOffset);
        }
    }

    // ------------------------------------------------------------------ retention

    /// <summary>
    /// Deletes inactive segments past retention.ms, beyond retention.bytes, or wholly below the
    /// log start offset (only the last for cleanup.policy=compact), never past the high
    /// watermark. Returns the number of segments deleted.
    /// </summary>
    public int DeleteOldSegments()
    {
        var config = Config;
        int deleted = 0;
        if (config.Delete)
        {
            if (config.RetentionMs >= 0)
            {
                long now = NowMs;
                deleted += DeleteSegments((s, _) => now - s.LargestTimestamp > config.RetentionMs,
                    $"retention time {config.RetentionMs} ms breached");
            }

            if (config.RetentionBytes >= 0)
            {
                long diff = Size - config.RetentionBytes;
                deleted += DeleteSegments((s, _) =>
                {
                    if (diff - s.Size >= 0)
                    {
                        diff -= s.Size;
                        return true;
                    }

                    return false;
                }, $"retention size {config.RetentionBytes} bytes breached");
            }
        }

        deleted += DeleteSegments((_, next) => next.BaseOffset <= LogStartOffset, "below the log start offset");
        return deleted;
    }

    // ------------------------------------------------------------------ flush and close

    /// <summary>fsyncs every segment up to the log end offset and moves the recovery point there.</summary>
    public void Flush() => FlushUpTo(LogEndOffset);

    /// <summary>fsyncs the segments holding offsets below <paramref name="offset"/> that are not yet known flushed.</summary>
    public void FlushUpTo(long offset)
    {
        LogSegment[] segments;
        long truncations;
        long recoveryPoint;
        lock (_lock)
        {
            if (_closed)
            {
                return;
            }

            segments = _segments;
            truncations = Interlocked.Read(ref _truncations);
            recoveryPoint = RecoveryPoint;
            offset = Math.Min(offset, LogEndOffset);
        }

        if (offset <= recoveryPoint)
        {
            return;
        }

        for (int i = 0; i < segments.Length; i++)
        {
            long next = i + 1 < segments.Length ? segments[i + 1].BaseOffset : long.MaxValue;
            if (segments[i].BaseOffset < offset && next > recoveryPoint)
            {
                try
                {
                    segments[i].Flush();
                }
                catch (ObjectDisposedException)
                {
                    // Deleted meanwhile.
                }
            }
        }

        FileUtil.FsyncDirectory(Dir);
        lock (_lock)
        {
            if (Interlocked.Read(ref _truncations) == truncations && offset > RecoveryPoint && offset <= LogEndOffset)
            {
                Interlocked.Exchange(ref _recoveryPoint, offset);
            }

            if (offset >= LogEndOffset)
            {
                Interlocked.Exchange(ref _unflushedMessages, 0);
            }

            Interlocked.Exchange(ref _lastFlushMs, NowMs);
        }
    }

    /// <summary>Waits for background work started by this log (the flush after a roll, delayed deletions).</summary>
    public async Task WaitForBackgroundWorkAsync()
    {
        Task[] tasks;
        lock (_lock)
        {
            tasks = [_pendingFlush, .. _pendingDeletes];
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    /// <summary>Flushes, closes the segments (indexes trimmed) and removes files awaiting deletion.</summary>
    public void Close()
    {
        lock (_lock)
        {
            if (_closed)
            {
                return;
            }
        }

        try
        {
            _pendingFlush.Wait();
        }
        catch (AggregateException)
        {
            // Reported by the flush itself.
        }

        Flush();
        lock (_lock)
        {
            if (!_closed)
            {
                try
                {
                    // Kafka's close: a snapshot at the log end offset, so the next load reads no batch.
                    _producerState.UpdateMapEndOffset(LogEndOffset);
                    _producerState.TakeSnapshot(sync: true);
                }
                catch (IOException e)
                {
                    _logger.Log(StorageLogLevel.Warning, $"Producer snapshot of {TopicPartition} at close failed: {e.Message}", e);
                }
            }
        }

        CloseCore();
    }

    /// <summary>Closes without flushing (the files stay as they are, as after a crash of this process).</summary>
    public void Dispose() => CloseCore();

    /// <summary>Closes the log and deletes its directory.</summary>
    public void Delete()
    {
        CloseCore();
        Directory.Delete(Dir, recursive: true);
    }

    internal void RenameDir(string newDir)
    {
        lock (_lock)
        {
            Directory.Move(Dir, newDir);
            Dir = newDir;
            _producerState.Dir = newDir;
        }
    }

    // ------------------------------------------------------------------ cleaner support

    /// <summary>
    /// Replaces <paramref name="oldSegments"/> (consecutive, inactive) with <paramref name="cleaned"/>
    /// (files with the .cleaned suffix): .cleaned → .swap, old → .deleted, .swap → live. Returns
    /// false (and deletes the cleaned files) when the old segments are no longer in the log.
    /// </summary>
    internal bool ReplaceSegments(LogSegment cleaned, IReadOnlyList<LogSegment> oldSegments)
    {
        lock (_lock)
        {
            var segments = _segments;
            int first = Array.IndexOf(segments, oldSegments[0]);
            bool present = !_closed && first >= 0 && first + oldSegments.Count < segments.Length;
            for (int i = 0; present && i < oldSegments.Count; i++)
            {
                present = segments[first + i] == oldSegments[i];
            }

            if (!present)
            {
                cleaned.DeleteFiles();
                return false;
            }

            cleaned.OffsetIndex.TrimToValidSize();
            cleaned.TimeIndex.TrimToValidSize();
            cleaned.Flush();
            cleaned.ChangeFileSuffixes(LogSegment.CleanedFileSuffix, LogSegment.SwapFileSuffix);
            FileUtil.FsyncDirectory(Dir);
            foreach (var old in oldSegments)
            {
                old.ChangeFileSuffixes(string.Empty, LogSegment.DeletedFileSuffix);
            }

            cleaned.ChangeFileSuffixes(LogSegment.SwapFileSuffix, string.Empty);
            FileUtil.FsyncDirectory(Dir);
            var updated = segments.Take(first).Append(cleaned).Concat(segments.Skip(first + oldSegments.Count)).ToArray();
            Volatile.Write(ref _segments, updated);
            ScheduleDeletion(oldSegments, "replaced by cleaning", alreadyRenamed: true);
            return true;
        }
    }

    // ------------------------------------------------------------------ internals

    private LogAppendInfo EmptyAppend() => new(-1, -1, RecordBatch.NoTimestamp, -1, RecordBatch.NoTimestamp, LogStartOffset, 0, 0, 0);

    private readonly record struct BatchesSummary(int BatchCount, long RecordCount, long FirstOffset, int ValidBytes);

    /// <summary>Framing only (whole magic-2 batches within the size limits), for batches whose CRC the caller checked.</summary>
    private BatchesSummary CheckFraming(ReadOnlySpan<byte> records)
    {
        var config = Config;
        int position = 0;
        int batches = 0;
        long count = 0;
        long firstOffset = -1;
        while (position < records.Length)
        {
            var rest = records[position..];
            if (RecordSet.TryReadBatch(rest, out int size) != RecordSetStatus.Complete || rest[RecordBatch.MagicOffset] != RecordBatch.CurrentMagic || size < RecordBatch.HeaderSize)
            {
                throw new InvalidRecordException($"{TopicPartition}: the batch at byte {position} is truncated, corrupt or not magic 2.");
            }

            if (size > config.MaxMessageBytes)
            {
                throw new RecordTooLargeException($"{TopicPartition}: the batch at byte {position} is {size} bytes, above max.message.bytes={config.MaxMessageBytes}.");
            }

            var header = RecordBatchHeader.Read(rest);
            if (header.LastOffsetDelta < 0 || header.RecordCount < 0)
            {
                throw new InvalidRecordException($"{TopicPartition}: the batch at byte {position} has a negative record count or last offset delta.");
            }

            firstOffset = batches == 0 ? header.BaseOffset : firstOffset;
            count += header.RecordCount;
            batches++;
            position += size;
        }

        if (records.Length > config.SegmentBytes)
        {
            throw new RecordTooLargeException(
                $"{TopicPartition}: {records.Length} bytes of batches do not fit a segment of segment.bytes={config.SegmentBytes}.");
        }

        return new BatchesSummary(batches, count, firstOffset, position);
    }

    private BatchesSummary Validate(ReadOnlySpan<byte> records)
    {
        var config = Config;
        var validation = RecordSet.Validate(records, config.MaxMessageBytes);
        if (!validation.IsValid)
        {
            string message = $"{TopicPartition}: {validation.ErrorMessage}";
            throw validation.Error == RecordSetError.BatchTooLarge ? new RecordTooLargeException(message) : new InvalidRecordException(message);
        }

        if (records.Length > config.SegmentBytes)
        {
            throw new RecordTooLargeException(
                $"{TopicPartition}: {records.Length} bytes of batches do not fit a segment of segment.bytes={config.SegmentBytes}.");
        }

        return new BatchesSummary(validation.BatchCount, validation.RecordCount, validation.FirstOffset, validation.ValidBytes);
    }

    /// <summary>
    /// Rolls if needed, records the leader epoch(s) (the leader's <paramref name="leaderEpoch"/>
    /// from <paramref name="firstOffset"/>, or the follower's <paramref name="followerEpochs"/>),
    /// then writes the batches.
    /// </summary>
    private void AppendLocked(ReadOnlySpan<byte> records, long firstOffset, long lastOffset, long maxTimestamp, long now, int leaderEpoch, List<(int Epoch, long Offset)>? followerEpochs)
    {
        var segment = _segments[^1];
        if (segment.ShouldRoll(records.Length, maxTimestamp, lastOffset, now, Config, _rollJitterMs))
        {
            segment = RollLocked(firstOffset);
        }

        if (followerEpochs is null)
        {
            LeaderEpochCache.Assign(leaderEpoch, firstOffset);
        }
        else
        {
            foreach (var (epoch, offset) in followerEpochs)
            {
                LeaderEpochCache.Assign(epoch, offset);
            }
        }

        segment.Append(records);
        Volatile.Write(ref _logEndOffsetMetadata, new LogOffsetMetadata(lastOffset + 1, segment.BaseOffset, segment.Size));
    }

    /// <summary>
    /// Kafka's analyzeAndValidateProducerState for one leader batch with a producer id: a repeat
    /// of a retained batch is returned as the duplicate; otherwise the batch is validated into the
    /// producer's <see cref="ProducerAppendInfo"/> (throws on a bad epoch or sequence).
    /// </summary>
    private BatchMetadata? AnalyzeProducerBatch(ReadOnlySpan<byte> batch, ref List<ProducerAppendInfo>? producers)
    {
        var header = RecordBatchHeader.Read(batch);
        if (header.IsControl)
        {
            return null;
        }

        if (_producerState.LastEntry(header.ProducerId)?.FindDuplicateBatch(header) is { } duplicate)
        {
            return duplicate;
        }

        ProducerAppendInfoFor(ref producers, header.ProducerId, AppendOrigin.Client).Append(header);
        return null;
    }

    private ProducerAppendInfo ProducerAppendInfoFor(ref List<ProducerAppendInfo>? producers, long producerId, AppendOrigin origin)
    {
        producers ??= [];
        foreach (var info in producers)
        {
            if (info.ProducerId == producerId)
            {
                return info;
            }
        }

        var created = _producerState.PrepareUpdate(producerId, origin);
        producers.Add(created);
        return created;
    }

    private void UpdateProducerState(List<ProducerAppendInfo>? producers, long nextOffset)
    {
        if (producers is not null)
        {
            foreach (var info in producers)
            {
                _producerState.Update(info);
            }
        }

        _producerState.UpdateMapEndOffset(nextOffset);
    }

    /// <summary>
    /// Kafka's rebuildProducerState up to <paramref name="lastOffset"/> (the log end offset):
    /// drop snapshots above it, load the newest valid one unless the state is already there, then
    /// read the batch headers from the snapshot's offset (or the log start) on. Returns the batches read.
    /// </summary>
    private long RebuildProducerState(long lastOffset)
    {
        // No producer before a truncation: none after it either (Kafka's shortcut for logs without idempotent producers).
        bool emptyBeforeTruncation = _producerState.IsEmpty && _producerState.MapEndOffset >= lastOffset;
        _producerState.TruncateAndReload(LogStartOffset, lastOffset, NowMs);
        long read = 0;
        if (lastOffset > _producerState.MapEndOffset && !emptyBeforeTruncation)
        {
            long start = Math.Max(_producerState.MapEndOffset, LogStartOffset);
            List<ProducerAppendInfo>? producers = null;
            var segments = _segments;
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
                        ProducerAppendInfoFor(ref producers, header.ProducerId, AppendOrigin.Replication).Append(header);
                    }
                }
            }

            if (producers is not null)
            {
                foreach (var info in producers)
                {
                    _producerState.Update(info);
                }
            }
        }

        _producerState.UpdateMapEndOffset(lastOffset);
        return read;
    }

    private void MaybeFlushLocked()
    {
        if (UnflushedMessages >= Config.FlushIntervalMessages)
        {
            FlushUpTo(LogEndOffset);
        }
    }

    private LogSegment RollLocked(long expectedNextOffset)
    {
        long newOffset = Math.Max(expectedNextOffset, LogEndOffset);
        var segments = _segments;
        var active = segments[^1];
        if (active.BaseOffset == newOffset && active.Size == 0)
        {
            return active;
        }

        if (segments.Any(s => s.BaseOffset >= newOffset))
        {
            throw new KafkaStorageException($"Cannot roll {TopicPartition} at offset {newOffset}: a segment already starts there or later.");
        }

        active.OnBecomeInactiveSegment();
        DeleteStaleFiles(newOffset);
        var segment = LogSegment.Open(Dir, newOffset, Config, NowMs);
        Volatile.Write(ref _segments, [.. segments, segment]);
        Volatile.Write(ref _logEndOffsetMetadata, new LogOffsetMetadata(LogEndOffset, segment.BaseOffset, 0));

        // Kafka snapshots the producer state at every roll and fsyncs the snapshot with the
        // rolled segment in the background (a torn one fails its CRC at load and is rebuilt).
        _producerState.UpdateMapEndOffset(newOffset);
        string? snapshot = null;
        try
        {
            snapshot = _producerState.TakeSnapshot(sync: false);
        }
        catch (IOException e)
        {
            _logger.Log(StorageLogLevel.Warning, $"Producer snapshot of {TopicPartition} at offset {newOffset} failed: {e.Message}", e);
        }

        // Kafka flushes the rolled segment in the background; the recovery point follows.
        var previous = _pendingFlush;
        _pendingFlush = Task.Run(async () =>
        {
            await previous.ConfigureAwait(false);
            try
            {
                if (snapshot is not null)
                {
                    FileUtil.FsyncFile(snapshot);
                }

                FlushUpTo(newOffset);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                _logger.Log(StorageLogLevel.Warning, $"Flush of {TopicPartition} after roll failed: {e.Message}", e);
            }
        });
        _logger.Log(StorageLogLevel.Debug, string.Create(CultureInfo.InvariantCulture, $"Rolled {TopicPartition} at offset {newOffset}."));
        return segment;
    }

    private void DeleteStaleFiles(long baseOffset)
    {
        foreach (var suffix in new[] { LogSegment.LogFileSuffix, LogSegment.IndexFileSuffix, LogSegment.TimeIndexFileSuffix })
        {
            File.Delete(Path.Combine(Dir, FileUtil.SegmentFileName(baseOffset, suffix)));
        }
    }

    private void TruncateFullyAndStartAtLocked(long newOffset)
    {
        Interlocked.Increment(ref _truncations);
        var old = _segments;
        foreach (var s in old)
        {
            s.ChangeFileSuffixes(string.Empty, LogSegment.DeletedFileSuffix);
        }

        var segment = LogSegment.Open(Dir, newOffset, Config, NowMs);
        Volatile.Write(ref _segments, [segment]);
        ScheduleDeletion(old, "full truncation", alreadyRenamed: true);
        Volatile.Write(ref _logEndOffsetMetadata, new LogOffsetMetadata(newOffset, newOffset, 0));
        Interlocked.Exchange(ref _logStartOffset, newOffset);
        Interlocked.Exchange(ref _recoveryPoint, newOffset);
        Interlocked.Exchange(ref _highWatermark, newOffset);
        LeaderEpochCache.Clear();
        _producerState.TruncateFullyAndStartAt(newOffset);
        _logger.Log(StorageLogLevel.Information, string.Create(CultureInfo.InvariantCulture,
            $"Truncated {TopicPartition} fully ({old.Length} segments) and restarted it at offset {newOffset}."));
    }

    private int DeleteSegments(Func<LogSegment, LogSegment, bool> predicate, string reason)
    {
        lock (_lock)
        {
            if (_closed)
            {
                return 0;
            }

            var segments = _segments;
            long upperBound = HighWatermark;
            int count = 0;
            while (count < segments.Length - 1)
            {
                var segment = segments[count];
                var next = segments[count + 1];
                if (next.BaseOffset <= upperBound && predicate(segment, next))
                {
                    count++;
                }
                else
                {
                    break;
                }
            }

            if (count == 0)
            {
                return 0;
            }

            var deleted = segments[..count];
            var kept = segments[count..];
            Volatile.Write(ref _segments, kept);
            if (kept[0].BaseOffset > LogStartOffset)
            {
                Interlocked.Exchange(ref _logStartOffset, kept[0].BaseOffset);
                LeaderEpochCache.TruncateFromStart(kept[0].BaseOffset);
            }

            _producerState.OnLogStartOffsetIncremented(LogStartOffset);
            var snapshots = _producerState.RemoveAndMarkSnapshotsForDeletion(kept[0].BaseOffset);

            if (RecoveryPoint < LogStartOffset)
            {
                Interlocked.Exchange(ref _recoveryPoint, LogStartOffset);
            }

            ScheduleDeletion(deleted, reason, snapshots: snapshots);
            return count;
        }
    }

    /// <summary>Renames the segments to .deleted now and removes them after file.delete.delay.ms (Kafka's async delete).</summary>
    private void ScheduleDeletion(IReadOnlyList<LogSegment> segments, string reason, bool alreadyRenamed = false, IReadOnlyList<string>? snapshots = null)
    {
        if (segments.Count == 0)
        {
            return;
        }

        snapshots ??= [];

        foreach (var segment in segments)
        {
            if (!alreadyRenamed)
            {
                segment.ChangeFileSuffixes(string.Empty, LogSegment.DeletedFileSuffix);
            }

            _logger.Log(StorageLogLevel.Information, string.Create(CultureInfo.InvariantCulture,
                $"Deleting segment {segment.BaseOffset} of {TopicPartition} ({segment.Size} bytes): {reason}."));
        }

        long delay = Config.FileDeleteDelayMs;
        var token = _closing.Token;
        var task = Task.Run(async () =>
        {
            if (delay > 0)
            {
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(delay), _time, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Closing: delete now.
                }
            }

            foreach (var segment in segments)
            {
                try
                {
                    segment.DeleteFiles();
                }
                catch (IOException e)
                {
                    _logger.Log(StorageLogLevel.Warning, $"Could not delete {segment.LogFilePath}: {e.Message}", e);
                }
            }

            foreach (var snapshot in snapshots)
            {
                try
                {
                    File.Delete(snapshot);
                }
                catch (IOException e)
                {
                    _logger.Log(StorageLogLevel.Warning, $"Could not delete {snapshot}: {e.Message}", e);
                }
            }
        });
        _pendingDeletes.RemoveAll(t => t.IsCompleted);
        _pendingDeletes.Add(task);
    }

    private void CloseCore()
    {
        Task[] pending;
        lock (_lock)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            pending = [.. _pendingDeletes];
            _closing.Cancel();
        }

        try
        {
            Task.WaitAll(pending);
        }
        catch (AggregateException)
        {
            // Logged by the task.
        }

        foreach (var segment in Volatile.Read(ref _segments))
        {
            try
            {
                segment.Close();
            }
            catch (IOException e)
            {
                _logger.Log(StorageLogLevel.Warning, $"Closing {segment} failed: {e.Message}", e);
            }
        }

        _closing.Dispose();
    }

    private void ThrowIfClosed()
    {
        if (_closed)
        {
            throw new ObjectDisposedException(nameof(UnifiedLog), $"The log of {TopicPartition} is closed.");
        }
    }

    private static int FloorSegmentIndex(LogSegment[] segments, long offset)
    {
        int lo = 0;
        int hi = segments.Length - 1;
        int result = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (segments[mid].BaseOffset <= offset)
            {
                result = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return result;
    }

    private static LogOffsetMetadata ConvertToOffsetMetadata(LogSegment[] segments, long offset)
    {
        int index = FloorSegmentIndex(segments, offset);
        if (index < 0)
        {
            return new LogOffsetMetadata(offset);
        }

        var segment = segments[index];
        var batch = segment.TranslateOffset(offset);
        return new LogOffsetMetadata(offset, segment.BaseOffset, batch?.Position ?? segment.Size);
    }

    // ------------------------------------------------------------------ loading and recovery

    private void Load(UnifiedLogOptions options)
    {
        int swapsCompleted = CleanLeftovers();
        _producerState = new ProducerStateManager(TopicPartition, Dir, _producerIdExpirationMs, _logger);
        long producerBatchesRead;
        long? producerSnapshotOffset;
        var baseOffsets = Directory.EnumerateFiles(Dir, "*" + LogSegment.LogFileSuffix)
            .Select(f => Path.GetFileName(f))
            .Select(n => long.TryParse(n.AsSpan(0, n.Length - LogSegment.LogFileSuffix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out long o) ? o : -1)
            .Where(o => o >= 0)
            .Order()
            .ToList();

        var config = Config;
        long now = NowMs;
        var segments = new List<LogSegment>();
        int rebuilt = 0;
        int recovered = 0;
        long truncatedBytes = 0;
        int deletedAfterCorruption = 0;
        try
        {
            for (int n = 0; n < baseOffsets.Count; n++)
            {
                long baseOffset = baseOffsets[n];
                bool willRecover = !options.HadCleanShutdown && (n + 1 == baseOffsets.Count || baseOffsets[n + 1] > options.RecoveryPoint);
                bool indexesPresent = File.Exists(Path.Combine(Dir, FileUtil.SegmentFileName(baseOffset, LogSegment.IndexFileSuffix)))
                    && File.Exists(Path.Combine(Dir, FileUtil.SegmentFileName(baseOffset, LogSegment.TimeIndexFileSuffix)));
                var segment = LogSegment.Open(Dir, baseOffset, config, now);
                segments.Add(segment);
                if (willRecover)
                {
                    continue;
                }

                if (!indexesPresent && segment.Size > 0)
                {
                    _logger.Log(StorageLogLevel.Warning, $"Index files of {segment.LogFilePath} are missing: rebuilding them.");
                    truncatedBytes += RecoverSegment(segment, ref recovered);
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
                    truncatedBytes += RecoverSegment(segment, ref recovered);
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
                    int truncated = RecoverSegment(segments[i], ref recovered);
                    if (truncated > 0 && segments[i].TrailingZeroBytes == truncated
                        && (i + 1 == segments.Count || segments[i + 1].BaseOffset == segments[i].ReadNextOffset()))
                    {
                        // Zeros that preallocate=true wrote ahead of the end, and the next segment
                        // (if any) starts right after the last batch: nothing was lost.
                        _logger.Log(StorageLogLevel.Information, string.Create(CultureInfo.InvariantCulture,
                            $"Recovery of {TopicPartition}: trimmed {truncated} zero bytes written ahead of the end of segment {segments[i].BaseOffset}."));
                        continue;
                    }

                    truncatedBytes += truncated;
                    if (truncated > 0)
                    {
                        _logger.Log(StorageLogLevel.Warning, string.Create(CultureInfo.InvariantCulture,
                            $"Recovery of {TopicPartition}: segment {segments[i].BaseOffset} had an invalid tail; truncated {truncated} of {before} bytes."));
                        for (int j = segments.Count - 1; j > i; j--)
                        {
                            _logger.Log(StorageLogLevel.Warning, string.Create(CultureInfo.InvariantCulture,
                                $"Recovery of {TopicPartition}: deleting segment {segments[j].BaseOffset} ({segments[j].Size} bytes) after the corruption."));
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
                segments.Add(LogSegment.Open(Dir, options.LogStartOffset, config, now));
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
            _segments = [.. segments];
            _logEndOffsetMetadata = new LogOffsetMetadata(leo, active.BaseOffset, active.Size);
            _logStartOffset = Math.Clamp(options.LogStartOffset, segments[0].BaseOffset, leo);
            if (!options.HadCleanShutdown && recovered > 0)
            {
                foreach (var s in segments)
                {
                    s.Flush();
                }
            }

            _recoveryPoint = leo;
            _highWatermark = Math.Clamp(options.HighWatermark ?? leo, _logStartOffset, leo);
            LeaderEpochCache.TruncateFromEnd(leo);
            LeaderEpochCache.TruncateFromStart(_logStartOffset);

            // Snapshots of segments deleted before the last shutdown; then Kafka's loadProducerState.
            _producerState.DeleteSnapshotsBefore(segments[0].BaseOffset);
            producerBatchesRead = RebuildProducerState(leo);
            producerSnapshotOffset = _producerState.LatestSnapshotOffset;
        }
        catch
        {
            foreach (var s in segments)
            {
                s.Dispose();
            }

            throw;
        }

        var storedTopicId = PartitionMetadataFile.Read(Dir);
        if (options.TopicId is { } topicId)
        {
            if (storedTopicId is { } stored && stored != topicId)
            {
                throw new KafkaStorageException($"The log of {TopicPartition} belongs to topic id {stored}, not {topicId}.");
            }

            if (storedTopicId is null)
            {
                PartitionMetadataFile.Write(Dir, topicId);
            }

            TopicId = topicId;
        }
        else
        {
            TopicId = storedTopicId;
        }

        LoadResult = new LogLoadResult(segments.Count, recovered, truncatedBytes, deletedAfterCorruption, rebuilt, swapsCompleted)
        {
            ProducerStateBatchesRead = producerBatchesRead,
            ProducerSnapshotOffset = producerSnapshotOffset,
        };
    }

    private readonly HashSet<LogSegment> _recoveredAtLoad = [];

    private int RecoverSegment(LogSegment segment, ref int recovered)
    {
        recovered++;
        _recoveredAtLoad.Add(segment);
        return segment.Recover(Config.MaxMessageBytes > 0 ? Math.Max(Config.MaxMessageBytes, Config.SegmentBytes) : int.MaxValue);
    }

    /// <summary>
    /// Kafka's leftovers at load: .deleted and .cleaned files and temp files go; a .swap log
    /// replaces the live segments in its offset range (the cleaner crashed after the point of no
    /// return); index files without a log go.
    /// </summary>
    private int CleanLeftovers()
    {
        int swaps = 0;
        foreach (var file in Directory.EnumerateFiles(Dir).ToList())
        {
            string name = Path.GetFileName(file);
            if (name.EndsWith(LogSegment.DeletedFileSuffix, StringComparison.Ordinal)
                || name.EndsWith(LogSegment.CleanedFileSuffix, StringComparison.Ordinal)
                || name.EndsWith(".tmp", StringComparison.Ordinal))
            {
                File.Delete(file);
            }
        }

        foreach (var file in Directory.EnumerateFiles(Dir, "*" + LogSegment.LogFileSuffix + LogSegment.SwapFileSuffix).Order(StringComparer.Ordinal).ToList())
        {
            string name = Path.GetFileName(file);
            if (!long.TryParse(name.AsSpan(0, 20), NumberStyles.None, CultureInfo.InvariantCulture, out long baseOffset))
            {
                continue;
            }

            long next = baseOffset;
            using (var swap = LogSegment.Open(Dir, baseOffset, Config, NowMs, LogSegment.SwapFileSuffix, preallocateIndexes: false))
            {
                foreach (var batch in swap.Batches())
                {
                    next = batch.LastOffset + 1;
                }
            }

            foreach (var live in Directory.EnumerateFiles(Dir, "*" + LogSegment.LogFileSuffix).ToList())
            {
                string liveName = Path.GetFileName(live);
                if (long.TryParse(liveName.AsSpan(0, 20), NumberStyles.None, CultureInfo.InvariantCulture, out long liveBase)
                    && liveBase >= baseOffset && liveBase < Math.Max(next, baseOffset + 1))
                {
                    File.Delete(live);
                    File.Delete(Path.Combine(Dir, FileUtil.SegmentFileName(liveBase, LogSegment.IndexFileSuffix)));
                    File.Delete(Path.Combine(Dir, FileUtil.SegmentFileName(liveBase, LogSegment.TimeIndexFileSuffix)));
                }
            }

            File.Move(file, Path.Combine(Dir, FileUtil.SegmentFileName(baseOffset, LogSegment.LogFileSuffix)));
            File.Delete(Path.Combine(Dir, FileUtil.SegmentFileName(baseOffset, LogSegment.IndexFileSuffix + LogSegment.SwapFileSuffix)));
            File.Delete(Path.Combine(Dir, FileUtil.SegmentFileName(baseOffset, LogSegment.TimeIndexFileSuffix + LogSegment.SwapFileSuffix)));
            _logger.Log(StorageLogLevel.Information, $"Completed the interrupted swap of {name} in {TopicPartition}.");
            swaps++;
        }

        foreach (var file in Directory.EnumerateFiles(Dir).ToList())
        {
            string name = Path.GetFileName(file);
            if (name.EndsWith(LogSegment.SwapFileSuffix, StringComparison.Ordinal))
            {
                File.Delete(file);
                continue;
            }

            if ((name.EndsWith(LogSegment.IndexFileSuffix, StringComparison.Ordinal) || name.EndsWith(LogSegment.TimeIndexFileSuffix, StringComparison.Ordinal))
                && name.Length > 20
                && !File.Exists(Path.Combine(Dir, name[..20] + LogSegment.LogFileSuffix)))
            {
                File.Delete(file);
            }
        }

        return swaps;
    }
}
