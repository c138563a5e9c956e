namespace Aspire.Kafka.Records.Tests;

/// <summary>
/// Seeded random damage to batches and legacy message sets: validation never throws, and readers
/// either decode or throw <see cref="CorruptRecordException"/>, never anything else (a broker must
/// not crash on hostile input).
/// </summary>
public class MutationTests
{
    public static TheoryData<CompressionType> Codecs => [CompressionType.None, CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd];

    [Theory]
    [MemberData(nameof(Codecs))]
    public void DamagedBatchesFailCleanly(CompressionType codec)
    {
        int seed = 1000 + (int)codec;
        var random = new Random(seed);
        byte[] original = TestRecords.BuildSampleBatch(codec, 40);
        for (int round = 0; round < 400; round++)
        {
            byte[] batch = (byte[])original.Clone();
            int flips = random.Next(1, 4);
            for (int f = 0; f < flips; f++)
            {
                batch[random.Next(RecordBatch.AttributesOffset, batch.Length)] = (byte)random.Next(256);
            }

            if (round % 4 == 0)
            {
                batch = batch.AsSpan(0, random.Next(0, batch.Length)).ToArray();
            }
            else if (batch.Length >= RecordBatch.HeaderSize)
            {
                RecordBatch.WriteCrc(batch); // get past the CRC check into the parsers
            }

            _ = RecordSet.Validate(batch);
            try
            {
                _ = RecordBatchReader.ReadRecords(batch, maxDecompressedSize: 1 << 20);
            }
            catch (CorruptRecordException)
            {
            }
            catch (Exception e)
            {
                Assert.Fail($"seed {seed} round {round}: {e.GetType().Name}: {e.Message}");
            }
        }
    }

    [Theory]
    [InlineData(CompressionType.None)]
    [InlineData(CompressionType.Gzip)]
    [InlineData(CompressionType.Snappy)]
    [InlineData(CompressionType.Lz4)]
    public void DamagedLegacyMessageSetsFailCleanly(CompressionType codec)
    {
        int seed = 2000 + (int)codec;
        var random = new Random(seed);
        byte[] original = LegacyMessageSet.Build(1, codec, LegacyMessageSetTests.SampleRecords(20, 0));
        for (int round = 0; round < 300; round++)
        {
            byte[] set = (byte[])original.Clone();
            set[random.Next(LegacyMessageSet.MagicOffset, set.Length)] = (byte)random.Next(256);
            try
            {
                _ = LegacyMessageSet.ReadRecords(set, verifyCrc: round % 2 == 0, maxDecompressedSize: 1 << 20);
            }
            catch (CorruptRecordException)
            {
            }
            catch (Exception e)
            {
                Assert.Fail($"seed {seed} round {round}: {e.GetType().Name}: {e.Message}");
            }
        }
    }
}
