using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Aspire.Kafka.Protocol;

namespace Aspire.Kafka.Records;

/// <summary>
/// Builds one record batch v2: append records, then <see cref="Build"/> or <see cref="WriteTo"/>.
/// Records are encoded into a pooled buffer as they come; compression and the CRC happen when
/// the batch is written. Dispose returns the buffer.
/// </summary>
public sealed class RecordBatchBuilder : IDisposable
{
    private readonly KafkaWriter _records = new(1024);
    private readonly short _attributes;
    private long _nextOffset;
    private long _baseTimestamp = RecordBatch.NoTimestamp;
    private long _maxTimestamp = RecordBatch.NoTimestamp;
    private int _lastOffsetDelta = -1;

    public RecordBatchBuilder(
        CompressionType compressionType,
        long baseOffset = 0,
        long producerId = RecordBatch.NoProducerId,
        short producerEpoch = RecordBatch.NoProducerEpoch,
        int baseSequence = RecordBatch.NoSequence,
        int partitionLeaderEpoch = RecordBatch.NoPartitionLeaderEpoch,
        TimestampType timestampType = TimestampType.CreateTime,
        bool isTransactional = false,
        bool isControl = false,
        long deleteHorizonMs = RecordBatch.NoTimestamp)
    {
        if ((byte)compressionType > (byte)CompressionType.Zstd)
        {
            throw new ArgumentOutOfRangeException(nameof(compressionType), compressionType, "Unknown compression type.");
        }

        if (timestampType == TimestampType.NoTimestamp)
        {
            throw new ArgumentException("A v2 batch has CreateTime or LogAppendTime timestamps.", nameof(timestampType));
        }

        CompressionType = compressionType;
        BaseOffset = baseOffset;
        ProducerId = producerId;
        ProducerEpoch = producerEpoch;
        BaseSequence = baseSequence;
        PartitionLeaderEpoch = partitionLeaderEpoch;
        TimestampType = timestampType;
        _nextOffset = baseOffset;
        DeleteHorizonMs = deleteHorizonMs;
        if (deleteHorizonMs >= 0)
        {
            _baseTimestamp = deleteHorizonMs;
        }

        _attributes = (short)((byte)compressionType |
            (deleteHorizonMs >= 0 ? RecordBatch.DeleteHorizonFlagMask : 0) |
            (timestampType == TimestampType.LogAppendTime ? RecordBatch.TimestampTypeMask : 0) |
            (isTransactional ? RecordBatch.TransactionalFlagMask : 0) |
            (isControl ? RecordBatch.ControlFlagMask : 0));
    }

    public CompressionType CompressionType { get; }

    public long BaseOffset { get; }

    public long ProducerId { get; }

    public short ProducerEpoch { get; }

    public int BaseSequence { get; }

    public int PartitionLeaderEpoch { get; }

    public TimestampType TimestampType { get; }

    /// <summary>
    /// When set (the cleaner, KIP-534), the batch's base timestamp is this delete horizon and record
    /// timestamps are deltas from it; else the base timestamp is the first record's.
    /// </summary>
    public long DeleteHorizonMs { get; }

    public int RecordCount { get; private set; }

    /// <summary>The offset the next <see cref="Append"/> gets.</summary>
    public long NextOffset => _nextOffset;

    /// <summary>Bytes of the encoded records so far, before compression.</summary>
    public int UncompressedRecordsSize => _records.Position;

    /// <summary>Upper bound of the batch size if written uncompressed now.</summary>
    public int EstimatedSizeInBytes => RecordBatch.HeaderSize + _records.Position;

    /// <summary>Appends a record at <see cref="NextOffset"/>; returns its offset.</summary>
    public long Append(long timestamp, ReadOnlyMemory<byte>? key, ReadOnlyMemory<byte>? value, IReadOnlyList<RecordHeader>? headers = null)
    {
        long offset = _nextOffset;
        AppendCore(offset, timestamp, key.HasValue ? key.Value.Span : default, !key.HasValue,
            value.HasValue ? value.Value.Span : default, !value.HasValue, headers);
        return offset;
    }

    /// <summary>
    /// Appends a record from arrays at <see cref="NextOffset"/>; a null array is a null key/value
    /// (a null byte[] passed as ReadOnlyMemory&lt;byte&gt;? would become an empty one).
    /// </summary>
    public long Append(long timestamp, byte[]? key, byte[]? value, IReadOnlyList<RecordHeader>? headers = null) =>
        Append(timestamp, AsMemory(key), AsMemory(value), headers);

    /// <summary>Appends a record from arrays at an explicit offset; a null array is a null key/value.</summary>
    public void AppendWithOffset(long offset, long timestamp, byte[]? key, byte[]? value, IReadOnlyList<RecordHeader>? headers = null) =>
        AppendWithOffset(offset, timestamp, AsMemory(key), AsMemory(value), headers);

    private static ReadOnlyMemory<byte>? AsMemory(byte[]? bytes) => bytes is null ? (ReadOnlyMemory<byte>?)null : new ReadOnlyMemory<byte>(bytes);

    /// <summary>Appends a record at an explicit offset (greater than the previous one), e.g. when compaction leaves gaps.</summary>
    public void AppendWithOffset(long offset, long timestamp, ReadOnlyMemory<byte>? key, ReadOnlyMemory<byte>? value, IReadOnlyList<RecordHeader>? headers = null)
    {
        if (offset < _nextOffset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"Offsets must increase: the next offset is at least {_nextOffset}.");
        }

        AppendCore(offset, timestamp, key.HasValue ? key.Value.Span : default, !key.HasValue,
            value.HasValue ? value.Value.Span : default, !value.HasValue, headers);
    }

    /// <summary>Appends a decoded record at its own offset (keeping key, value, headers, timestamp).</summary>
    public void Append(in Record record) =>
        AppendWithOffset(record.Offset, record.Timestamp, record.Key, record.Value, record.Headers);

    /// <summary>Span-based append for callers that have no Memory: null key/value by flag.</summary>
    public long Append(long timestamp, ReadOnlySpan<byte> key, bool keyIsNull, ReadOnlySpan<byte> value, bool valueIsNull)
    {
        long offset = _nextOffset;
        AppendCore(offset, timestamp, key, keyIsNull, value, valueIsNull, null);
        return offset;
    }

    private void AppendCore(long offset, long timestamp, ReadOnlySpan<byte> key, bool keyIsNull, ReadOnlySpan<byte> value,
        bool valueIsNull, IReadOnlyList<RecordHeader>? headers)
    {
        long delta = offset - BaseOffset;
        if (delta > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, "Offset delta does not fit an int32.");
        }

        if (RecordCount == 0 && DeleteHorizonMs < 0)
        {
            _baseTimestamp = timestamp;
        }

        int offsetDelta = (int)delta;
        long timestampDelta = timestamp - _baseTimestamp;
        int headerCount = headers?.Count ?? 0;

        int bodySize = 1 + Varint.SizeOfVarlong(timestampDelta) + Varint.SizeOfVarint(offsetDelta)
            + (keyIsNull ? 1 : Varint.SizeOfVarint(key.Length) + key.Length)
            + (valueIsNull ? 1 : Varint.SizeOfVarint(value.Length) + value.Length)
            + Varint.SizeOfVarint(headerCount);
        for (int i = 0; i < headerCount; i++)
        {
            RecordHeader header = headers![i];
            ArgumentNullException.ThrowIfNull(header.Key, "header.Key");
            int keyBytes = Encoding.UTF8.GetByteCount(header.Key);
            bodySize += Varint.SizeOfVarint(keyBytes) + keyBytes
                + (header.Value is { } hv ? Varint.SizeOfVarint(hv.Length) + hv.Length : 1);
        }

        KafkaWriter w = _records;
        w.WriteVarint(bodySize);
        w.WriteInt8(0);
        w.WriteVarlong(timestampDelta);
        w.WriteVarint(offsetDelta);
        WriteVarBytes(w, key, keyIsNull);
        WriteVarBytes(w, value, valueIsNull);
        w.WriteVarint(headerCount);
        for (int i = 0; i < headerCount; i++)
        {
            RecordHeader header = headers![i];
            int keyBytes = Encoding.UTF8.GetByteCount(header.Key);
            w.WriteVarint(keyBytes);
            Span<byte> keySpan = w.GetSpan(keyBytes);
            Encoding.UTF8.GetBytes(header.Key, keySpan);
            w.Advance(keyBytes);
            if (header.Value is { } hv)
            {
                WriteVarBytes(w, hv.Span, false);
            }
            else
            {
                w.WriteVarint(-1);
            }
        }

        _lastOffsetDelta = offsetDelta;
        _nextOffset = offset + 1;
        _maxTimestamp = RecordCount == 0 ? timestamp : Math.Max(_maxTimestamp, timestamp);
        RecordCount++;
    }

    private static void WriteVarBytes(KafkaWriter w, ReadOnlySpan<byte> bytes, bool isNull)
    {
        if (isNull)
        {
            w.WriteVarint(-1);
            return;
        }

        w.WriteVarint(bytes.Length);
        w.WriteRaw(bytes);
    }

    /// <summary>The batch as a new array.</summary>
    public byte[] Build()
    {
        if (CompressionType == CompressionType.None)
        {
            var batch = new byte[RecordBatch.HeaderSize + _records.Position];
            WriteBatch(batch, _records.WrittenSpan);
            return batch;
        }

        using var compressed = new KafkaWriter(Math.Max(256, _records.Position / 2));
        Compression.Compress(CompressionType, _records.WrittenSpan, compressed);
        var result = new byte[RecordBatch.HeaderSize + compressed.Position];
        WriteBatch(result, compressed.WrittenSpan);
        return result;
    }

    /// <summary>Writes the batch to <paramref name="destination"/>; returns its size.</summary>
    public int WriteTo(IBufferWriter<byte> destination)
    {
        if (CompressionType == CompressionType.None)
        {
            return WriteAndAdvance(destination, _records.WrittenSpan);
        }

        using var compressed = new KafkaWriter(Math.Max(256, _records.Position / 2));
        Compression.Compress(CompressionType, _records.WrittenSpan, compressed);
        return WriteAndAdvance(destination, compressed.WrittenSpan);
    }

    private int WriteAndAdvance(IBufferWriter<byte> destination, ReadOnlySpan<byte> payload)
    {
        int size = RecordBatch.HeaderSize + payload.Length;
        Span<byte> span = destination.GetSpan(size)[..size];
        WriteBatch(span, payload);
        destination.Advance(size);
        return size;
    }

    private void WriteBatch(Span<byte> batch, ReadOnlySpan<byte> payload)
    {
        new RecordBatchHeader
        {
            BaseOffset = BaseOffset,
            BatchLength = RecordBatch.HeaderSize - RecordBatch.LogOverhead + payload.Length,
            PartitionLeaderEpoch = PartitionLeaderEpoch,
            Magic = RecordBatch.CurrentMagic,
            Attributes = _attributes,
            LastOffsetDelta = Math.Max(_lastOffsetDelta, 0),
            BaseTimestamp = _baseTimestamp,
            MaxTimestamp = _maxTimestamp,
            ProducerId = ProducerId,
            ProducerEpoch = ProducerEpoch,
            BaseSequence = BaseSequence,
            RecordCount = RecordCount,
        }.Write(batch);
        payload.CopyTo(batch[RecordBatch.RecordsOffset..]);
        BinaryPrimitives.WriteUInt32BigEndian(batch[RecordBatch.CrcOffset..], Crc32C.Compute(batch[RecordBatch.AttributesOffset..]));
    }

    public void Dispose() => _records.Dispose();
}
