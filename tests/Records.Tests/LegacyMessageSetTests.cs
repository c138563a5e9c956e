using System.Buffers.Binary;
using Aspire.Kafka.Protocol;

namespace Aspire.Kafka.Records.Tests;

public class LegacyMessageSetTests
{
    public static TheoryData<byte, CompressionType> Formats
    {
        get
        {
            var data = new TheoryData<byte, CompressionType>();
            foreach (byte magic in new byte[] { 0, 1 })
            {
                foreach (CompressionType codec in new[] { CompressionType.None, CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4 })
                {
                    data.Add(magic, codec);
                }
            }

            return data;
        }
    }

    internal static List<Record> SampleRecords(int count, long firstOffset)
    {
        var records = new List<Record>();
        for (int i = 0; i < count; i++)
        {
            var (key, value, timestamp, _) = TestRecords.Sample(i);
            records.Add(new Record(firstOffset + i, 0, timestamp, 0, key, value, null));
        }

        return records;
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void RoundTrip(byte magic, CompressionType codec)
    {
        byte[] set = LegacyMessageSet.Build(magic, codec, SampleRecords(50, 1000));
        List<Record> records = LegacyMessageSet.ReadRecords(set);
        Assert.Equal(50, records.Count);
        for (int i = 0; i < 50; i++)
        {
            var (key, value, timestamp, _) = TestRecords.Sample(i);
            Assert.Equal(1000 + i, records[i].Offset);
            Assert.Equal(magic == 0 ? -1 : timestamp, records[i].Timestamp);
            TestRecords.AssertBytes(key, records[i].Key);
            TestRecords.AssertBytes(value, records[i].Value);
        }

        // The same through the generic record-set reader.
        Assert.Equal(records.Select(r => r.Offset), RecordSet.ReadRecords(set).Select(r => r.Offset));
        if (codec != CompressionType.None)
        {
            Assert.Equal(RecordSetStatus.Complete, RecordSet.TryReadBatch(set, out int size));
            Assert.Equal(set.Length, size); // one wrapper message
            Assert.Equal(1049, BinaryPrimitives.ReadInt64BigEndian(set)); // wrapper offset = last inner offset
        }
    }

    [Fact]
    public void MessageLayoutIsKafkas()
    {
        byte[] set = LegacyMessageSet.Build(1, CompressionType.None, [new Record(7, 0, 0x0102030405060708, 0, "k"u8.ToArray(), "vv"u8.ToArray(), null)]);
        Assert.Equal(7, BinaryPrimitives.ReadInt64BigEndian(set));
        Assert.Equal(4 + 1 + 1 + 8 + 4 + 1 + 4 + 2, BinaryPrimitives.ReadInt32BigEndian(set.AsSpan(8)));
        Assert.Equal(Crc32.Compute(set.AsSpan(16)), BinaryPrimitives.ReadUInt32BigEndian(set.AsSpan(12)));
        Assert.Equal(1, set[16]);
        Assert.Equal(0, set[17]);
        Assert.Equal(0x0102030405060708, BinaryPrimitives.ReadInt64BigEndian(set.AsSpan(18)));
        Assert.Equal(1, BinaryPrimitives.ReadInt32BigEndian(set.AsSpan(26)));
        Assert.True(LegacyMessageSet.IsCrcValid(set));

        byte[] v0 = LegacyMessageSet.Build(0, CompressionType.None, [new Record(7, 0, 99, 0, null, null, null)]);
        Assert.Equal(14, BinaryPrimitives.ReadInt32BigEndian(v0.AsSpan(8)));
        Assert.Equal(-1, BinaryPrimitives.ReadInt32BigEndian(v0.AsSpan(18)));
        Assert.Equal(-1, BinaryPrimitives.ReadInt32BigEndian(v0.AsSpan(22)));
    }

    [Theory]
    [InlineData(CompressionType.None)]
    [InlineData(CompressionType.Gzip)]
    public void CrcFailureIsReported(CompressionType codec)
    {
        byte[] set = LegacyMessageSet.Build(1, codec, SampleRecords(3, 0));
        set[LegacyMessageSet.TimestampOffset + 7] ^= 0x20; // the first message's timestamp
        Assert.False(LegacyMessageSet.IsCrcValid(set));
        CorruptRecordException e = Assert.Throws<CorruptRecordException>(() => LegacyMessageSet.ReadRecords(set));
        Assert.Contains("CRC-32", e.Message, StringComparison.Ordinal);
        if (codec == CompressionType.None)
        {
            Assert.Equal(3, LegacyMessageSet.ReadRecords(set, verifyCrc: false).Count);
        }
    }

    [Fact]
    public void V1LogAppendTimeWrapperStampsInnerRecords()
    {
        byte[] set = LegacyMessageSet.Build(1, CompressionType.Gzip, SampleRecords(5, 10), TimestampType.LogAppendTime, logAppendTime: 42);
        Assert.Equal(0x08 | 1, set[LegacyMessageSet.AttributesOffset]);
        Assert.All(LegacyMessageSet.ReadRecords(set), r => Assert.Equal(42, r.Timestamp));
    }

    [Fact]
    public void V0Lz4UsesTheBrokenHeaderChecksumAndIsStillRead()
    {
        byte[] set = LegacyMessageSet.Build(0, CompressionType.Lz4, SampleRecords(5, 0));
        // The wrapper's value is the lz4 frame: offset(8) size(4) crc(4) magic attributes key(-1) value length.
        byte[] frame = set.AsSpan(LegacyMessageSet.HeaderSize(0) + 4 + 4).ToArray();
        Assert.Equal(0x184D2204u, BinaryPrimitives.ReadUInt32LittleEndian(frame));
        using var output = new KafkaWriter();
        Assert.Throws<CorruptRecordException>(() => Compression.Decompress(CompressionType.Lz4, frame, output));
        Assert.Equal(5, LegacyMessageSet.ReadRecords(set).Count);
    }

    [Fact]
    public void TruncatedTailIsAnErrorUnlessAllowed()
    {
        byte[] set = LegacyMessageSet.Build(1, CompressionType.None, SampleRecords(3, 0));
        byte[] cut = set.AsSpan(0, set.Length - 3).ToArray();
        Assert.Throws<CorruptRecordException>(() => LegacyMessageSet.ReadRecords(cut));
        Assert.Equal(2, LegacyMessageSet.ReadRecords(cut, allowTruncatedTail: true).Count);
        Assert.Equal(2, RecordSet.ReadRecords(cut, allowTruncatedTail: true).Count);
    }

    [Fact]
    public void V2AndLegacyMixedInOneSet()
    {
        byte[] set = [.. LegacyMessageSet.Build(1, CompressionType.Snappy, SampleRecords(3, 0)), .. TestRecords.BuildSampleBatch(CompressionType.Gzip, 3, 3)];
        Assert.Equal([0L, 1, 2, 3, 4, 5], RecordSet.ReadRecords(set).Select(r => r.Offset));
    }
}
