using System.Buffers.Binary;

namespace Aspire.Kafka.Records;

/// <summary>The 61-byte header of a record batch v2, decoded. Reading it does not check the CRC.</summary>
public readonly struct RecordBatchHeader
{
    public long BaseOffset { get; init; }

    /// <summary>Bytes after the length field (the batch is <see cref="SizeInBytes"/> long).</summary>
    public int BatchLength { get; init; }

    public int PartitionLeaderEpoch { get; init; }

    public byte Magic { get; init; }

    public uint Crc { get; init; }

    public short Attributes { get; init; }

    public int LastOffsetDelta { get; init; }

    /// <summary>The first record's timestamp, or the delete horizon when <see cref="HasDeleteHorizon"/>.</summary>
    public long BaseTimestamp { get; init; }

    public long MaxTimestamp { get; init; }

    public long ProducerId { get; init; }

    public short ProducerEpoch { get; init; }

    public int BaseSequence { get; init; }

    public int RecordCount { get; init; }

    public CompressionType CompressionType => (CompressionType)(Attributes & RecordBatch.CompressionCodecMask);

    public TimestampType TimestampType => (Attributes & RecordBatch.TimestampTypeMask) != 0 ? TimestampType.LogAppendTime : TimestampType.CreateTime;

    public bool IsTransactional => (Attributes & RecordBatch.TransactionalFlagMask) != 0;

    public bool IsControl => (Attributes & RecordBatch.ControlFlagMask) != 0;

    public bool HasDeleteHorizon => (Attributes & RecordBatch.DeleteHorizonFlagMask) != 0;

    public bool HasProducerId => ProducerId >= 0;

    public long LastOffset => BaseOffset + LastOffsetDelta;

    public long NextOffset => LastOffset + 1;

    public int SizeInBytes => BatchLength + RecordBatch.LogOverhead;

    /// <summary>The sequence of the last record, wrapping at int.MaxValue as Kafka does.</summary>
    public int LastSequence => BaseSequence == RecordBatch.NoSequence
        ? RecordBatch.NoSequence
        : RecordBatch.IncrementSequence(BaseSequence, LastOffsetDelta);

    /// <summary>Decodes the header from the first 61 bytes of <paramref name="batch"/>.</summary>
    /// <exception cref="CorruptRecordException">fewer than 61 bytes.</exception>
    public static RecordBatchHeader Read(ReadOnlySpan<byte> batch)
    {
        if (batch.Length < RecordBatch.HeaderSize)
        {
            throw new CorruptRecordException($"A record batch header is {RecordBatch.HeaderSize} bytes, got {batch.Length}.");
        }

        return new RecordBatchHeader
        {
            BaseOffset = BinaryPrimitives.ReadInt64BigEndian(batch),
            BatchLength = BinaryPrimitives.ReadInt32BigEndian(batch[RecordBatch.BatchLengthOffset..]),
            PartitionLeaderEpoch = BinaryPrimitives.ReadInt32BigEndian(batch[RecordBatch.PartitionLeaderEpochOffset..]),
            Magic = batch[RecordBatch.MagicOffset],
            Crc = BinaryPrimitives.ReadUInt32BigEndian(batch[RecordBatch.CrcOffset..]),
            Attributes = BinaryPrimitives.ReadInt16BigEndian(batch[RecordBatch.AttributesOffset..]),
            LastOffsetDelta = BinaryPrimitives.ReadInt32BigEndian(batch[RecordBatch.LastOffsetDeltaOffset..]),
            BaseTimestamp = BinaryPrimitives.ReadInt64BigEndian(batch[RecordBatch.BaseTimestampOffset..]),
            MaxTimestamp = BinaryPrimitives.ReadInt64BigEndian(batch[RecordBatch.MaxTimestampOffset..]),
            ProducerId = BinaryPrimitives.ReadInt64BigEndian(batch[RecordBatch.ProducerIdOffset..]),
            ProducerEpoch = BinaryPrimitives.ReadInt16BigEndian(batch[RecordBatch.ProducerEpochOffset..]),
            BaseSequence = BinaryPrimitives.ReadInt32BigEndian(batch[RecordBatch.BaseSequenceOffset..]),
            RecordCount = BinaryPrimitives.ReadInt32BigEndian(batch[RecordBatch.RecordsCountOffset..]),
        };
    }

    /// <summary>Writes these fields as a 61-byte header (the CRC as stored in <see cref="Crc"/>).</summary>
    public void Write(Span<byte> destination)
    {
        if (destination.Length < RecordBatch.HeaderSize)
        {
            throw new ArgumentException($"A record batch header needs {RecordBatch.HeaderSize} bytes.", nameof(destination));
        }

        BinaryPrimitives.WriteInt64BigEndian(destination, BaseOffset);
        BinaryPrimitives.WriteInt32BigEndian(destination[RecordBatch.BatchLengthOffset..], BatchLength);
        BinaryPrimitives.WriteInt32BigEndian(destination[RecordBatch.PartitionLeaderEpochOffset..], PartitionLeaderEpoch);
        destination[RecordBatch.MagicOffset] = Magic;
        BinaryPrimitives.WriteUInt32BigEndian(destination[RecordBatch.CrcOffset..], Crc);
        BinaryPrimitives.WriteInt16BigEndian(destination[RecordBatch.AttributesOffset..], Attributes);
        BinaryPrimitives.WriteInt32BigEndian(destination[RecordBatch.LastOffsetDeltaOffset..], LastOffsetDelta);
        BinaryPrimitives.WriteInt64BigEndian(destination[RecordBatch.BaseTimestampOffset..], BaseTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(destination[RecordBatch.MaxTimestampOffset..], MaxTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(destination[RecordBatch.ProducerIdOffset..], ProducerId);
        BinaryPrimitives.WriteInt16BigEndian(destination[RecordBatch.ProducerEpochOffset..], ProducerEpoch);
        BinaryPrimitives.WriteInt32BigEndian(destination[RecordBatch.BaseSequenceOffset..], BaseSequence);
        BinaryPrimitives.WriteInt32BigEndian(destination[RecordBatch.RecordsCountOffset..], RecordCount);
    }

    public override string ToString() =>
        $"RecordBatch(baseOffset={BaseOffset}, lastOffset={LastOffset}, count={RecordCount}, magic={Magic}, " +
        $"compression={CompressionType}, timestampType={TimestampType}, maxTimestamp={MaxTimestamp}, " +
        $"producerId={ProducerId}, producerEpoch={ProducerEpoch}, baseSequence={BaseSequence}, " +
        $"transactional={IsTransactional}, control={IsControl}, size={SizeInBytes})";
}
