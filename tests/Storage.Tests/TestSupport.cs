using System.Buffers.Binary;
using System.Text;
using Aspire.Kafka.Records;

namespace Aspire.Kafka.Storage.Tests;

internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "storage-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Sub(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal sealed class ManualTime(long startMs = 1_700_000_000_000) : TimeProvider
{
    public long NowMs { get; set; } = startMs;

    public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(NowMs);
}

internal sealed class ListLogger : IStorageLogger
{
    private readonly List<string> _lines = [];

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    public void Log(StorageLogLevel level, string message, Exception? exception = null)
    {
        lock (_lines)
        {
            _lines.Add($"{level}: {message}");
        }
    }
}

internal static class Batches
{
    public static LogConfig SmallConfig(int segmentBytes = 4096, int indexInterval = 256) => new()
    {
        SegmentBytes = segmentBytes,
        IndexIntervalBytes = indexInterval,
        MaxIndexSize = 4096,
        FileDeleteDelayMs = 0,
        RetentionMs = -1,
    };

    /// <summary>A batch of <paramref name="count"/> records valued "v{tag}-{i}" with keys "k{key(i)}" (or null keys).</summary>
    public static byte[] Make(int count, long timestamp, string tag = "x", Func<int, string?>? key = null, int padding = 0,
        CompressionType compression = CompressionType.None, Func<int, string?>? value = null,
        long producerId = RecordBatch.NoProducerId, short producerEpoch = RecordBatch.NoProducerEpoch, int baseSequence = RecordBatch.NoSequence)
    {
        using var builder = new RecordBatchBuilder(compression, 0, producerId, producerEpoch, baseSequence);
        for (int i = 0; i < count; i++)
        {
            string? k = key?.Invoke(i);
            string? v = value is null ? $"v{tag}-{i}" + new string('.', padding) : value(i);
            builder.Append(timestamp + i, k is null ? null : Encoding.UTF8.GetBytes(k), v is null ? null : Encoding.UTF8.GetBytes(v));
        }

        return builder.Build();
    }

    public static IEnumerable<(RecordBatchHeader Header, byte[] Bytes)> Split(byte[] bytes)
    {
        int position = 0;
        while (position < bytes.Length)
        {
            var header = RecordBatchHeader.Read(bytes.AsSpan(position));
            yield return (header, bytes.AsSpan(position, header.SizeInBytes).ToArray());
            position += header.SizeInBytes;
        }
    }

    /// <summary>Every record from <paramref name="from"/> to the end of the log (or the upper bound).</summary>
    public static List<Record> ReadAll(UnifiedLog log, long? from = null, long? maxOffset = null)
    {
        var result = new List<Record>();
        long offset = from ?? log.LogStartOffset;
        long end = maxOffset ?? log.LogEndOffset;
        while (offset < end)
        {
            var info = log.Read(offset, 64 * 1024, maxOffset);
            if (info.Records.IsEmpty)
            {
                break;
            }

            foreach (var (header, bytes) in Split(info.Records.ToArray()))
            {
                Assert.True(RecordBatch.IsCrcValid(bytes), $"batch at {header.BaseOffset} has a bad CRC");
                foreach (var record in RecordBatchReader.ReadRecords(bytes))
                {
                    if (record.Offset >= offset)
                    {
                        result.Add(record);
                    }
                }

                offset = header.LastOffset + 1;
            }
        }

        return result;
    }

    public static string Text(ReadOnlyMemory<byte>? bytes) => bytes is { } b ? Encoding.UTF8.GetString(b.Span) : "<null>";

    public static int ReadInt32BigEndian(byte[] bytes, int at) => BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(at));

    public static long ReadInt64BigEndian(byte[] bytes, int at) => BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(at));
}
