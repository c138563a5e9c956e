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
    private readonly SegmentDeleter _deleter;
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
    private readonly ProducerStateManager _producerState;

    private UnifiedLog(string dir, TopicPartition topicPartition, LogConfig config, UnifiedLogOptions options, LeaderEpochFileCache epochs, LoadedLog loaded)
    {
        Dir = dir;
        TopicPartition = topicPartition;
        _config = config;
        _time = options.TimeProvider;
        _logger = options.Logger;
        LeaderEpochCache = epochs;
        _rollJitterMs = config.SegmentJitterMs > 0 ? Random.Shared.NextInt64(config.SegmentJitterMs) : 0;
        _deleter = new SegmentDeleter(this, _time, _logger);
        _segments = loaded.Segments;
        _logEndOffsetMetadata = loaded.LogEndOffsetMetadata;
        _logStartOffset = loaded.LogStartOffset;
        _recoveryPoint = loaded.RecoveryPoint;
        _highWatermark = loaded.HighWatermark;
        _producerState = loaded.ProducerState;
        TopicId = loaded.TopicId;
        LoadResult = loaded.Result;
        _lastFlushMs = NowMs;
    }

    public string Dir { get; private set; }

    public TopicPartition TopicPartition { get; }

    public KafkaUuid? TopicId { get; }

    public LeaderEpochFileCache LeaderEpochCache { get; }

    public LogLoadResult LoadResult { get; }

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
    /// Opens the log in <paramref name="dir"/> (created if missing) through a <see cref="LogLoader"/>:
    /// completes or discards interrupted swaps, opens segments, checks or rebuilds indexes and,
    /// unless the log dir was shut down cleanly, recovers every segment from the recovery point on.
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
        var loaded = new LogLoader(dir, tp, config, options, epochs).Load();
        return new UnifiedLog(dir, tp, config, options, epochs, loaded);
    }

    public void UpdateConfig(LogConfig config) => Volatile.Write(ref _config, config);

    // ------------------------------------------------------------------ append

    /// <summary>
    /// Appends producer batches as the leader: validates them (<see cref="LogValidator.ValidateProduce"/>,
    /// no recompression), then appends them as <see cref="AppendAsLeader(ValidatedRecords, int)"/> does.
    /// </summary>
    /// <exception cref="InvalidRecordException">a batch that is truncated, corrupt or not magic 2.</exception>
    /// <exception cref="RecordTooLargeException">a batch above max.message.bytes, or more than a segment.</exception>
    /// <exception cref="InvalidProducerEpochException">an idempotent producer's batch with an epoch below the partition's.</exception>
    /// <exception cref="OutOfOrderSequenceException">an idempotent producer's batch that does not continue its sequence.</exception>
    /// <exception cref="InvalidTxnStateException">a transactional batch (not served).</exception>
    public LogAppendInfo AppendAsLeader(Span<byte> records, int leaderEpoch) =>
        AppendAsLeader(LogValidator.ValidateProduce(records, Config), leaderEpoch);

    /// <summary>
    /// Appends batches <see cref="LogValidator.ValidateProduce"/> accepted, as the leader, without
    /// checking them again: stamps base offsets from the log end offset, the leader epoch and
    /// (LogAppendTime) the append time in place (<see cref="LogValidator.AssignOffsets"/>), checks
    /// idempotent producers' epochs and sequences, then writes them.
    /// </summary>
    /// <exception cref="InvalidRecordException">records the validator rejected (the caller should have answered with its error).</exception>
    /// <exception cref="RecordTooLargeException">the same, for MESSAGE_TOO_LARGE.</exception>
    /// <exception cref="InvalidProducerEpochException">an idempotent producer's batch with an epoch below the partition's.</exception>
    /// <exception cref="OutOfOrderSequenceException">an idempotent producer's batch that does not continue its sequence.</exception>
    /// <exception cref="InvalidTxnStateException">a transactional batch (not served).</exception>
    /// <returns>
    /// The offsets written; when a batch repeats one of its producer's last 5 batches (a retry),
    /// nothing is written and the result has <see cref="LogAppendInfo.IsDuplicate"/> set and the
    /// original batch's offsets, as Kafka answers such a produce.
    /// </returns>
    public LogAppendInfo AppendAsLeader(ValidatedRecords validated, int leaderEpoch)
    {
        LogValidator.ThrowIfInvalid(validated, TopicPartition);
        if (validated.BatchCount == 0)
        {
            return EmptyAppend();
        }

        Span<byte> records = validated.Records;
        lock (_lock)
        {
            ThrowIfClosed();
            long now = NowMs;
            bool logAppendTimeType = Config.MessageTimestampType == MessageTimestampType.LogAppendTime;
            long logAppendTime = logAppendTimeType ? now : RecordBatch.NoTimestamp;
            long firstOffset = LogEndOffset;
            var stamped = LogValidator.AssignOffsets(records, firstOffset, leaderEpoch, logAppendTime);
            List<ProducerAppendInfo>? producers = null;
            if (stamped.HasProducerBatches && AnalyzeProducerBatches(records, ref producers) is { } duplicate)
            {
                return new LogAppendInfo(duplicate.FirstOffset, duplicate.LastOffset, duplicate.Timestamp, duplicate.LastOffset,
                    logAppendTimeType ? duplicate.Timestamp : RecordBatch.NoTimestamp, LogStartOffset,
                    validated.BatchCount, validated.RecordCount, validated.ValidBytes) { IsDuplicate = true };
            }

            long lastOffset = stamped.LastOffset;
            AppendLocked(records, firstOffset, lastOffset, stamped.MaxTimestamp, now, leaderEpoch, followerEpochs: null);
            _producerState.Update(producers, lastOffset + 1);
            Interlocked.Add(ref _unflushedMessages, validated.RecordCount);
            MaybeFlushLocked();
            return new LogAppendInfo(firstOffset, lastOffset, stamped.MaxTimestamp, stamped.OffsetOfMaxTimestamp, logAppendTime, LogStartOffset,
                validated.BatchCount, validated.RecordCount, validated.ValidBytes);
        }
    }

    /// <summary>
    /// Appends batches fetched from the leader as they are (offsets and epochs kept). The first
    /// offset may not be below the log end offset.
    /// </summary>
    public LogAppendInfo AppendAsFollower(ReadOnlySpan<byte> records)
    {
        var validation = LogValidator.ValidateReplicated(records, Config, TopicPartition);
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
                    _producerState.PendingUpdate(ref producers, header.ProducerId, AppendOrigin.Replication).Append(header);
                }

                previousLast = header.LastOffset;
                position += header.SizeInBytes;
            }

            AppendLocked(records, validation.FirstOffset, previousLast, maxTimestamp, NowMs, RecordBatch.NoPartitionLeaderEpoch, epochs);
            _producerState.Update(producers, previousLast + 1);
            Interlocked.Add(ref _unflushedMessages, validation.RecordCount);
            MaybeFlushLocked();
            return new LogAppendInfo(validation.FirstOffset, previousLast, maxTimestamp, offsetOfMax, RecordBatch.NoTimestamp, LogStartOffset,
                validation.BatchCount, validation.RecordCount, validation.ValidBytes);
        }
    }

    /// <summary>
    /// Appends record batches copied from another cluster's partition at their own offsets (the
    /// mirror's offset-preserving append, services/mirror). Batches the log already holds (their last
    /// offset below the log end offset) are skipped, so a repeated append never writes twice; the
    /// rest must start at or above the log end offset (offset gaps of the source, from compaction or
    /// transaction markers, stay gaps). They are checked as a follower checks its leader's batches
    /// (framing, CRC, sizes) — nothing is written when one fails — and written byte for byte, except
    /// the partition leader epoch field, outside the CRC, which gets <paramref name="leaderEpoch"/> as
    /// every leader stamps it. The producers' state is taken as the batches carry it (ids, epochs and
    /// sequences were checked on the source), so idempotent producers continue here after a failover.
    /// </summary>
    /// <exception cref="InvalidRecordException">a batch that is truncated, corrupt or not magic 2.</exception>
    /// <exception cref="RecordTooLargeException">a batch above max.message.bytes, or more than a segment.</exception>
    /// <exception cref="InvalidOffsetException">a batch that straddles the log end offset, or offsets that go backwards.</exception>
    public MirrorAppendInfo AppendAsMirror(Span<byte> records, int leaderEpoch)
    {
        LogValidator.ValidateReplicated(records, Config, TopicPartition);
        lock (_lock)
        {
            ThrowIfClosed();
            long leo = LogEndOffset;
            int skipped = 0;
            int start = 0;
            while (start < records.Length)
            {
                var header = RecordBatchHeader.Read(records[start..]);
                if (header.LastOffset >= leo)
                {
                    if (header.BaseOffset < leo)
                    {
                        throw new InvalidOffsetException(
                            $"Mirror append to {TopicPartition}: the batch at offsets {header.BaseOffset}-{header.LastOffset} straddles the log end offset {leo}.");
                    }

                    break;
                }

                skipped++;
                start += header.SizeInBytes;
            }

            if (start == records.Length)
            {
                return new MirrorAppendInfo(null, skipped, leo);
            }

            Span<byte> toWrite = records[start..];
            long firstOffset = -1;
            long previousLast = leo - 1;
            long maxTimestamp = RecordBatch.NoTimestamp;
            long offsetOfMax = -1;
            int batches = 0;
            int recordCount = 0;
            List<ProducerAppendInfo>? producers = null;
            int position = 0;
            while (position < toWrite.Length)
            {
                var header = RecordBatchHeader.Read(toWrite[position..]);
                if (header.BaseOffset <= previousLast)
                {
                    throw new InvalidOffsetException($"Mirror append to {TopicPartition}: offsets go backwards at batch base offset {header.BaseOffset}.");
                }

                firstOffset = firstOffset < 0 ? header.BaseOffset : firstOffset;
                if (header.MaxTimestamp > maxTimestamp)
                {
                    maxTimestamp = header.MaxTimestamp;
                    offsetOfMax = header.LastOffset;
                }

                if (header.HasProducerId)
                {
                    _producerState.PendingUpdate(ref producers, header.ProducerId, AppendOrigin.Replication).Append(header);
                }

                RecordBatch.SetPartitionLeaderEpoch(toWrite.Slice(position, header.SizeInBytes), leaderEpoch);
                batches++;
                recordCount += header.RecordCount;
                previousLast = header.LastOffset;
                position += header.SizeInBytes;
            }

            AppendLocked(toWrite, firstOffset, previousLast, maxTimestamp, NowMs, leaderEpoch, followerEpochs: null);
            _producerState.Update(producers, previousLast + 1);
            Interlocked.Add(ref _unflushedMessages, recordCount);
            MaybeFlushLocked();
            var info = new LogAppendInfo(firstOffset, previousLast, maxTimestamp, offsetOfMax, RecordBatch.NoTimestamp, LogStartOffset,
                batches, recordCount, toWrite.Length);
            return new MirrorAppendInfo(info, skipped, LogEndOffset);
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
            _deleter.Schedule(removed, "truncation");
            Volatile.Write(ref _logEndOffsetMetadata, new LogOffsetMetadata(targetOffset, active.BaseOffset, active.Size));
            LeaderEpochCache.TruncateFromEnd(targetOffset);
            Interlocked.Exchange(ref _recoveryPoint, Math.Min(RecoveryPoint, targetOffset));
            Interlocked.Exchange(ref _highWatermark, Math.Min(HighWatermark, targetOffset));
            if (targetOffset < LogStartOffset)
            {
                Interlocked.Exchange(ref _logStartOffset, targetOffset);
            }

            LogLoader.RebuildProducerState(_producerState, kept, LogStartOffset, targetOffset, NowMs);

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
    /// watermark (the rules are <see cref="SegmentDeleter"/>'s). Returns the number of segments deleted.
    /// </summary>
    public int DeleteOldSegments() => _deleter.DeleteOldSegments();

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
            tasks = [_pendingFlush, .. _deleter.PendingDeletions()];
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
            _deleter.Schedule(oldSegments, "replaced by cleaning", alreadyRenamed: true);
            return true;
        }
    }

    // ------------------------------------------------------------------ internals

    private LogAppendInfo EmptyAppend() => new(-1, -1, RecordBatch.NoTimestamp, -1, RecordBatch.NoTimestamp, LogStartOffset, 0, 0, 0);

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
    /// Kafka's analyzeAndValidateProducerState over stamped leader batches: the first batch with a
    /// producer id that repeats one of its producer's retained batches is returned as the duplicate;
    /// every other such batch is validated into its producer's <see cref="ProducerAppendInfo"/>
    /// (throws on a bad epoch or sequence).
    /// </summary>
    private BatchMetadata? AnalyzeProducerBatches(ReadOnlySpan<byte> records, ref List<ProducerAppendInfo>? producers)
    {
        foreach (ReadOnlySpan<byte> batch in RecordSet.EnumerateBatches(records))
        {
            var header = RecordBatchHeader.Read(batch);
            if (!header.HasProducerId || header.IsControl)
            {
                continue;
            }

            if (_producerState.LastEntry(header.ProducerId)?.FindDuplicateBatch(header) is { } duplicate)
            {
                return duplicate;
            }

            _producerState.PendingUpdate(ref producers, header.ProducerId, AppendOrigin.Client).Append(header);
        }

        return null;
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
        _deleter.Schedule(old, "full truncation", alreadyRenamed: true);
        Volatile.Write(ref _logEndOffsetMetadata, new LogOffsetMetadata(newOffset, newOffset, 0));
        Interlocked.Exchange(ref _logStartOffset, newOffset);
        Interlocked.Exchange(ref _recoveryPoint, newOffset);
        Interlocked.Exchange(ref _highWatermark, newOffset);
        LeaderEpochCache.Clear();
        _producerState.TruncateFullyAndStartAt(newOffset);
        _logger.Log(StorageLogLevel.Information, string.Create(CultureInfo.InvariantCulture,
            $"Truncated {TopicPartition} fully ({old.Length} segments) and restarted it at offset {newOffset}."));
    }

    /// <summary>
    /// Removes the leading segments <see cref="SegmentDeleter.CountDeletable"/> allows and moves the
    /// log start offset, leader epochs, producer state and recovery point past them; the deleter
    /// removes their files. Returns how many went.
    /// </summary>
    internal int DeleteLeadingSegments(Func<LogSegment, LogSegment, bool> predicate, string reason)
    {
        lock (_lock)
        {
            if (_closed)
            {
                return 0;
            }

            var segments = _segments;
            int count = SegmentDeleter.CountDeletable(segments, HighWatermark, predicate);
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

            _deleter.Schedule(deleted, reason, snapshots: snapshots);
            return count;
        }
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
            pending = _deleter.BeginClose();
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

        _deleter.Dispose();
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
}
