using System.Buffers.Binary;
using Aspire.Kafka.Protocol;

namespace Aspire.Kafka.Records.Tests;

public class CompressionTests
{
    public static TheoryData<CompressionType> Codecs => [CompressionType.None, CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd];

    public static TheoryData<CompressionType> RealCodecs => [CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd];

    internal static byte[] Payload(int length, int seed, bool compressible)
    {
        var random = new Random(seed);
        byte[] data = new byte[length];
        if (!compressible)
        {
            random.NextBytes(data);
            return data;
        }

        byte[] words = "kafka record batch offset timestamp key value header "u8.ToArray();
        for (int i = 0; i < length; i++)
        {
            data[i] = (i % 97) < 80 ? words[(i + (i / 512)) % words.Length] : (byte)random.Next(256);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void RoundTripsManySizes(CompressionType codec)
    {
        foreach (int length in new[] { 0, 1, 2, 100, 4095, 65_536, 65_537, 200_000, 1 << 20 })
        {
            foreach (bool compressible in new[] { true, false })
            {
                byte[] data = Payload(length, length, compressible);
                using var compressed = new KafkaWriter();
                Compression.Compress(codec, data, compressed);
                using var decompressed = new KafkaWriter();
                int n = Compression.Decompress(codec, compressed.WrittenSpan, decompressed);
                Assert.Equal(length, n);
                Assert.True(data.AsSpan().SequenceEqual(decompressed.WrittenSpan), $"{codec} length {length} compressible {compressible}");
                if (compressible && length >= 100_000 && codec != CompressionType.None)
                {
                    Assert.True(compressed.Position < length / 2, $"{codec} compressed {length} to {compressed.Position}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void DecompressionBombIsStoppedAtTheLimit(CompressionType codec)
    {
        byte[] zeros = new byte[4 << 20];
        using var compressed = new KafkaWriter();
        Compression.Compress(codec, zeros, compressed);
        using var output = new KafkaWriter();
        DecompressedSizeLimitException e = Assert.Throws<DecompressedSizeLimitException>(
            () => Compression.Decompress(codec, compressed.WrittenSpan, output, maxDecompressedSize: 1 << 20));
        Assert.Equal(1 << 20, e.Limit);
        Assert.True(output.Position <= 1 << 20);

        using var exact = new KafkaWriter();
        Assert.Equal(zeros.Length, Compression.Decompress(codec, compressed.WrittenSpan, exact, maxDecompressedSize: zeros.Length));
    }

    [Theory]
    [MemberData(nameof(RealCodecs))]
    public void GarbageAndTruncatedInputAreCorrupt(CompressionType codec)
    {
        byte[] data = Payload(100_000, 1, compressible: true);
        using var compressed = new KafkaWriter();
        Compression.Compress(codec, data, compressed);
        byte[] truncated = compressed.WrittenSpan[..(compressed.Position / 2)].ToArray();
        byte[] garbage = Payload(5000, 2, compressible: false);
        foreach (byte[] bad in new[] { truncated, garbage })
        {
            using var output = new KafkaWriter();
            Assert.ThrowsAny<CorruptRecordException>(() => Compression.Decompress(codec, bad, output));
        }
    }

    [Fact]
    public void SnappyWritesXerialFramingAndReadsRawBlocks()
    {
        byte[] data = Payload(100_000, 3, compressible: true);
        using var framed = new KafkaWriter();
        Compression.Compress(CompressionType.Snappy, data, framed);
        Assert.Equal(new byte[] { 0x82, (byte)'S', (byte)'N', (byte)'A', (byte)'P', (byte)'P', (byte)'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1 },
            framed.WrittenSpan[..16].ToArray());

        // Blocks of 32 KiB: 100,000 bytes make four length-prefixed blocks.
        int blocks = 0;
        ReadOnlySpan<byte> rest = framed.WrittenSpan[16..];
        while (!rest.IsEmpty)
        {
            rest = rest[(4 + BinaryPrimitives.ReadInt32BigEndian(rest))..];
            blocks++;
        }

        Assert.Equal(4, blocks);

        using var raw = new KafkaWriter();
        SnappyCodec.CompressRaw(data, raw);
        Assert.False(SnappyCodec.IsXerial(raw.WrittenSpan));
        using var output = new KafkaWriter();
        Compression.Decompress(CompressionType.Snappy, raw.WrittenSpan, output);
        Assert.True(data.AsSpan().SequenceEqual(output.WrittenSpan));
    }

    [Fact]
    public void Lz4FramesUseIndependent64KiBBlocks()
    {
        using var compressed = new KafkaWriter();
        Compression.Compress(CompressionType.Lz4, Payload(1000, 4, true), compressed);
        ReadOnlySpan<byte> frame = compressed.WrittenSpan;
        Assert.Equal(0x184D2204u, BinaryPrimitives.ReadUInt32LittleEndian(frame));
        Assert.Equal(0x60, frame[4] & 0xE0); // version 01, block independence
        Assert.Equal(0x40, frame[5]); // BD: max block size 64 KiB
    }

    [Fact]
    public void UnknownCodecIsRejected()
    {
        using var output = new KafkaWriter();
        Assert.Throws<CorruptRecordException>(() => Compression.Decompress((CompressionType)6, [1, 2, 3], output));
        Assert.Throws<ArgumentOutOfRangeException>(() => Compression.Compress((CompressionType)6, [1, 2, 3], output));
        foreach (CompressionType codec in Enum.GetValues<CompressionType>())
        {
            Assert.True(Compression.IsAvailable(codec), $"{codec} is unavailable here");
        }
    }

    [Fact]
    public void MissingNativeLibraryNamesTheDebianPackage()
    {
        var missing = new NativeLibraries(CompressionType.Zstd, "libzstd-missing.so.99", "libzstd1");
        Assert.False(missing.IsAvailable);
        CompressionUnavailableException e = Assert.Throws<CompressionUnavailableException>(missing.EnsureAvailable);
        Assert.Contains("libzstd-missing.so.99", e.Message, StringComparison.Ordinal);
        Assert.Contains("apt-get install -y libzstd1", e.Message, StringComparison.Ordinal);
        Assert.Equal(CompressionType.Zstd, e.CompressionType);
        Assert.Equal("liblz4-1", NativeLibraries.Lz4.DebianPackage);
        Assert.Equal("libzstd1", NativeLibraries.Zstd.DebianPackage);
    }
}
