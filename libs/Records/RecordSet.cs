using System.Buffers.Binary;

namespace Aspire.Kafka.Records;

/// <summary>What <see cref="RecordSet.TryReadBatch"/> found at the start of a record set.</summary>
public enum RecordSetStatus
{
    /// <summary>A whole batch (or legacy message) is there; its size is reported.</summary>
    Complete,

    /// <summary>Fewer bytes than the batch claims, or fewer than the 17 needed to learn length and magic.</summary>
    Truncated,

    /// <summary>A length too small for the batch's magic, a length that overflows, or an unknown magic.</summary>
    Corrupt,
}

/// <summary>
/// A record set: consecutive record batches (magic 2) or legacy messages (magic 0/1), as carried by a
/// Produce request, a Fetch response or a segment's .log file.
/// </summary>
public static class RecordSet
{
    /// <summary>Smallest legacy message body (crc..value) for magic 0 and for magic 1.</summary>
    internal const int LegacyV0MinMessageSize = 14;
    internal const int LegacyV1MinMessageSize = 22;

    /// <summary>
    /// Looks at the batch starting at <paramref name="recordSet"/>[0] without checking its CRC.
    /// <paramref name="batchSize"/> is its full size (length + 12) when Complete, the size it claims
    /// when Truncated and known, else 0.
    /// </summary>
    public static RecordSetStatus TryReadBatch(ReadOnlySpan<byte> recordSet, out int batchSize) =>
        TryReadBatch(recordSet, out batchSize, out _);

    internal static RecordSetStatus TryReadBatch(ReadOnlySpan<byte> recordSet, out int batchSize, out RecordSetError corruption)
    {
        corruption = RecordSetError.None;
        batchSize = 0;
        if (recordSet.Length < RecordBatch.MinimumPrefixSize)
        {
            return RecordSetStatus.Truncated;
        }

        int length = BinaryPrimitives.ReadInt32BigEndian(recordSet[RecordBatch.BatchLengthOffset..]);
        byte magic = recordSet[RecordBatch.MagicOffset];
        int minimum = magic switch
        {
            2 => RecordBatch.HeaderSize - RecordBatch.LogOverhead,
            1 => LegacyV1MinMessageSize,
            0 => LegacyV0MinMessageSize,
            _ => -1,
        };

        if (minimum < 0)
        {
            corruption = RecordSetError.UnsupportedMagic;
            return RecordSetStatus.Corrupt;
        }

        if (length < minimum || length > int.MaxValue - RecordBatch.LogOverhead)
        {
            corruption = RecordSetError.InvalidBatchLength;
            return RecordSetStatus.Corrupt;
        }

        batchSize = length + RecordBatch.LogOverhead;
        return recordSet.Length >= batchSize ? RecordSetStatus.Complete : RecordSetStatus.Truncated;
    }

    /// <summary>
    /// Checks every batch of a magic-2 record set — length, magic, size limit, CRC-32C, then
    /// compression id and record count against lastOffsetDelta — without decompressing or allocating.
    /// </summary>
    /// <param name="maxBatchSize">largest allowed batch (message.max.bytes), in bytes including the 12-byte log overhead.</param>
    /// <param name="allowTruncatedTail">accept a partial batch at the end (a Fetch response may end in one); it is not counted.</param>
    /// <param name="verifyCrc">
    /// false only for batches this process just built (recompression output): their CRC was written
    /// from the bytes, so only framing, sizes and counts can be wrong.
    /// </param>
    public static RecordSetValidation Validate(ReadOnlySpan<byte> recordSet, int maxBatchSize = int.MaxValue, bool allowTruncatedTail = false,
        bool verifyCrc = true)
    {
        int position = 0;
        int batches = 0;
        long records = 0;
        long firstOffset = -1;
        long lastOffset = -1;
        long maxTimestamp = RecordBatch.NoTimestamp;

        while (position < recordSet.Length)
        {
            ReadOnlySpan<byte> rest = recordSet[position..];
            RecordSetStatus status = TryReadBatch(rest, out int size, out RecordSetError corruption);
            if (status == RecordSetStatus.Truncated)
            {
                if (allowTruncatedTail)
                {
                    break;
                }

                return Fail(RecordSetError.Truncated, size, rest.Length);
            }

            if (status == RecordSetStatus.Corrupt)
            {
                return corruption == RecordSetError.UnsupportedMagic
                    ? Fail(corruption, rest[RecordBatch.MagicOffset], 0)
                    : Fail(corruption, BinaryPrimitives.ReadInt32BigEndian(rest[RecordBatch.BatchLengthOffset..]), 0);
            }

            byte magic = rest[RecordBatch.MagicOffset];
            if (magic != RecordBatch.CurrentMagic)
            {
                return Fail(RecordSetError.UnsupportedMagic, magic, 0);
            }

            if (size > maxBatchSize)
            {
                return Fail(RecordSetError.BatchTooLarge, size, maxBatchSize);
            }

            ReadOnlySpan<byte> batch = rest[..size];

            // The CRC first, as Kafka's ensureValid: every field it covers (attributes, counts)
            // means nothing until it matches, and a mismatch is CORRUPT_MESSAGE.
            if (verifyCrc)
            {
                uint stored = BinaryPrimitives.ReadUInt32BigEndian(batch[RecordBatch.CrcOffset..]);
                uint computed = Crc32C.Compute(batch[RecordBatch.AttributesOffset..]);
                if (stored != computed)
                {
                    return Fail(RecordSetError.CrcMismatch, stored, computed);
                }
            }

            short attributes = BinaryPrimitives.ReadInt16BigEndian(batch[RecordBatch.AttributesOffset..]);
            int codec = attributes & RecordBatch.CompressionCodecMask;
            if (codec > (int)CompressionType.Zstd)
            {
                return Fail(RecordSetError.UnknownCompression, codec, 0);
            }

            int lastOffsetDelta = BinaryPrimitives.ReadInt32BigEndian(batch[RecordBatch.LastOffsetDeltaOffset..]);
            int count = BinaryPrimitives.ReadInt32BigEndian(batch[RecordBatch.RecordsCountOffset..]);
            if (count < 0 || lastOffsetDelta < 0 || count > (long)lastOffsetDelta + 1 ||
                (codec == 0 && count > (size - RecordBatch.HeaderSize) / MinimumRecordSize))
            {
                return Fail(RecordSetError.InvalidRecordCount, count, lastOffsetDelta);
            }

            long baseOffset = BinaryPrimitives.ReadInt64BigEndian(batch);
            if (batches == 0)
            {
                firstOffset = baseOffset;
            }

            lastOffset = baseOffset + lastOffsetDelta;
            long batchMaxTimestamp = BinaryPrimitives.ReadInt64BigEndian(batch[RecordBatch.MaxTimestampOffset..]);
            maxTimestamp = Math.Max(maxTimestamp, batchMaxTimestamp);
            batches++;
            records += count;
            position += size;
        }

        return new RecordSetValidation(RecordSetError.None, batches, records, firstOffset, lastOffset, maxTimestamp, position, 0, 0);

        RecordSetValidation Fail(RecordSetError error, long detail, long detail2) =>
            new(error, batches, records, firstOffset, lastOffset, maxTimestamp, position, detail, detail2);
    }

    /// <summary>
    /// Decodes every record of a record set of v2 batches and/or legacy messages, in order.
    /// </summary>
    /// <param name="allowTruncatedTail">ignore a partial batch at the end (as consumers do with Fetch responses).</param>
    public static List<Record> ReadRecords(ReadOnlyMemory<byte> recordSet, bool verifyCrc = true, bool allowTruncatedTail = false,
        int maxDecompressedSize = Compression.DefaultMaxDecompressedSize)
    {
        var records = new List<Record>();
        int position = 0;
        while (position < recordSet.Length)
        {
            ReadOnlyMemory<byte> rest = recordSet[position..];
            RecordSetStatus status = TryReadBatch(rest.Span, out int size);
            if (status == RecordSetStatus.Truncated && allowTruncatedTail)
            {
                break;
            }

            if (status != RecordSetStatus.Complete)
            {
                throw new CorruptRecordException(status == RecordSetStatus.Truncated
                    ? $"Record set truncated at byte {position}: a batch claims {size} bytes, {rest.Length} remain."
                    : $"Corrupt batch at byte {position}: invalid length or magic.");
            }

            if (rest.Span[RecordBatch.MagicOffset] == RecordBatch.CurrentMagic)
            {
                RecordBatchReader.ReadRecords(rest[..size], records, verifyCrc, maxDecompressedSize);
            }
            else
            {
                LegacyMessageSet.ReadRecords(rest[..size], records, verifyCrc, allowTruncatedTail: false, maxDecompressedSize);
            }

            position += size;
        }

        return records;
    }

    /// <summary>Walks the complete batches of a record set without checking them; see <see cref="BatchEnumerator.Status"/> at the end.</summary>
    public static BatchEnumerator EnumerateBatches(ReadOnlySpan<byte> recordSet) => new(recordSet);

    /// <summary>Smallest encoded record: length, attributes, timestampDelta, offsetDelta, keyLength, valueLength, headerCount.</summary>
    internal const int MinimumRecordSize = 7;
}

/// <summary>Why a record set failed validation.</summary>
public enum RecordSetError
{
    None,

    /// <summary>The last batch is incomplete.</summary>
    Truncated,

    /// <summary>batchLength smaller than a header or overflowing.</summary>
    InvalidBatchLength,

    /// <summary>A magic other than 2 (or unknown altogether).</summary>
    UnsupportedMagic,

    /// <summary>The stored CRC-32C does not match the bytes.</summary>
    CrcMismatch,

    /// <summary>recordCount negative, larger than lastOffsetDelta + 1, or more than the bytes can hold.</summary>
    InvalidRecordCount,

    /// <summary>A compression codec id above 4.</summary>
    UnknownCompression,

    /// <summary>A batch larger than the allowed maximum.</summary>
    BatchTooLarge,
}

/// <summary>
/// The result of <see cref="RecordSet.Validate"/>: counts over the valid batches and, on failure,
/// which batch failed and why. <see cref="ErrorMessage"/> is only formatted when asked for.
/// </summary>
public readonly struct RecordSetValidation
{
    private readonly long _detail;
    private readonly long _detail2;

    internal RecordSetValidation(RecordSetError error, int batchCount, long recordCount, long firstOffset, long lastOffset,
        long maxTimestamp, int validBytes, long detail, long detail2)
    {
        Error = error;
        BatchCount = batchCount;
        RecordCount = recordCount;
        FirstOffset = firstOffset;
        LastOffset = lastOffset;
        MaxTimestamp = maxTimestamp;
        ValidBytes = validBytes;
        _detail = detail;
        _detail2 = detail2;
    }

    public bool IsValid => Error == RecordSetError.None;

    public RecordSetError Error { get; }

    /// <summary>Valid batches before the failure (all of them when valid).</summary>
    public int BatchCount { get; }

    public long RecordCount { get; }

    /// <summary>Base offset of the first batch, -1 when none.</summary>
    public long FirstOffset { get; }

    /// <summary>Last offset of the last valid batch, -1 when none.</summary>
    public long LastOffset { get; }

    public long MaxTimestamp { get; }

    /// <summary>Bytes of whole valid batches from the start: where a failing batch begins, or where a tolerated partial tail begins.</summary>
    public int ValidBytes { get; }

    /// <summary>
    /// Kafka's error code for a Produce response: CORRUPT_MESSAGE (2) for CRC, length, count and
    /// truncation failures, MESSAGE_TOO_LARGE (10), INVALID_RECORD (87) for a magic other than 2.
    /// </summary>
    public short KafkaErrorCode => Error switch
    {
        RecordSetError.None => 0,
        RecordSetError.BatchTooLarge => 10,
        RecordSetError.UnsupportedMagic => 87,
        _ => 2,
    };

    public string? ErrorMessage => Error switch
    {
        RecordSetError.None => null,
        RecordSetError.Truncated => _detail > 0
            ? $"Record set truncated: batch {BatchCount} at byte {ValidBytes} claims {_detail} bytes but only {_detail2} remain."
            : $"Record set truncated: {_detail2} trailing bytes at byte {ValidBytes} are too few for a batch header.",
        RecordSetError.InvalidBatchLength => $"Corrupt record batch {BatchCount} at byte {ValidBytes}: invalid batchLength {_detail}.",
        RecordSetError.UnsupportedMagic => $"Record batch {BatchCount} at byte {ValidBytes} has magic {_detail}; only magic 2 is accepted.",
        RecordSetError.CrcMismatch => $"Record batch {BatchCount} at byte {ValidBytes} is corrupt: CRC-32C mismatch (stored 0x{_detail:X8}, computed 0x{_detail2:X8}).",
        RecordSetError.InvalidRecordCount => $"Record batch {BatchCount} at byte {ValidBytes} is corrupt: record count {_detail} does not fit lastOffsetDelta {_detail2} and the batch size.",
        RecordSetError.UnknownCompression => $"Record batch {BatchCount} at byte {ValidBytes} has unknown compression codec id {_detail}.",
        RecordSetError.BatchTooLarge => $"Record batch {BatchCount} at byte {ValidBytes} is {_detail} bytes, larger than the maximum {_detail2}.",
        _ => Error.ToString(),
    };

    public override string ToString() => IsValid
        ? $"Valid: {BatchCount} batches, {RecordCount} records, offsets {FirstOffset}..{LastOffset}"
        : ErrorMessage!;
}

/// <summary>
/// Yields each complete batch (or legacy message) of a record set as a span. Stops at the first
/// incomplete or corrupt one: <see cref="Status"/> then says which, <see cref="Position"/> where.
/// </summary>
public ref struct BatchEnumerator
{
    private readonly ReadOnlySpan<byte> _recordSet;
    private int _next;

    internal BatchEnumerator(ReadOnlySpan<byte> recordSet)
    {
        _recordSet = recordSet;
        Current = default;
        Position = 0;
        Status = RecordSetStatus.Complete;
    }

    public ReadOnlySpan<byte> Current { get; private set; }

    /// <summary>Byte position of <see cref="Current"/>; after the walk, of the first byte not yielded.</summary>
    public int Position { get; private set; }

    /// <summary>Complete when the walk ended exactly at the end of the record set.</summary>
    public RecordSetStatus Status { get; private set; }

    public readonly BatchEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        Position = _next;
        if (_next >= _recordSet.Length)
        {
            return false;
        }

        Status = RecordSet.TryReadBatch(_recordSet[_next..], out int size);
        if (Status != RecordSetStatus.Complete)
        {
            return false;
        }

        Current = _recordSet.Slice(_next, size);
        _next += size;
        return true;
    }
}
