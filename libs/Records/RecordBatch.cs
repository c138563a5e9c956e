using System.Buffers.Binary;

namespace Aspire.Kafka.Records;

/// <summary>
/// Layout of a record batch v2 (magic 2) and in-place operations on its raw bytes:
/// <code>
/// baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8 | crc uint32 |
/// attributes int16 | lastOffsetDelta int32 | baseTimestamp int64 | maxTimestamp int64 |
/// producerId int64 | producerEpoch int16 | baseSequence int32 | recordCount int32 | records...
/// </code>
/// batchLength counts the bytes after itself; the CRC-32C covers attributes to the end.
/// </summary>
public static class RecordBatch
{
    public const byte CurrentMagic = 2;

    public const int BaseOffsetOffset = 0;
    public const int BatchLengthOffset = 8;
    public const int PartitionLeaderEpochOffset = 12;
    public const int MagicOffset = 16;
    public const int CrcOffset = 17;
    public const int AttributesOffset = 21;
    public const int LastOffsetDeltaOffset = 23;
    public const int BaseTimestampOffset = 27;
    public const int MaxTimestampOffset = 35;
    public const int ProducerIdOffset = 43;
    public const int ProducerEpochOffset = 51;
    public const int BaseSequenceOffset = 53;
    public const int RecordsCountOffset = 57;
    public const int RecordsOffset = 61;

    /// <summary>Bytes before the first record.</summary>
    public const int HeaderSize = 61;

    /// <summary>baseOffset + batchLength: the bytes not counted by batchLength.</summary>
    public const int LogOverhead = 12;

    /// <summary>Bytes needed to learn a batch's length and magic.</summary>
    public const int MinimumPrefixSize = MagicOffset + 1;

    public const short CompressionCodecMask = 0x07;
    public const short TimestampTypeMask = 0x08;
    public const short TransactionalFlagMask = 0x10;
    public const short ControlFlagMask = 0x20;
    public const short DeleteHorizonFlagMask = 0x40;

    public const long NoProducerId = -1;
    public const short NoProducerEpoch = -1;
    public const int NoSequence = -1;

    /// <summary>Kafka's DefaultRecordBatch.incrementSequence: sequences wrap from int.MaxValue to 0.</summary>
    public static int IncrementSequence(int sequence, long increment) => (int)((sequence + increment) % ((long)int.MaxValue + 1));
    public const int NoPartitionLeaderEpoch = -1;
    public const long NoTimestamp = -1;

    /// <summary>The CRC-32C of attributes..end, as it should be stored at <see cref="CrcOffset"/>.</summary>
    public static uint ComputeCrc(ReadOnlySpan<byte> batch)
    {
        int size = SizeOf(batch);
        return Crc32C.Compute(batch[AttributesOffset..size]);
    }

    /// <summary>True when the stored CRC matches the bytes (the batch must be complete).</summary>
    public static bool IsCrcValid(ReadOnlySpan<byte> batch)
    {
        if (batch.Length < HeaderSize)
        {
            return false;
        }

        int length = BinaryPrimitives.ReadInt32BigEndian(batch[BatchLengthOffset..]);
        if (length < HeaderSize - LogOverhead || length > batch.Length - LogOverhead)
        {
            return false;
        }

        return BinaryPrimitives.ReadUInt32BigEndian(batch[CrcOffset..]) == Crc32C.Compute(batch[AttributesOffset..(length + LogOverhead)]);
    }

    /// <summary>Recomputes and stores the CRC (after changing a covered field).</summary>
    public static void WriteCrc(Span<byte> batch) =>
        BinaryPrimitives.WriteUInt32BigEndian(batch[CrcOffset..], ComputeCrc(batch));

    /// <summary>Stamps the base offset; not covered by the CRC.</summary>
    public static void SetBaseOffset(Span<byte> batch, long baseOffset) =>
        BinaryPrimitives.WriteInt64BigEndian(batch[BaseOffsetOffset..], baseOffset);

    /// <summary>Stamps the leader epoch; not covered by the CRC.</summary>
    public static void SetPartitionLeaderEpoch(Span<byte> batch, int epoch) =>
        BinaryPrimitives.WriteInt32BigEndian(batch[PartitionLeaderEpochOffset..], epoch);

    /// <summary>
    /// Marks the batch LogAppendTime with <paramref name="timestamp"/> as its max timestamp (what
    /// readers report for every record), then rewrites the CRC.
    /// </summary>
    public static void SetLogAppendTime(Span<byte> batch, long timestamp)
    {
        short attributes = BinaryPrimitives.ReadInt16BigEndian(batch[AttributesOffset..]);
        BinaryPrimitives.WriteInt16BigEndian(batch[AttributesOffset..], (short)(attributes | TimestampTypeMask));
        BinaryPrimitives.WriteInt64BigEndian(batch[MaxTimestampOffset..], timestamp);
        WriteCrc(batch);
    }

    /// <summary>Stamps a new max timestamp keeping the timestamp type (CreateTime), then rewrites the CRC.</summary>
    public static void SetMaxTimestamp(Span<byte> batch, long timestamp)
    {
        BinaryPrimitives.WriteInt64BigEndian(batch[MaxTimestampOffset..], timestamp);
        WriteCrc(batch);
    }

    private static int SizeOf(ReadOnlySpan<byte> batch)
    {
        if (batch.Length < HeaderSize)
        {
            throw new CorruptRecordException($"A record batch needs at least {HeaderSize} bytes, got {batch.Length}.");
        }

        int length = BinaryPrimitives.ReadInt32BigEndian(batch[BatchLengthOffset..]);
        if (length < HeaderSize - LogOverhead || length > batch.Length - LogOverhead)
        {
            throw new CorruptRecordException($"Record batch length {length} does not fit the {batch.Length} bytes given.");
        }

        return length + LogOverhead;
    }
}
