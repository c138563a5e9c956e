using System.Text;
using System.Text.Json;
using Aspire.Kafka.Protocol;

namespace Aspire.Kafka.Records.Tests;

/// <summary>
/// Our codecs and record formats against independent implementations: the lz4 and zstd command-line
/// tools (Debian packages lz4, zstd) and kafka-python 2.0.2 (python3-kafka, python3-snappy).
/// </summary>
public class InteropTests
{
    private static readonly byte[] Payload = CompressionTests.Payload(300_000, 11, compressible: true);

    private static byte[] Ours(CompressionType codec, byte[] data, bool compress)
    {
        using var output = new KafkaWriter();
        if (compress)
        {
            Compression.Compress(codec, data, output);
        }
        else
        {
            Compression.Decompress(codec, data, output);
        }

        return output.ToArray();
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("-9 --content-size")]
    [InlineData("-BX -B4 --no-frame-crc")]
    [InlineData("-BD")]
    public void Lz4ToolFramesDecompress(string options)
    {
        // -BX adds block checksums, -BD linked blocks, default adds a content checksum: what librdkafka may write.
        byte[] compressed = ExternalTool.Run("lz4", "lz4", Payload, [.. options.Split(' '), "-c"]);
        Assert.Equal(Payload, Ours(CompressionType.Lz4, compressed, compress: false));
    }

    [Fact]
    public void Lz4ToolDecompressesOurFrames()
    {
        byte[] ours = Ours(CompressionType.Lz4, Payload, compress: true);
        Assert.Equal(Payload, ExternalTool.Run("lz4", "lz4", ours, "-d", "-c"));
    }

    [Theory]
    [InlineData("-3")]
    [InlineData("-19")]
    [InlineData("--no-check")]
    public void ZstdToolFramesDecompressWithoutContentSize(string option)
    {
        // From a pipe the zstd tool cannot know the size, so frames have no content size, like streaming producers.
        byte[] compressed = ExternalTool.Run("zstd", "zstd", Payload, option, "-c");
        Assert.Equal(Payload, Ours(CompressionType.Zstd, compressed, compress: false));
    }

    [Fact]
    public void ZstdToolDecompressesOurFramesAndConcatenatedFramesDecode()
    {
        byte[] ours = Ours(CompressionType.Zstd, Payload, compress: true);
        Assert.Equal(Payload, ExternalTool.Run("zstd", "zstd", ours, "-d", "-c"));
        byte[] twice = [.. ours, .. ours];
        Assert.Equal([.. Payload, .. Payload], Ours(CompressionType.Zstd, twice, compress: false));
    }

    [Theory]
    [InlineData("xerial")]
    [InlineData("raw")]
    public void SnappyFromKafkaPythonDecompresses(string framing)
    {
        byte[] compressed = ExternalTool.KafkaPython(Payload, "snappy-encode", framing);
        Assert.Equal(framing == "xerial", SnappyCodec.IsXerial(compressed));
        Assert.Equal(Payload, Ours(CompressionType.Snappy, compressed, compress: false));
    }

    [Fact]
    public void KafkaPythonDecompressesOurSnappy()
    {
        byte[] ours = Ours(CompressionType.Snappy, Payload, compress: true);
        Assert.Equal(Payload, ExternalTool.KafkaPython(ours, "snappy-decode"));
    }

    [Theory]
    [InlineData(CompressionType.None)]
    [InlineData(CompressionType.Gzip)]
    [InlineData(CompressionType.Snappy)]
    public void BatchesBuiltByKafkaPythonRead(CompressionType codec)
    {
        const int Count = 200;
        byte[] batch = ExternalTool.KafkaPython([], "build-v2", ((int)codec).ToString(), Count.ToString());
        RecordSetValidation validation = RecordSet.Validate(batch);
        Assert.True(validation.IsValid, validation.ErrorMessage);
        Assert.Equal(Count, validation.RecordCount);
        Assert.Equal(codec, RecordBatchHeader.Read(batch).CompressionType);
        List<Record> records = RecordBatchReader.ReadRecords(batch);
        for (int i = 0; i < Count; i++)
        {
            TestRecords.AssertSample(i, i, records[i]);
        }
    }

    [Theory]
    [InlineData(CompressionType.None)]
    [InlineData(CompressionType.Gzip)]
    [InlineData(CompressionType.Snappy)]
    public void KafkaPythonReadsOurBatches(CompressionType codec)
    {
        const int Count = 200;
        byte[] set = [.. TestRecords.BuildSampleBatch(codec, Count / 2), .. TestRecords.BuildSampleBatch(codec, Count / 2, baseOffset: Count / 2)];
        // The second batch restarts the sample at 0; expected records follow the same rule.
        List<JsonElement> lines = ReadWithKafkaPython(set);
        Assert.Equal(Count, lines.Count);
        for (int n = 0; n < Count; n++)
        {
            AssertJsonRecord(n % (Count / 2), n, lines[n], hasHeaders: true);
        }
    }

    [Theory]
    [InlineData(0, CompressionType.None)]
    [InlineData(1, CompressionType.None)]
    [InlineData(0, CompressionType.Gzip)]
    [InlineData(1, CompressionType.Gzip)]
    [InlineData(1, CompressionType.Snappy)]
    public void LegacyMessageSetsInteroperateWithKafkaPython(byte magic, CompressionType codec)
    {
        const int Count = 40;
        byte[] theirs = ExternalTool.KafkaPython([], "build-legacy", magic.ToString(), ((int)codec).ToString(), Count.ToString());
        List<Record> records = LegacyMessageSet.ReadRecords(theirs);
        Assert.Equal(Count, records.Count);

        // A producer's v1 wrapper has offset 0 (the broker assigns the real one), so inner offsets
        // resolve to -(Count-1)..0, as kafka-python itself reads them.
        long shift = magic == 1 && codec != CompressionType.None ? -(Count - 1) : 0;
        for (int i = 0; i < Count; i++)
        {
            var (key, value, timestamp, _) = TestRecords.Sample(i);
            Assert.Equal(i + shift, records[i].Offset);
            Assert.Equal(magic == 0 ? -1 : timestamp, records[i].Timestamp);
            TestRecords.AssertBytes(key, records[i].Key);
            TestRecords.AssertBytes(value, records[i].Value);
        }

        byte[] ours = LegacyMessageSet.Build(magic, codec, LegacyMessageSetTests.SampleRecords(Count, 0));
        List<JsonElement> lines = ReadWithKafkaPython(ours);
        Assert.Equal(Count, lines.Count);
        for (int i = 0; i < Count; i++)
        {
            AssertJsonRecord(i, i, lines[i], hasHeaders: false, hasTimestamp: magic == 1);
        }
    }

    private static List<JsonElement> ReadWithKafkaPython(byte[] set)
    {
        string output = Encoding.UTF8.GetString(ExternalTool.KafkaPython(set, "read"));
        Assert.DoesNotContain("BAD CRC", output, StringComparison.Ordinal);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.Clone()).ToList();
    }

    private static void AssertJsonRecord(int sample, long offset, JsonElement json, bool hasHeaders, bool hasTimestamp = true)
    {
        var (key, value, timestamp, headers) = TestRecords.Sample(sample);
        Assert.Equal(offset, json.GetProperty("offset").GetInt64());
        if (hasTimestamp)
        {
            Assert.Equal(timestamp, json.GetProperty("timestamp").GetInt64());
        }

        Assert.Equal(Hex(key), json.GetProperty("key").GetString());
        Assert.Equal(Hex(value), json.GetProperty("value").GetString());
        if (hasHeaders)
        {
            JsonElement[] theirs = json.GetProperty("headers").EnumerateArray().ToArray();
            Assert.Equal(headers.Length, theirs.Length);
            for (int h = 0; h < headers.Length; h++)
            {
                Assert.Equal(headers[h].Key, theirs[h][0].GetString());
                Assert.Equal(Hex(headers[h].Value?.ToArray()), theirs[h][1].GetString());
            }
        }
    }

    private static string? Hex(byte[]? bytes) => bytes is null ? null : Convert.ToHexStringLower(bytes);
}
