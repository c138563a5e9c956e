using System.Buffers.Binary;
using System.Text;
using Aspire.Kafka.Protocol;

namespace Aspire.Kafka.Records.Tests;

public class RecordBatchTests
{
    public static TheoryData<CompressionType> Codecs => [CompressionType.None, CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd];

    [Fact]
    public void HeaderLayoutIsKafkas()
    {
        using var builder = new RecordBatchBuilder(CompressionType.None, baseOffset: 0x0102030405060708, producerId: 77, producerEpoch: 3,
            baseSequence: 9, partitionLeaderEpoch: 5, isTransactional: true);
        builder.Append(1000, "k"u8.ToArray(), "v"u8.ToArray());
        builder.Append(1005, null, null);
        byte[] batch = builder.Build();

        Assert.Equal(0x0102030405060708, BinaryPrimitives.ReadInt64BigEndian(batch));
        Assert.Equal(batch.Length - 12, BinaryPrimitives.ReadInt32BigEndian(batch.AsSpan(8)));
        Assert.Equal(5, BinaryPrimitives.ReadInt32BigEndian(batch.AsSpan(12)));
        Assert.Equal(2, batch[16]);
        Assert.Equal(Crc32C.Compute(batch.AsSpan(21)), BinaryPrimitives.ReadUInt32BigEndian(batch.AsSpan(17)));
        Assert.Equal(0x10, BinaryPrimitives.ReadInt16BigEndian(batch.AsSpan(21)));
        Assert.Equal(1, BinaryPrimitives.ReadInt32BigEndian(batch.AsSpan(23)));
        Assert.Equal(1000, BinaryPrimitives.ReadInt64BigEndian(batch.AsSpan(27)));
        Assert.Equal(1005, BinaryPrimitives.ReadInt64BigEndian(batch.AsSpan(35)));
        Assert.Equal(77, BinaryPrimitives.ReadInt64BigEndian(batch.AsSpan(43)));
        Assert.Equal(3, BinaryPrimitives.ReadInt16BigEndian(batch.AsSpan(51)));
        Assert.Equal(9, BinaryPrimitives.ReadInt32BigEndian(batch.AsSpan(53)));
        Assert.Equal(2, BinaryPrimitives.ReadInt32BigEndian(batch.AsSpan(57)));

        // First record: length 8 (zigzag 0x10), attributes 0, tsDelta 0, offsetDelta 0, key "k", value "v", 0 headers.
        Assert.Equal(new byte[] { 0x10, 0, 0, 0, 0x02, (byte)'k', 0x02, (byte)'v', 0 }, batch.AsSpan(61, 9).ToArray());

        RecordBatchHeader header = RecordBatchHeader.Read(batch);
        Assert.Equal(0x0102030405060708 + 1, header.LastOffset);
        Assert.Equal(header.LastOffset + 1, header.NextOffset);
        Assert.Equal(batch.Length, header.SizeInBytes);
        Assert.True(header.IsTransactional);
        Assert.False(header.IsControl);
        Assert.Equal(TimestampType.CreateTime, header.TimestampType);
        Assert.Equal(CompressionType.None, header.CompressionType);
        Assert.Equal(10, header.LastSequence);
        Assert.True(RecordBatch.IsCrcValid(batch));
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void BuilderToReaderRoundTrip(CompressionType codec)
    {
        const int Count = 1000;
        byte[] batch = TestRecords.BuildSampleBatch(codec, Count, baseOffset: 500);
        RecordBatchHeader header = RecordBatchHeader.Read(batch);
        Assert.Equal(codec, header.CompressionType);
        Assert.Equal(Count, header.RecordCount);
        Assert.Equal(Count - 1, header.LastOffsetDelta);
        Assert.Equal(TestRecords.BaseTimestamp, header.BaseTimestamp);
        Assert.Equal(TestRecords.BaseTimestamp + ((Count - 1) * 3), header.MaxTimestamp);

        RecordSetValidation validation = RecordSet.Validate(batch);
        Assert.True(validation.IsValid, validation.ErrorMessage);
        Assert.Equal(500, validation.FirstOffset);
        Assert.Equal(500 + Count - 1, validation.LastOffset);

        List<Record> records = RecordBatchReader.ReadRecords(batch);
        Assert.Equal(Count, records.Count);
        for (int i = 0; i < Count; i++)
        {
            TestRecords.AssertSample(i, 500 + i, records[i]);
        }
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void WriteToMatchesBuildAndBatchesConcatenate(CompressionType codec)
    {
        using var writer = new KafkaWriter();
        byte[] first = TestRecords.BuildSampleBatch(codec, 10, baseOffset: 0);
        using (var builder = new RecordBatchBuilder(codec, baseOffset: 0))
        {
            for (int i = 0; i < 10; i++)
            {
                var (key, value, ts, headers) = TestRecords.Sample(i);
                builder.Append(ts, key, value, headers);
            }

            Assert.Equal(first.Length, builder.WriteTo(writer));
        }

        Assert.Equal(first, writer.ToArray());
        writer.WriteRaw(TestRecords.BuildSampleBatch(codec, 5, baseOffset: 10));
        RecordSetValidation validation = RecordSet.Validate(writer.WrittenSpan);
        Assert.True(validation.IsValid, validation.ErrorMessage);
        Assert.Equal(2, validation.BatchCount);
        Assert.Equal(15, validation.RecordCount);
        Assert.Equal(0, validation.FirstOffset);
        Assert.Equal(14, validation.LastOffset);
        Assert.Equal(writer.Position, validation.ValidBytes);
        List<Record> records = RecordSet.ReadRecords(writer.WrittenMemory);
        Assert.Equal(Enumerable.Range(0, 15).Select(i => (long)i), records.Select(r => r.Offset));
    }

    [Fact]
    public void ExplicitOffsetsNegativeTimestampDeltasAndEmptyValues()
    {
        using var builder = new RecordBatchBuilder(CompressionType.Zstd, baseOffset: 100);
        builder.AppendWithOffset(100, 5000, "a"u8.ToArray(), ReadOnlyMemory<byte>.Empty);
        builder.AppendWithOffset(104, 4000, ReadOnlyMemory<byte>.Empty, "x"u8.ToArray());
        builder.AppendWithOffset(110, 6000, "c"u8.ToArray(), null);
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.AppendWithOffset(110, 1, null, null));
        byte[] batch = builder.Build();

        RecordBatchHeader header = RecordBatchHeader.Read(batch);
        Assert.Equal(10, header.LastOffsetDelta);
        Assert.Equal(3, header.RecordCount);
        Assert.Equal(6000, header.MaxTimestamp);
        List<Record> records = RecordBatchReader.ReadRecords(batch);
        Assert.Equal([100L, 104L, 110L], records.Select(r => r.Offset));
        Assert.Equal([5000L, 4000L, 6000L], records.Select(r => r.Timestamp));
        Assert.Equal(-1000, records[1].TimestampDelta);
        Assert.Equal(0, records[0].Value!.Value.Length);
        Assert.Equal(0, records[1].Key!.Value.Length);
        Assert.Null(records[2].Value);
        Assert.True(RecordSet.Validate(batch).IsValid);
    }

    [Fact]
    public void EmptyBatchIsValid()
    {
        using var builder = new RecordBatchBuilder(CompressionType.None, baseOffset: 42);
        byte[] batch = builder.Build();
        Assert.Equal(RecordBatch.HeaderSize, batch.Length);
        Assert.True(RecordSet.Validate(batch).IsValid);
        Assert.Empty(RecordBatchReader.ReadRecords(batch));
        Assert.Equal(RecordBatch.NoTimestamp, RecordBatchHeader.Read(batch).MaxTimestamp);
    }

    [Fact]
    public void StampingBaseOffsetAndEpochKeepsTheCrc()
    {
        byte[] batch = TestRecords.BuildSampleBatch(CompressionType.None, 20);
        uint crc = RecordBatchHeader.Read(batch).Crc;
        RecordBatch.SetBaseOffset(batch, 123_456);
        RecordBatch.SetPartitionLeaderEpoch(batch, 17);
        RecordBatchHeader header = RecordBatchHeader.Read(batch);
        Assert.Equal(123_456, header.BaseOffset);
        Assert.Equal(17, header.PartitionLeaderEpoch);
        Assert.Equal(crc, header.Crc);
        Assert.True(RecordBatch.IsCrcValid(batch));
        Assert.Equal(123_456 + 19, RecordBatchReader.ReadRecords(batch)[^1].Offset);
    }

    [Fact]
    public void LogAppendTimeStampsEveryRecord()
    {
        byte[] batch = TestRecords.BuildSampleBatch(CompressionType.Lz4, 20);
        RecordBatch.SetLogAppendTime(batch, 1_800_000_000_000);
        RecordBatchHeader header = RecordBatchHeader.Read(batch);
        Assert.Equal(TimestampType.LogAppendTime, header.TimestampType);
        Assert.Equal(CompressionType.Lz4, header.CompressionType);
        Assert.Equal(1_800_000_000_000, header.MaxTimestamp);
        Assert.True(RecordBatch.IsCrcValid(batch));
        Assert.All(RecordBatchReader.ReadRecords(batch), r => Assert.Equal(1_800_000_000_000, r.Timestamp));
    }

    [Theory]
    [InlineData(CompressionType.None)]
    [InlineData(CompressionType.Gzip)]
    public void FlippedByteInCrcRegionFailsWithCrcError(CompressionType codec)
    {
        byte[] original = TestRecords.BuildSampleBatch(codec, 7);
        for (int i = RecordBatch.AttributesOffset; i < original.Length; i++)
        {
            byte[] batch = (byte[])original.Clone();
            batch[i] ^= 0x01;
            RecordSetValidation validation = RecordSet.Validate(batch);
            bool caughtEarlier = validation.Error is RecordSetError.InvalidRecordCount or RecordSetError.UnknownCompression;
            if (!caughtEarlier)
            {
                Assert.True(validation.Error == RecordSetError.CrcMismatch, $"byte {i}: {validation}");
                Assert.Equal(2, validation.KafkaErrorCode);
                Assert.Contains("CRC", validation.ErrorMessage, StringComparison.Ordinal);
            }

            Assert.False(RecordBatch.IsCrcValid(batch));
            Assert.Throws<CorruptRecordException>(() => RecordBatchReader.ReadRecords(batch));
        }
    }

    [Fact]
    public void FlippedCrcFieldFailsWithCrcError()
    {
        byte[] batch = TestRecords.BuildSampleBatch(CompressionType.None, 3);
        batch[RecordBatch.CrcOffset + 2] ^= 0x80;
        RecordSetValidation validation = RecordSet.Validate(batch);
        Assert.Equal(RecordSetError.CrcMismatch, validation.Error);
        Assert.Equal(0, validation.BatchCount);
    }

    [Fact]
    public void EveryTruncationIsReportedAsTruncated()
    {
        byte[] first = TestRecords.BuildSampleBatch(CompressionType.None, 4);
        byte[] second = TestRecords.BuildSampleBatch(CompressionType.Snappy, 4, baseOffset: 4);
        byte[] set = [.. first, .. second];
        for (int length = 0; length < set.Length; length++)
        {
            ReadOnlySpan<byte> prefix = set.AsSpan(0, length);
            if (length < first.Length)
            {
                Assert.Equal(RecordSetStatus.Truncated, RecordSet.TryReadBatch(prefix, out _));
            }

            RecordSetValidation validation = RecordSet.Validate(prefix);
            if (length == 0 || length == first.Length)
            {
                Assert.True(validation.IsValid);
                continue;
            }

            Assert.Equal(RecordSetError.Truncated, validation.Error);
            Assert.Equal(length < first.Length ? 0 : first.Length, validation.ValidBytes);
            Assert.Contains("truncated", validation.ErrorMessage, StringComparison.Ordinal);

            RecordSetValidation tolerant = RecordSet.Validate(prefix, allowTruncatedTail: true);
            Assert.True(tolerant.IsValid);
            Assert.Equal(length < first.Length ? 0 : 1, tolerant.BatchCount);
        }

        Assert.Equal(RecordSetStatus.Complete, RecordSet.TryReadBatch(set, out int size));
        Assert.Equal(first.Length, size);
    }

    [Fact]
    public void CorruptLengthMagicCountAndSizeAreNamed()
    {
        byte[] batch = TestRecords.BuildSampleBatch(CompressionType.None, 4);

        byte[] shortLength = (byte[])batch.Clone();
        BinaryPrimitives.WriteInt32BigEndian(shortLength.AsSpan(8), RecordBatch.HeaderSize - RecordBatch.LogOverhead - 1);
        Assert.Equal(RecordSetStatus.Corrupt, RecordSet.TryReadBatch(shortLength, out _));
        Assert.Equal(RecordSetError.InvalidBatchLength, RecordSet.Validate(shortLength).Error);

        byte[] badMagic = (byte[])batch.Clone();
        badMagic[RecordBatch.MagicOffset] = 7;
        Assert.Equal(RecordSetStatus.Corrupt, RecordSet.TryReadBatch(badMagic, out _));
        Assert.Equal(RecordSetError.UnsupportedMagic, RecordSet.Validate(badMagic).Error);

        byte[] legacy = LegacyMessageSet.Build(1, CompressionType.None, [new Record(0, 0, 1, 0, null, "v"u8.ToArray(), null)]);
        Assert.Equal(RecordSetStatus.Complete, RecordSet.TryReadBatch(legacy, out _));
        RecordSetValidation legacyValidation = RecordSet.Validate(legacy);
        Assert.Equal(RecordSetError.UnsupportedMagic, legacyValidation.Error);
        Assert.Equal(87, legacyValidation.KafkaErrorCode);

        byte[] badCount = (byte[])batch.Clone();
        BinaryPrimitives.WriteInt32BigEndian(badCount.AsSpan(RecordBatch.RecordsCountOffset), 5);
        RecordBatch.WriteCrc(badCount);
        Assert.Equal(RecordSetError.InvalidRecordCount, RecordSet.Validate(badCount).Error);
        Assert.Throws<CorruptRecordException>(() => RecordBatchReader.ReadRecords(badCount));

        byte[] badCodec = (byte[])batch.Clone();
        badCodec[RecordBatch.AttributesOffset + 1] |= 0x07;
        RecordBatch.WriteCrc(badCodec);
        Assert.Equal(RecordSetError.UnknownCompression, RecordSet.Validate(badCodec).Error);

        RecordSetValidation tooLarge = RecordSet.Validate(batch, maxBatchSize: batch.Length - 1);
        Assert.Equal(RecordSetError.BatchTooLarge, tooLarge.Error);
        Assert.Equal(10, tooLarge.KafkaErrorCode);
        Assert.True(RecordSet.Validate(batch, maxBatchSize: batch.Length).IsValid);
    }

    [Fact]
    public void WithoutCrcVerificationOnlyFramingSizeAndCountsAreChecked()
    {
        byte[] batch = TestRecords.BuildSampleBatch(CompressionType.None, 4);
        byte[] badCrc = (byte[])batch.Clone();
        badCrc[^1] ^= 0xFF;
        Assert.Equal(RecordSetError.CrcMismatch, RecordSet.Validate(badCrc).Error);

        RecordSetValidation withoutCrc = RecordSet.Validate(badCrc, verifyCrc: false);
        Assert.True(withoutCrc.IsValid);
        Assert.Equal(4, withoutCrc.RecordCount);
        Assert.Equal(RecordSetError.BatchTooLarge, RecordSet.Validate(badCrc, maxBatchSize: batch.Length - 1, verifyCrc: false).Error);

        byte[] badCount = (byte[])badCrc.Clone();
        BinaryPrimitives.WriteInt32BigEndian(badCount.AsSpan(RecordBatch.RecordsCountOffset), 5);
        Assert.Equal(RecordSetError.InvalidRecordCount, RecordSet.Validate(badCount, verifyCrc: false).Error);
    }

    [Fact]
    public void RecordLengthThatDisagreesWithItsFieldsIsCorrupt()
    {
        using var builder = new RecordBatchBuilder(CompressionType.None);
        builder.Append(1, "key"u8.ToArray(), "value"u8.ToArray());
        byte[] batch = builder.Build();
        batch[RecordBatch.RecordsOffset] += 2; // record length varint: claims one more byte
        RecordBatch.WriteCrc(batch);
        CorruptRecordException e = Assert.Throws<CorruptRecordException>(() => RecordBatchReader.ReadRecords(batch));
        Assert.Contains("claims", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidateAndEnumerateDoNotAllocate()
    {
        using var writer = new KafkaWriter(1 << 20);
        for (int b = 0; b < 20; b++)
        {
            writer.WriteRaw(TestRecords.BuildSampleBatch(b % 2 == 0 ? CompressionType.None : CompressionType.Gzip, 50, baseOffset: b * 50));
        }

        byte[] set = writer.ToArray();
        byte[] plain = TestRecords.BuildSampleBatch(CompressionType.None, 50);
        _ = RecordSet.Validate(set);
        _ = SumKeys(plain);

        long before = GC.GetAllocatedBytesForCurrentThread();
        RecordSetValidation validation = RecordSet.Validate(set);
        long keyBytes = SumKeys(plain);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(validation.IsValid, validation.ErrorMessage);
        Assert.Equal(1000, validation.RecordCount);
        Assert.True(keyBytes > 0);
        Assert.Equal(0, allocated);

        static long SumKeys(byte[] batch)
        {
            long total = 0;
            foreach (RecordView record in RecordBatchReader.EnumerateRecords(batch))
            {
                total += record.Key.Length + record.Value.Length + record.HeaderCount;
                foreach (HeaderView header in record.Headers)
                {
                    total += header.Key.Length;
                }
            }

            return total;
        }
    }

    [Fact]
    public void DecompressRecordsThenEnumerateWithoutMaterializing()
    {
        byte[] batch = TestRecords.BuildSampleBatch(CompressionType.Zstd, 30, baseOffset: 9);
        using var scratch = new KafkaWriter();
        RecordBatchHeader header = RecordBatchReader.DecompressRecords(batch, scratch);
        int i = 0;
        foreach (RecordView view in new RecordEnumerator(header, scratch.WrittenSpan))
        {
            TestRecords.AssertSample(i, 9 + i, view.ToRecord(scratch.WrittenMemory));
            Assert.Equal(i % 5 == 0, view.IsKeyNull);
            i++;
        }

        Assert.Equal(30, i);
        Assert.Throws<CorruptRecordException>(() => RecordBatchReader.EnumerateRecords(batch));
    }

    [Fact]
    public void ControlAndTransactionalFlagsRoundTrip()
    {
        using var builder = new RecordBatchBuilder(CompressionType.None, producerId: 5, producerEpoch: 1, isTransactional: true, isControl: true);
        builder.Append(10, new byte[] { 0, 0, 0, 1 }, new byte[] { 0, 0, 0, 0, 0, 0 });
        RecordBatchHeader header = RecordBatchHeader.Read(builder.Build());
        Assert.True(header.IsControl);
        Assert.True(header.IsTransactional);
        Assert.Equal(5, header.ProducerId);
        Assert.Equal(0x30, header.Attributes);
    }

    [Fact]
    public void HeaderKeysAreUtf8()
    {
        using var builder = new RecordBatchBuilder(CompressionType.None);
        builder.Append(1, null, "v"u8.ToArray(), [new RecordHeader("clé-日本", Encoding.UTF8.GetBytes("ü"))]);
        Record record = RecordBatchReader.ReadRecords(builder.Build())[0];
        Assert.Equal("clé-日本", record.Headers[0].Key);
        Assert.Equal("ü", Encoding.UTF8.GetString(record.Headers[0].Value!.Value.Span));
    }

    [Fact]
    public void BatchEnumeratorWalksBatchesAndReportsTheTail()
    {
        byte[] a = TestRecords.BuildSampleBatch(CompressionType.None, 3);
        byte[] b = TestRecords.BuildSampleBatch(CompressionType.Gzip, 3, 3);
        byte[] set = [.. a, .. b, .. b.AsSpan(0, 20)];
        var sizes = new List<int>();
        BatchEnumerator batches = RecordSet.EnumerateBatches(set);
        while (batches.MoveNext())
        {
            sizes.Add(batches.Current.Length);
        }

        Assert.Equal([a.Length, b.Length], sizes);
        Assert.Equal(RecordSetStatus.Truncated, batches.Status);
        Assert.Equal(a.Length + b.Length, batches.Position);
    }

    [Fact]
    public void DeleteHorizonIsTheBaseTimestamp()
    {
        using var builder = new RecordBatchBuilder(CompressionType.None, baseOffset: 3, deleteHorizonMs: 9_000);
        builder.Append(1_000, "k"u8.ToArray(), null);
        builder.Append(12_000, "k2"u8.ToArray(), "v"u8.ToArray());
        byte[] batch = builder.Build();
        RecordBatchHeader header = RecordBatchHeader.Read(batch);
        Assert.True(header.HasDeleteHorizon);
        Assert.Equal(9_000, header.BaseTimestamp);
        Assert.Equal(12_000, header.MaxTimestamp);
        List<Record> records = RecordBatchReader.ReadRecords(batch);
        Assert.Equal([1_000L, 12_000L], records.Select(r => r.Timestamp));
        Assert.Equal(-8_000, records[0].TimestampDelta);
    }
}
