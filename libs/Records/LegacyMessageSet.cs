using System.Buffers;
using System.Buffers.Binary;
using Aspire.Kafka.Protocol;

namespace Aspire.Kafka.Records;

/// <summary>
/// Kafka's message sets before record batches (magic 0 and 1):
/// <code>
/// offset int64 | messageSize int32 | crc uint32 (CRC-32 IEEE of magic..end) | magic int8 |
/// attributes int8 (bits 0-2 codec, bit 3 timestamp type for v1) | timestamp int64 (v1 only) |
/// key int32 length (-1 null) + bytes | value int32 length (-1 null) + bytes
/// </code>
/// A compressed message is a wrapper whose value is a compressed message set. For v1 the inner
/// offsets are relative and the wrapper carries the absolute offset of the last inner message;
/// for v0 inner offsets are absolute.
/// </summary>
public static class LegacyMessageSet
{
    public const int OffsetOffset = 0;
    public const int SizeOffset = 8;
    public const int CrcOffset = 12;
    public const int MagicOffset = 16;
    public const int AttributesOffset = 17;
    public const int TimestampOffset = 18;
    public const int LogOverhead = 12;

    /// <summary>Bytes of a v0 message before the key length (offset, size, crc, magic, attributes).</summary>
    public static int HeaderSize(byte magic) => magic == 0 ? 18 : 26;

    /// <summary>True when the message at the start of <paramref name="message"/> has a matching CRC-32.</summary>
    public static bool IsCrcValid(ReadOnlySpan<byte> message)
    {
        if (RecordSet.TryReadBatch(message, out int size) != RecordSetStatus.Complete || message[MagicOffset] > 1)
        {
            return false;
        }

        return BinaryPrimitives.ReadUInt32BigEndian(message[CrcOffset..]) == Crc32.Compute(message[MagicOffset..size]);
    }

    /// <summary>Decodes every message of a magic 0/1 message set, unwrapping compressed wrappers.</summary>
    public static List<Record> ReadRecords(ReadOnlyMemory<byte> messageSet, bool verifyCrc = true, bool allowTruncatedTail = false,
        int maxDecompressedSize = Compression.DefaultMaxDecompressedSize)
    {
        var records = new List<Record>();
        ReadRecords(messageSet, records, verifyCrc, allowTruncatedTail, maxDecompressedSize);
        return records;
    }

    public static void ReadRecords(ReadOnlyMemory<byte> messageSet, List<Record> records, bool verifyCrc = true, bool allowTruncatedTail = false,
        int maxDecompressedSize = Compression.DefaultMaxDecompressedSize)
    {
        ArgumentNullException.ThrowIfNull(records);
        int position = 0;
        while (position < messageSet.Length)
        {
            ReadOnlyMemory<byte> rest = messageSet[position..];
            int size = CheckFraming(rest.Span, allowTruncatedTail);
            if (size == 0)
            {
                return;
            }

            ReadMessage(rest[..size], records, verifyCrc, maxDecompressedSize, nested: false);
            position += size;
        }
    }

    /// <summary>Size of the complete message at the start, 0 for a tolerated partial tail.</summary>
    private static int CheckFraming(ReadOnlySpan<byte> rest, bool allowTruncatedTail)
    {
        RecordSetStatus status = RecordSet.TryReadBatch(rest, out int size);
        if (status == RecordSetStatus.Truncated)
        {
            if (allowTruncatedTail)
            {
                return 0;
            }

            throw new CorruptRecordException($"Truncated message set: a message claims {size} bytes, {rest.Length} remain.");
        }

        if (status == RecordSetStatus.Corrupt)
        {
            throw new CorruptRecordException($"Corrupt message: invalid size or magic {(rest.Length > MagicOffset ? rest[MagicOffset] : -1)}.");
        }

        if (rest[MagicOffset] > 1)
        {
            throw new CorruptRecordException($"Expected a legacy message (magic 0 or 1), found magic {rest[MagicOffset]}.");
        }

        return size;
    }

    private static void ReadMessage(ReadOnlyMemory<byte> message, List<Record> records, bool verifyCrc, int maxDecompressedSize, bool nested)
    {
        ReadOnlySpan<byte> m = message.Span;
        long offset = BinaryPrimitives.ReadInt64BigEndian(m);
        byte magic = m[MagicOffset];
        byte attributes = m[AttributesOffset];
        if (verifyCrc)
        {
            uint stored = BinaryPrimitives.ReadUInt32BigEndian(m[CrcOffset..]);
            uint computed = Crc32.Compute(m[MagicOffset..]);
            if (stored != computed)
            {
                throw new CorruptRecordException($"Message at offset {offset} is corrupt: CRC-32 stored 0x{stored:X8}, computed 0x{computed:X8}.");
            }
        }

        long timestamp = RecordBatch.NoTimestamp;
        int p = AttributesOffset + 1;
        if (magic == 1)
        {
            timestamp = BinaryPrimitives.ReadInt64BigEndian(m[p..]);
            p += 8;
        }

        ReadOnlyMemory<byte>? key = ReadBytes(message, ref p, offset);
        ReadOnlyMemory<byte>? value = ReadBytes(message, ref p, offset);
        if (p != m.Length)
        {
            throw new CorruptRecordException($"Message at offset {offset} has {m.Length - p} bytes after its value.");
        }

        var codec = (CompressionType)(attributes & RecordBatch.CompressionCodecMask);
        if (codec == CompressionType.None)
        {
            records.Add(new Record(offset, 0, timestamp, 0, key, value, null, attributes));
            return;
        }

        if (nested)
        {
            throw new CorruptRecordException($"Message at offset {offset} is compressed inside a compressed wrapper.");
        }

        if (value is not { } compressed)
        {
            throw new CorruptRecordException($"Compressed wrapper message at offset {offset} has a null value.");
        }

        byte[] inner = Decompress(codec, compressed.Span, maxDecompressedSize);
        int first = records.Count;
        int position = 0;
        while (position < inner.Length)
        {
            int size = CheckFraming(inner.AsSpan(position), allowTruncatedTail: false);
            if (inner[position + MagicOffset] != magic)
            {
                throw new CorruptRecordException($"Wrapper message at offset {offset} (magic {magic}) holds a magic {inner[position + MagicOffset]} message.");
            }

            ReadMessage(inner.AsMemory(position, size), records, verifyCrc, maxDecompressedSize, nested: true);
            position += size;
        }

        if (records.Count == first)
        {
            throw new CorruptRecordException($"Compressed wrapper message at offset {offset} holds no messages.");
        }

        if (magic == 0)
        {
            return;
        }

        // v1: inner offsets are relative; the wrapper holds the absolute offset of the last one.
        long lastRelative = records[^1].Offset;
        bool logAppendTime = (attributes & RecordBatch.TimestampTypeMask) != 0;
        for (int i = first; i < records.Count; i++)
        {
            Record r = records[i];
            records[i] = new Record(offset - lastRelative + r.Offset, 0, logAppendTime ? timestamp : r.Timestamp, 0, r.Key, r.Value, null, r.Attributes);
        }
    }

    private static byte[] Decompress(CompressionType codec, ReadOnlySpan<byte> compressed, int maxDecompressedSize)
    {
        using var output = new KafkaWriter(Math.Max(256, compressed.Length * 4));
        if (codec == CompressionType.Lz4)
        {
            // Magic 0 frames carry the KAFKA-3160 broken header checksum: repair a copy.
            byte[] copy = compressed.ToArray();
            Lz4Codec.FixHeaderChecksum(copy);
            Compression.Decompress(codec, copy, output, maxDecompressedSize);
        }
        else if (codec == CompressionType.Zstd)
        {
            throw new CorruptRecordException("zstd is not allowed in magic 0/1 messages.");
        }
        else
        {
            Compression.Decompress(codec, compressed, output, maxDecompressedSize);
        }

        return output.ToArray();
    }

    private static ReadOnlyMemory<byte>? ReadBytes(ReadOnlyMemory<byte> message, ref int p, long offset)
    {
        ReadOnlySpan<byte> m = message.Span;
        if (m.Length - p < 4)
        {
            throw new CorruptRecordException($"Message at offset {offset} is truncated inside its key or value.");
        }

        int length = BinaryPrimitives.ReadInt32BigEndian(m[p..]);
        p += 4;
        if (length == -1)
        {
            return null;
        }

        if (length < -1 || length > m.Length - p)
        {
            throw new CorruptRecordException($"Message at offset {offset} has an invalid key or value length {length}.");
        }

        ReadOnlyMemory<byte> bytes = message.Slice(p, length);
        p += length;
        return bytes;
    }

    /// <summary>
    /// Writes <paramref name="records"/> (their Offset, Timestamp, Key and Value; headers are dropped,
    /// the old format has none) as a magic 0/1 message set, one wrapper message when compressed.
    /// </summary>
    public static void Write(IBufferWriter<byte> destination, byte magic, CompressionType compression, IReadOnlyList<Record> records,
        TimestampType timestampType = TimestampType.CreateTime, long logAppendTime = RecordBatch.NoTimestamp)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(records);
        if (magic > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(magic), magic, "Legacy message sets are magic 0 or 1.");
        }

        if (compression == CompressionType.Zstd || (byte)compression > (byte)CompressionType.Zstd)
        {
            throw new ArgumentOutOfRangeException(nameof(compression), compression, "Magic 0/1 supports none, gzip, snappy and lz4.");
        }

        bool appendTime = magic == 1 && timestampType == TimestampType.LogAppendTime;
        if (compression == CompressionType.None)
        {
            foreach (Record r in records)
            {
                WriteMessage(destination, magic, (byte)(appendTime ? RecordBatch.TimestampTypeMask : 0), r.Offset,
                    appendTime ? logAppendTime : r.Timestamp, r.Key, r.Value);
            }

            return;
        }

        if (records.Count == 0)
        {
            return;
        }

        long firstOffset = records[0].Offset;
        long maxTimestamp = RecordBatch.NoTimestamp;
        using var inner = new KafkaWriter(1024);
        foreach (Record r in records)
        {
            long innerOffset = magic == 1 ? r.Offset - firstOffset : r.Offset;
            WriteMessage(inner, magic, 0, innerOffset, r.Timestamp, r.Key, r.Value);
            maxTimestamp = Math.Max(maxTimestamp, r.Timestamp);
        }

        using var compressed = new KafkaWriter(Math.Max(256, inner.Position / 2));
        Compression.Compress(compression, inner.WrittenSpan, compressed);
        if (compression == CompressionType.Lz4 && magic == 0)
        {
            BreakHeaderChecksum(compressed.WrittenSince(0));
        }

        byte attributes = (byte)((byte)compression | (appendTime ? RecordBatch.TimestampTypeMask : 0));
        WriteMessage(destination, magic, attributes, records[^1].Offset, appendTime ? logAppendTime : maxTimestamp,
            null, compressed.WrittenMemory);
    }

    /// <summary>Writes a message set to a new array.</summary>
    public static byte[] Build(byte magic, CompressionType compression, IReadOnlyList<Record> records,
        TimestampType timestampType = TimestampType.CreateTime, long logAppendTime = RecordBatch.NoTimestamp)
    {
        using var writer = new KafkaWriter(1024);
        Write(writer, magic, compression, records, timestampType, logAppendTime);
        return writer.ToArray();
    }

    private static void WriteMessage(IBufferWriter<byte> destination, byte magic, byte attributes, long offset, long timestamp,
        ReadOnlyMemory<byte>? key, ReadOnlyMemory<byte>? value)
    {
        int size = HeaderSize(magic) - LogOverhead + 8 + (key?.Length ?? 0) + (value?.Length ?? 0);
        Span<byte> m = destination.GetSpan(LogOverhead + size)[..(LogOverhead + size)];
        BinaryPrimitives.WriteInt64BigEndian(m, offset);
        BinaryPrimitives.WriteInt32BigEndian(m[SizeOffset..], size);
        m[MagicOffset] = magic;
        m[AttributesOffset] = attributes;
        int p = AttributesOffset + 1;
        if (magic == 1)
        {
            BinaryPrimitives.WriteInt64BigEndian(m[p..], timestamp);
            p += 8;
        }

        WriteBytes(m, ref p, key);
        WriteBytes(m, ref p, value);
        BinaryPrimitives.WriteUInt32BigEndian(m[CrcOffset..], Crc32.Compute(m[MagicOffset..]));
        destination.Advance(m.Length);
    }

    private static void WriteBytes(Span<byte> m, ref int p, ReadOnlyMemory<byte>? bytes)
    {
        if (bytes is not { } b)
        {
            BinaryPrimitives.WriteInt32BigEndian(m[p..], -1);
            p += 4;
            return;
        }

        BinaryPrimitives.WriteInt32BigEndian(m[p..], b.Length);
        p += 4;
        b.Span.CopyTo(m[p..]);
        p += b.Length;
    }

    // Kafka < 0.10 wrote (and expects, for magic 0) the header checksum computed from the frame magic on.
    private static void BreakHeaderChecksum(Span<byte> frame)
    {
        byte flg = frame[4];
        int descriptorLength = 2 + ((flg & 0x08) != 0 ? 8 : 0) + ((flg & 0x01) != 0 ? 4 : 0);
        frame[4 + descriptorLength] = (byte)(Lz4Codec.XxHash32Small(frame[..(4 + descriptorLength)]) >> 8);
    }
}
