using Aspire.Kafka.Protocol;
using BenchmarkDotNet.Attributes;

namespace Aspire.Kafka.Records.Benchmarks;

/// <summary>
/// A 1 MiB record set of 16 KiB uncompressed batches of 100-byte records, as a Produce request or a
/// segment holds them. Validate target: at least 1 GB/s and no allocation.
/// </summary>
[MemoryDiagnoser]
public class RecordSetBenchmarks
{
    private const int SetSize = 1 << 20;
    private const int BatchSize = 16 * 1024;
    private byte[] _set = [];
    private byte[] _oneBatch = [];
    private byte[] _value = [];
    private byte[] _key = [];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(2);
        _key = new byte[16];
        _value = new byte[100 - 16];
        random.NextBytes(_key);
        random.NextBytes(_value);
        using var set = new KafkaWriter(SetSize + BatchSize);
        long offset = 0;
        while (true)
        {
            using var builder = new RecordBatchBuilder(CompressionType.None, offset);
            while (builder.EstimatedSizeInBytes + 110 <= BatchSize)
            {
                builder.Append(1_700_000_000_000 + offset, _key, _value);
                offset++;
            }

            byte[] batch = builder.Build();
            if (set.Position + batch.Length > SetSize)
            {
                break;
            }

            set.WriteRaw(batch);
            if (_oneBatch.Length == 0)
            {
                _oneBatch = batch;
            }
        }

        _set = set.ToArray();
        Console.WriteLine($"// record set: {_set.Length} bytes, {RecordSet.Validate(_set)}");
    }

    [Benchmark]
    public long Validate()
    {
        RecordSetValidation result = RecordSet.Validate(_set);
        return result.IsValid ? result.RecordCount : throw new InvalidOperationException(result.ErrorMessage);
    }

    [Benchmark]
    public long EnumerateRecords()
    {
        long total = 0;
        foreach (ReadOnlySpan<byte> batch in RecordSet.EnumerateBatches(_set))
        {
            foreach (RecordView record in RecordBatchReader.EnumerateRecords(batch))
            {
                total += record.Value.Length;
            }
        }

        return total;
    }

    [Benchmark]
    public int BuildOneBatch()
    {
        using var builder = new RecordBatchBuilder(CompressionType.None);
        while (builder.EstimatedSizeInBytes + 110 <= BatchSize)
        {
            builder.Append(1_700_000_000_000, _key, _value);
        }

        return builder.Build().Length;
    }
}
