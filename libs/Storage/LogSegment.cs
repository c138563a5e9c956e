using System.Buffers;
using System.Buffers.Binary;
using Aspire.Kafka.Records;
using Microsoft.Win32.SafeHandles;

namespace Aspire.Kafka.Storage;

/// <summary>Where a batch sits in a segment file, from its header.</summary>
public readonly record struct BatchLocation(long BaseOffset, long LastOffset, int Position, int Size, long MaxTimestamp, int PartitionLeaderEpoch);

/// <summary>
/// One segment of a log: <c>&lt;base offset&gt;.log</c> with its <see cref="OffsetIndex"/> and
/// <see cref="TimeIndex"/>. Appends come from the owning <see cref="UnifiedLog"/> under its lock;
/// reads may run concurrently and see the bytes up to <see cref="Size"/>.
/// </summary>
public sealed class LogSegment : IDisposable
{
    public const string LogFileSuffix = ".log";
    public const string IndexFileSuffix = ".index";
    public const string TimeIndexFileSuffix = ".timeindex";
    public const string DeletedFileSuffix = ".deleted";
    public const string CleanedFileSuffix = ".cleaned";
    public const string SwapFileSuffix = ".swap";

    private readonly FileStream _log;

    // Taken once: FileStream.SafeFileHandle re-syncs the OS file position (an lseek) on every access.
    private readonly SafeFileHandle _handle;
    private readonly int _indexIntervalBytes;

    // preallocate=true: blocks are reserved (fallocate, KEEP_SIZE) up to _reservedEnd, in steps,
    // and the file is extended with zeros up to _filledEnd (see WriteAndPrefill).
    private readonly int _segmentBytes;
    private bool _preallocate;
    private bool _prefill;
    private long _reservedEnd;
    private long _filledEnd;
    private readonly Lock _stateLock = new();
    private int _size;
    private int _bytesSinceLastIndexEntry;
    private long _maxTimestampSoFar = -2; // -2: not loaded yet
    private long _offsetOfMaxTimestampSoFar;
    private long _rollingBasedTimestamp = -2; // -2: not loaded yet
    private bool _disposed;

    private LogSegment(string directory, long baseOffset, LogConfig config, long createdMs, string suffix, bool preallocateIndexes)
    {
        Directory = directory;
        BaseOffset = baseOffset;
        _indexIntervalBytes = config.IndexIntervalBytes;
        _segmentBytes = config.SegmentBytes;
        _preallocate = config.Preallocate && suffix.Length == 0;
        _prefill = _preallocate;
        CreatedMs = createdMs;
        LogFilePath = Path.Combine(directory, FileUtil.SegmentFileName(baseOffset, LogFileSuffix + suffix));
        _log = new FileStream(LogFilePath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, 0);
        _handle = _log.SafeFileHandle;
        _size = checked((int)_log.Length);
        OffsetIndex = new OffsetIndex(Path.Combine(directory, FileUtil.SegmentFileName(baseOffset, IndexFileSuffix + suffix)), baseOffset, config.MaxIndexSize, preallocateIndexes);
        TimeIndex = new TimeIndex(Path.Combine(directory, FileUtil.SegmentFileName(baseOffset, TimeIndexFileSuffix + suffix)), baseOffset, config.MaxIndexSize, preallocateIndexes);
    }

    public string Directory { get; }

    public long BaseOffset { get; }

    public string LogFilePath { get; private set; }

    public OffsetIndex OffsetIndex { get; }

    public TimeIndex TimeIndex { get; }

    public SafeFileHandle Handle => _handle;

    /// <summary>The most bytes reserved at once ahead of the end of the .log file when preallocate=true.</summary>
    public const int PreallocateStepBytes = 16 * 1024 * 1024;

    /// <summary>
    /// Blocks are reserved once the segment holds this much: below it a reservation saves less
    /// than the fallocate costs (measured with 1,000 partitions appended round-robin), and a quiet
    /// partition reserves nothing. From there each step reserves as much as the segment already
    /// holds, up to <see cref="PreallocateStepBytes"/> (at most doubling the active segment's blocks).
    /// </summary>
    public const int PreallocateFromBytes = 1024 * 1024;

    /// <summary>Where the blocks reserved by preallocate=true end (0 when none are reserved past the end).</summary>
    public long ReservedEnd => _reservedEnd;

    /// <summary>preallocate=true: an append that goes past the zeros written ahead adds zeros up to the next multiple of this.</summary>
    public const int PrefillAlignmentBytes = FileUtil.MaxZeros;

    /// <summary>Where the zeros written ahead by preallocate=true end: the file length while it is past <see cref="Size"/> (0 when none).</summary>
    public long FilledEnd => _filledEnd;

    /// <summary>Bytes of the .log file that readers may see.</summary>
    public int Size => Volatile.Read(ref _size);

    public long CreatedMs { get; }

    /// <summary>Opens (or creates) the segment files. <paramref name="suffix"/> is "" or ".cleaned"/".swap".</summary>
    public static LogSegment Open(string directory, long baseOffset, LogConfig config, long nowMs, string suffix = "", bool preallocateIndexes = true) =>
        new(directory, baseOffset, config, nowMs, suffix, preallocateIndexes);

    /// <summary>The largest timestamp in the segment, or the .log file's modification time when it has none (Kafka's rule for retention).</summary>
    public long LargestTimestamp
    {
        get
        {
            long max = MaxTimestampSoFar;
            return max >= 0 ? max : new DateTimeOffset(File.GetLastWriteTimeUtc(LogFilePath)).ToUnixTimeMilliseconds();
        }
    }

    public long MaxTimestampSoFar
    {
        get
        {
            EnsureMaxTimestampLoaded();
            return Volatile.Read(ref _maxTimestampSoFar);
        }
    }

    public long OffsetOfMaxTimestampSoFar
    {
        get
        {
            EnsureMaxTimestampLoaded();
            return Volatile.Read(ref _offsetOfMaxTimestampSoFar);
        }
    }

    /// <summary>
    /// Appends whole batches at the end of the file. Adds an offset-index and time-index entry for
    /// a batch once more than log.index.interval.bytes were appended since the last entry.
    /// </summary>
    public void Append(ReadOnlySpan<byte> records)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        EnsureMaxTimestampLoaded();
        int position = _size;
        if ((long)position + records.Length > int.MaxValue)
        {
            throw new KafkaStorageException($"Segment {LogFilePath} cannot grow past 2 GiB.");
        }

        if (_rollingBasedTimestamp == -2)
        {
            LoadRollingBasedTimestamp();
        }

        if (_preallocate && position + (long)records.Length > _reservedEnd && position >= PreallocateFromBytes)
        {
            Reserve(position + (long)records.Length);
        }

        long end = position + (long)records.Length;
        if (_prefill && end > _filledEnd)
        {
            WriteAndPrefill(records, position, end);
        }
        else
        {
            RandomAccess.Write(_handle, records, position);
        }

        int batchPosition = position;
        var rest = records;
        while (rest.Length >= RecordBatch.HeaderSize)
        {
            // Whole batches, checked by the caller: only the fields the indexes need.
            int batchSize = BinaryPrimitives.ReadInt32BigEndian(rest[RecordBatch.BatchLengthOffset..]) + RecordBatch.LogOverhead;
            long lastOffset = BinaryPrimitives.ReadInt64BigEndian(rest) + BinaryPrimitives.ReadInt32BigEndian(rest[RecordBatch.LastOffsetDeltaOffset..]);
            long maxTimestamp = BinaryPrimitives.ReadInt64BigEndian(rest[RecordBatch.MaxTimestampOffset..]);
            if (maxTimestamp > _maxTimestampSoFar)
            {
                _maxTimestampSoFar = maxTimestamp;
                _offsetOfMaxTimestampSoFar = lastOffset;
            }

            if (_rollingBasedTimestamp < 0 && batchPosition == 0)
            {
                _rollingBasedTimestamp = maxTimestamp;
            }

            if (_bytesSinceLastIndexEntry > _indexIntervalBytes)
            {
                OffsetIndex.Append(lastOffset, batchPosition);
                TimeIndex.MaybeAppend(_maxTimestampSoFar, _offsetOfMaxTimestampSoFar);
                _bytesSinceLastIndexEntry = 0;
            }

            _bytesSinceLastIndexEntry += batchSize;
            batchPosition += batchSize;
            rest = rest[batchSize..];
        }

        Volatile.Write(ref _size, position + records.Length);
    }

    /// <summary>True when <paramref name="offset"/> can be stored relative to the base offset.</summary>
    public bool CanConvertToRelativeOffset(long offset) => offset - BaseOffset is >= 0 and <= int.MaxValue;

    /// <summary>
    /// Kafka's roll rule for this segment given the next append: full (segment.bytes), old
    /// (segment.ms minus jitter, measured from the first batch's timestamp or the creation time),
    /// a full index, or an offset that cannot be made relative.
    /// </summary>
    public bool ShouldRoll(int appendSize, long maxTimestampInAppend, long maxOffsetInAppend, long nowMs, LogConfig config, long rollJitterMs)
    {
        bool reachedRollMs = Size > 0 && TimeWaitedForRoll(nowMs, maxTimestampInAppend) > config.SegmentMs - rollJitterMs;
        return Size > config.SegmentBytes - appendSize
            || reachedRollMs
            || OffsetIndex.IsFull
            || TimeIndex.IsFull
            || !CanConvertToRelativeOffset(maxOffsetInAppend);
    }

    public long TimeWaitedForRoll(long nowMs, long messageTimestamp)
    {
        if (_rollingBasedTimestamp == -2)
        {
            LoadRollingBasedTimestamp();
        }

        long rolling = _rollingBasedTimestamp;
        return rolling >= 0 ? messageTimestamp - rolling : nowMs - CreatedMs;
    }

    /// <summary>Reads the header of the batch at <paramref name="position"/> if a whole batch lies before <paramref name="limit"/>.</summary>
    public bool TryReadBatchAt(int position, int limit, out BatchLocation batch)
    {
        batch = default;
        if (position < 0 || (long)position + RecordBatch.HeaderSize > limit)
        {
            return false;
        }

        Span<byte> buffer = stackalloc byte[RecordBatch.HeaderSize];
        if (ReadFully(position, buffer) != RecordBatch.HeaderSize)
        {
            return false;
        }

        var header = RecordBatchHeader.Read(buffer);
        int size = header.SizeInBytes;
        if (header.BatchLength < RecordBatch.HeaderSize - RecordBatch.LogOverhead || (long)position + size > limit)
        {
            return false;
        }

        batch = new BatchLocation(header.BaseOffset, header.LastOffset, position, size, header.MaxTimestamp, header.PartitionLeaderEpoch);
        return true;
    }

    /// <summary>Every batch from <paramref name="startPosition"/> to the end (headers only).</summary>
    public IEnumerable<BatchLocation> Batches(int startPosition = 0)
    {
        int position = startPosition;
        int limit = Size;
        while (TryReadBatchAt(position, limit, out var batch))
        {
            yield return batch;
            position += batch.Size;
        }
    }

    /// <summary>The headers of the batches from <paramref name="startPosition"/> to the end (no record is read or decompressed).</summary>
    internal IEnumerable<RecordBatchHeader> BatchHeaders(int startPosition = 0)
    {
        int position = startPosition;
        int limit = Size;
        var buffer = new byte[RecordBatch.HeaderSize];
        while ((long)position + RecordBatch.HeaderSize <= limit && ReadFully(position, buffer) == RecordBatch.HeaderSize)
        {
            var header = RecordBatchHeader.Read(buffer);
            if (header.BatchLength < RecordBatch.HeaderSize - RecordBatch.LogOverhead || (long)position + header.SizeInBytes > limit)
            {
                yield break;
            }

            yield return header;
            position += header.SizeInBytes;
        }
    }

    /// <summary>
    /// The first batch whose last offset is &gt;= <paramref name="offset"/>, starting the scan at the
    /// offset index's floor entry; null when the segment has no such batch.
    /// </summary>
    public BatchLocation? TranslateOffset(long offset, int startingFilePosition = 0)
    {
        var entry = OffsetIndex.Lookup(offset);
        int position = Math.Max(entry.Position, startingFilePosition);
        int limit = Size;
        while (TryReadBatchAt(position, limit, out var batch))
        {
            if (batch.LastOffset >= offset)
            {
                return batch;
            }

            position += batch.Size;
        }

        return null;
    }

    /// <summary>
    /// Whole batches from the one holding <paramref name="startOffset"/>, at most
    /// <paramref name="maxSize"/> bytes (but the first batch even if larger when
    /// <paramref name="minOneMessage"/>), never past <paramref name="maxPosition"/>. Null when the
    /// segment holds no batch at or after <paramref name="startOffset"/>.
    /// </summary>
    public FetchDataInfo? Read(long startOffset, int maxSize, int maxPosition, bool minOneMessage)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxSize);
        var first = TranslateOffset(startOffset);
        if (first is not { } start)
        {
            return null;
        }

        var metadata = new LogOffsetMetadata(startOffset, BaseOffset, start.Position);
        int limit = Math.Min(maxPosition, Size);
        if (start.Position + start.Size > limit)
        {
            return FetchDataInfo.EmptyAt(metadata);
        }

        int end = start.Position;
        int position = start.Position;
        while (TryReadBatchAt(position, limit, out var batch))
        {
            int taken = position + batch.Size - start.Position;
            if (taken > maxSize && !(minOneMessage && position == start.Position))
            {
                break;
            }

            position += batch.Size;
            end = position;
        }

        return new FetchDataInfo(metadata, new FileRecords(_handle, LogFilePath, start.Position, end - start.Position));
    }

    /// <summary>The offset after the last batch (the base offset when empty).</summary>
    public long ReadNextOffset()
    {
        var last = OffsetIndex.LastEntry;
        long next = BaseOffset;
        foreach (var batch in Batches(last.Position))
        {
            next = batch.LastOffset + 1;
        }

        if (next == BaseOffset && last.Position > 0)
        {
            // The index points past what is left (should not happen after recovery); scan everything.
            foreach (var batch in Batches())
            {
                next = batch.LastOffset + 1;
            }
        }

        return next;
    }

    /// <summary>
    /// The first record at or after <paramref name="timestamp"/> with an offset at or after
    /// <paramref name="startingOffset"/>: time index floor, offset index, then a scan.
    /// </summary>
    public TimestampAndOffset? FindOffsetByTimestamp(long timestamp, long startingOffset)
    {
        var timestampOffset = TimeIndex.Lookup(timestamp);
        int position = OffsetIndex.Lookup(Math.Max(timestampOffset.Offset, startingOffset)).Position;
        foreach (var batch in Batches(position))
        {
            if (batch.MaxTimestamp < timestamp || batch.LastOffset < startingOffset)
            {
                continue;
            }

            var bytes = ArrayPool<byte>.Shared.Rent(batch.Size);
            try
            {
                int n = ReadFully(batch.Position, bytes.AsSpan(0, batch.Size));
                var found = RecordDecoding.FirstRecordAtOrAfter(bytes.AsMemory(0, n), timestamp, startingOffset);
                if (found is { } f)
                {
                    return new TimestampAndOffset(f.Timestamp, f.Offset, batch.PartitionLeaderEpoch >= 0 ? batch.PartitionLeaderEpoch : null);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(bytes);
            }
        }

        return null;
    }

    /// <summary>
    /// Rebuilds both indexes from the .log and truncates it at the first batch that is torn,
    /// corrupt (CRC, magic, length) or whose offsets go backwards. Returns the bytes truncated;
    /// <see cref="TrailingZeroBytes"/> says whether they were all zeros (what preallocate=true
    /// writes ahead of the end, left behind by a crash).
    /// </summary>
    public int Recover(int maxBatchSize = int.MaxValue)
    {
        OffsetIndex.Reset();
        TimeIndex.Reset();
        int size = checked((int)_log.Length);
        int validBytes = 0;
        int lastIndexEntry = 0;
        long maxTimestamp = -1;
        long offsetOfMaxTimestamp = BaseOffset;
        long nextOffset = BaseOffset;
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            int bufferStart = 0;
            int bufferLength = 0;
            while (validBytes < size)
            {
                if (validBytes - bufferStart + RecordBatch.HeaderSize > bufferLength)
                {
                    bufferStart = validBytes;
                    bufferLength = ReadFully(validBytes, buffer.AsSpan(0, Math.Min(buffer.Length, size - validBytes)));
                }

                var span = buffer.AsSpan(validBytes - bufferStart, bufferLength - (validBytes - bufferStart));
                var status = RecordSet.TryReadBatch(span, out int batchSize);
                if (status == RecordSetStatus.Truncated && batchSize > span.Length && batchSize <= size - validBytes && batchSize <= maxBatchSize)
                {
                    // The batch is in the file but not wholly in the buffer: reload from its start.
                    if (batchSize > buffer.Length)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = ArrayPool<byte>.Shared.Rent(batchSize);
                    }

                    bufferStart = validBytes;
                    bufferLength = ReadFully(validBytes, buffer.AsSpan(0, Math.Min(buffer.Length, size - validBytes)));
                    span = buffer.AsSpan(0, bufferLength);
                    status = RecordSet.TryReadBatch(span, out batchSize);
                }

                if (status != RecordSetStatus.Complete || span[RecordBatch.MagicOffset] != RecordBatch.CurrentMagic || batchSize > maxBatchSize)
                {
                    break;
                }

                var batch = span[..batchSize];
                if (!RecordBatch.IsCrcValid(batch))
                {
                    break;
                }

                var header = RecordBatchHeader.Read(batch);
                if (header.BaseOffset < nextOffset || header.LastOffsetDelta < 0 || !CanConvertToRelativeOffset(header.LastOffset))
                {
                    break;
                }

                if (header.MaxTimestamp > maxTimestamp)
                {
                    maxTimestamp = header.MaxTimestamp;
                    offsetOfMaxTimestamp = header.LastOffset;
                }

                if (validBytes - lastIndexEntry > _indexIntervalBytes)
                {
                    OffsetIndex.Append(header.LastOffset, validBytes);
                    TimeIndex.MaybeAppend(maxTimestamp, offsetOfMaxTimestamp);
                    lastIndexEntry = validBytes;
                }

                nextOffset = header.LastOffset + 1;
                validBytes += batchSize;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        int truncated = size - validBytes;
        TrailingZeroBytes = truncated > 0 && IsZero(validBytes, size) ? truncated : 0;
        if (truncated > 0)
        {
            _log.SetLength(validBytes);
        }

        if (_preallocate)
        {
            // After a crash nobody knows what was reserved past the end: give it back.
            FileUtil.ReleaseReservation(_handle, validBytes);
        }

        _reservedEnd = 0;
        _filledEnd = 0;

        Volatile.Write(ref _size, validBytes);
        _bytesSinceLastIndexEntry = validBytes - lastIndexEntry;
        if (maxTimestamp >= 0)
        {
            TimeIndex.MaybeAppend(maxTimestamp, offsetOfMaxTimestamp, skipFullCheck: true);
        }

        lock (_stateLock)
        {
            _maxTimestampSoFar = maxTimestamp;
            _offsetOfMaxTimestampSoFar = offsetOfMaxTimestamp;
            _rollingBasedTimestamp = -2;
        }

        return truncated;
    }

    /// <summary>Bytes the last <see cref="Recover"/> truncated when every one of them was zero, else 0.</summary>
    public int TrailingZeroBytes { get; private set; }

    /// <summary>
    /// Cuts the segment before the batch holding <paramref name="offset"/> (and everything after).
    /// Returns the bytes removed.
    /// </summary>
    public int TruncateTo(long offset)
    {
        var mapping = TranslateOffset(offset);
        if (mapping is not { } batch)
        {
            return 0;
        }

        OffsetIndex.TruncateTo(offset);
        TimeIndex.TruncateTo(offset);
        int removed = Size - batch.Position;
        _log.SetLength(batch.Position);
        _filledEnd = 0;
        ReleaseReservedBlocks(batch.Position);
        Volatile.Write(ref _size, batch.Position);
        _bytesSinceLastIndexEntry = 0;
        lock (_stateLock)
        {
            _maxTimestampSoFar = -2;
            _rollingBasedTimestamp = -2;
        }

        EnsureMaxTimestampLoaded();
        return removed;
    }

    /// <summary>The segment stops being the active one: add the final time index entry and trim both indexes.</summary>
    public void OnBecomeInactiveSegment()
    {
        ReleaseReservedBlocks(Size);
        long max = MaxTimestampSoFar;
        if (max >= 0)
        {
            TimeIndex.MaybeAppend(max, OffsetOfMaxTimestampSoFar, skipFullCheck: true);
        }

        OffsetIndex.TrimToValidSize();
        TimeIndex.TrimToValidSize();

        // Inactive segments keep no index memory until someone looks something up in them.
        OffsetIndex.Unload();
        TimeIndex.Unload();
    }

    /// <summary>A loaded last segment becomes active again: make room in its indexes.</summary>
    public void OnBecomeActiveSegment()
    {
        OffsetIndex.ResizeToMax();
        TimeIndex.ResizeToMax();
    }

    /// <summary>Loads the indexes and checks them against the .log; throws <see cref="CorruptIndexException"/>.</summary>
    public void SanityCheck(bool full)
    {
        if (full)
        {
            OffsetIndex.Load(Size);
            TimeIndex.Load(Size);
        }
        else
        {
            OffsetIndex.SanityCheckFile(Size);
            TimeIndex.SanityCheckFile(Size);
        }
    }

    public void Flush()
    {
        if (_disposed)
        {
            return;
        }

        _log.Flush(flushToDisk: true);
        OffsetIndex.Flush();
        TimeIndex.Flush();
    }

    /// <summary>Renames the three files from <paramref name="oldSuffix"/> to <paramref name="newSuffix"/> (e.g. "" → ".deleted").</summary>
    public void ChangeFileSuffixes(string oldSuffix, string newSuffix)
    {
        LogFilePath = Rename(LogFilePath, oldSuffix, newSuffix);
        OffsetIndex.RenameTo(SwapSuffix(OffsetIndex.FilePath, oldSuffix, newSuffix));
        TimeIndex.RenameTo(SwapSuffix(TimeIndex.FilePath, oldSuffix, newSuffix));
    }

    /// <summary>Closes the files, adding the final time index entry and trimming the indexes.</summary>
    public void Close()
    {
        if (_disposed)
        {
            return;
        }

        try
        {
            OnBecomeInactiveSegment();
        }
        catch (IOException)
        {
            // The files are going away or the disk failed: nothing more to save.
        }

        Dispose();
    }

    /// <summary>Closes and removes the files.</summary>
    public void DeleteFiles()
    {
        Dispose();
        File.Delete(LogFilePath);
        OffsetIndex.DeleteFile();
        TimeIndex.DeleteFile();
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        OffsetIndex.Dispose();
        TimeIndex.Dispose();
        _log.Dispose();
    }

    public override string ToString() => $"LogSegment(baseOffset={BaseOffset}, size={Size}, path={LogFilePath})";

    internal int ReadFully(long position, Span<byte> destination)
    {
        int done = 0;
        while (done < destination.Length)
        {
            int n = RandomAccess.Read(_handle, destination[done..], position + done);
            if (n <= 0)
            {
                break;
            }

            done += n;
        }

        return done;
    }

    private void EnsureMaxTimestampLoaded()
    {
        if (Volatile.Read(ref _maxTimestampSoFar) != -2)
        {
            return;
        }

        lock (_stateLock)
        {
            if (_maxTimestampSoFar != -2)
            {
                return;
            }

            // Kafka's loadLargestTimestamp: the last time index entry, then the batches after it.
            var last = TimeIndex.LastEntry;
            long max = last.Timestamp;
            long offsetOfMax = last.Offset;
            int position = OffsetIndex.Lookup(last.Offset).Position;
            foreach (var batch in Batches(position))
            {
                if (batch.MaxTimestamp > max)
                {
                    max = batch.MaxTimestamp;
                    offsetOfMax = batch.LastOffset;
                }
            }

            _offsetOfMaxTimestampSoFar = offsetOfMax;
            Volatile.Write(ref _maxTimestampSoFar, max);
        }
    }

    /// <summary>Reserves blocks from the current reservation (or the end) up to at least <paramref name="needed"/>.</summary>
    private void Reserve(long needed)
    {
        long from = Math.Max(_reservedEnd, _size);
        long step = Math.Clamp(_size, PreallocateFromBytes, PreallocateStepBytes);
        long to = Math.Max(needed, Math.Min(from + step, _segmentBytes));
        if (FileUtil.TryReserve(_handle, from, to - from))
        {
            _reservedEnd = to;
        }
        else
        {
            // Not supported here, or the disk is full (the write will say so): stop trying.
            _preallocate = false;
        }
    }

    /// <summary>
    /// Writes the batches and, in the same pwritev, zeros up to the next 64 KiB boundary of the
    /// file. The appends that follow then overwrite pages the kernel already holds, in large
    /// folios, instead of creating each page with a write that starts and ends in the middle of
    /// pages (batches are not page aligned): on ext4 that makes a 16 KiB append about 1.8 times
    /// faster (bench/Storage.Benchmarks). Readers never see the zeros (they stop at
    /// <see cref="Size"/>); roll, truncation and close cut them off; recovery after a crash trims
    /// them (<see cref="TrailingZeroBytes"/>). Kafka's own preallocate extends the file to
    /// segment.bytes in the same spirit.
    /// </summary>
    private void WriteAndPrefill(ReadOnlySpan<byte> records, int position, long end)
    {
        long to = Math.Min((end + PrefillAlignmentBytes - 1) & ~(long)(PrefillAlignmentBytes - 1), Math.Max(_segmentBytes, end));
        if (to <= end)
        {
            RandomAccess.Write(_handle, records, position);
            return;
        }

        try
        {
            FileUtil.WriteThenZeros(_handle, records, position, (int)(to - end));
            _filledEnd = to;
        }
        catch (IOException)
        {
            // Disk full or failing: cut what may have been written and append without zeros
            // (the plain write reports a real error).
            _prefill = false;
            _filledEnd = 0;
            _log.SetLength(position);
            RandomAccess.Write(_handle, records, position);
        }
    }

    private bool IsZero(long from, long to)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            for (long position = from; position < to;)
            {
                int n = ReadFully(position, buffer.AsSpan(0, (int)Math.Min(buffer.Length, to - position)));
                if (n == 0 || buffer.AsSpan(0, n).ContainsAnyExcept((byte)0))
                {
                    return false;
                }

                position += n;
            }

            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Cuts the zeros written ahead and gives back the blocks reserved past <paramref name="size"/> (roll, truncation, close).</summary>
    private void ReleaseReservedBlocks(long size)
    {
        if (_filledEnd > size)
        {
            _log.SetLength(size);
        }

        if (_reservedEnd > size)
        {
            FileUtil.ReleaseReservation(_handle, size);
        }

        _reservedEnd = 0;
        _filledEnd = 0;
    }

    private void LoadRollingBasedTimestamp()
    {
        lock (_stateLock)
        {
            _rollingBasedTimestamp = TryReadBatchAt(0, Size, out var first) ? first.MaxTimestamp : -1;
        }
    }

    private static string Rename(string path, string oldSuffix, string newSuffix)
    {
        string target = SwapSuffix(path, oldSuffix, newSuffix);
        File.Move(path, target, overwrite: true);
        return target;
    }

    private static string SwapSuffix(string path, string oldSuffix, string newSuffix)
    {
        if (!path.EndsWith(oldSuffix, StringComparison.Ordinal))
        {
            throw new ArgumentException($"{path} does not end with '{oldSuffix}'.", nameof(oldSuffix));
        }

        return path[..^oldSuffix.Length] + newSuffix;
    }
}
