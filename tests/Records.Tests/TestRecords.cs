using System.Text;

namespace Aspire.Kafka.Records.Tests;

/// <summary>The sample records shared with interop.py (keep the two in step).</summary>
internal static class TestRecords
{
    public const long BaseTimestamp = 1_700_000_000_000;

    public static (byte[]? Key, byte[]? Value, long Timestamp, RecordHeader[] Headers) Sample(int i)
    {
        byte[]? key = i % 5 == 0 ? null : Encoding.UTF8.GetBytes($"key-{i}");
        byte[]? value = i % 11 == 0 ? null : Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat($"value-{i}-", (i % 7) + 1)));
        RecordHeader[] headers = i % 3 == 0
            ? [new RecordHeader($"h{i}", Encoding.UTF8.GetBytes($"v{i}")), new RecordHeader("empty", null)]
            : [];
        return (key, value, BaseTimestamp + (i * 3), headers);
    }

    public static byte[] BuildSampleBatch(CompressionType compression, int count, long baseOffset = 0)
    {
        using var builder = new RecordBatchBuilder(compression, baseOffset);
        for (int i = 0; i < count; i++)
        {
            var (key, value, timestamp, headers) = Sample(i);
            builder.Append(timestamp, key, value, headers);
        }

        return builder.Build();
    }

    public static void AssertSample(int i, long expectedOffset, Record record, bool hasHeaders = true)
    {
        var (key, value, timestamp, headers) = Sample(i);
        Assert.Equal(expectedOffset, record.Offset);
        Assert.Equal(timestamp, record.Timestamp);
        AssertBytes(key, record.Key);
        AssertBytes(value, record.Value);
        if (!hasHeaders)
        {
            Assert.Empty(record.Headers);
            return;
        }

        Assert.Equal(headers.Length, record.Headers.Count);
        for (int h = 0; h < headers.Length; h++)
        {
            Assert.Equal(headers[h].Key, record.Headers[h].Key);
            AssertBytes(headers[h].Value?.ToArray(), record.Headers[h].Value);
        }
    }

    public static void AssertBytes(byte[]? expected, ReadOnlyMemory<byte>? actual)
    {
        if (expected is null)
        {
            Assert.Null(actual);
            return;
        }

        Assert.NotNull(actual);
        Assert.Equal(expected, actual.Value.ToArray());
    }
}
