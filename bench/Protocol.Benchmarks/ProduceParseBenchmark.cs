using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Records;
using BenchmarkDotNet.Attributes;

namespace Aspire.Kafka.Protocol.Benchmarks;

/// <summary>
/// The broker's first step on a Produce: parse a 1 MiB ProduceRequest v9 (100-byte records,
/// 16 KiB batches, 8 partitions) into per-partition record-set slices and validate every
/// batch's CRC without decompressing or copying. Baseline: copying the same 1 MiB once, so the
/// ratio is independent of how busy the machine is.
/// </summary>
[MemoryDiagnoser]
public class ProduceParseBenchmark
{
    private const short Version = 9;
    private byte[] _frame = [];
    private byte[] _copyTarget = [];
    private ApiMessageType _produce = null!;

    [GlobalSetup]
    public void Setup()
    {
        _produce = ApiMessageTypes.Find(ApiKeys.Produce)!;
        var request = new ProduceRequest { Acks = 1, TimeoutMs = 30000 };
        var topic = new ProduceRequest.TopicProduceData { Name = "bench" };
        request.TopicData.Add(topic);
        byte[] value = new byte[100];
        new Random(1).NextBytes(value);
        const int partitions = 8;
        const int bytesPerPartition = 1024 * 1024 / partitions;
        for (int p = 0; p < partitions; p++)
        {
            using var set = new KafkaWriter(bytesPerPartition + 4096);
            while (set.Position < bytesPerPartition - 16 * 1024)
            {
                var builder = new RecordBatchBuilder(CompressionType.None, baseOffset: 0);
                int size = RecordBatch.HeaderSize;
                while (size < 16 * 1024 - 130)
                {
                    builder.Append(1_700_000_000_000, null, value);
                    size += 110;
                }

                builder.WriteTo(set);
            }

            topic.PartitionData.Add(new ProduceRequest.PartitionProduceData { Index = p, Records = set.ToArray() });
        }

        using var writer = new KafkaWriter(1024 * 1024 + 4096);
        new RequestHeader { RequestApiKey = ApiKeys.Produce, RequestApiVersion = Version, CorrelationId = 1, ClientId = "bench" }
            .Write(writer, _produce.RequestHeaderVersion(Version));
        request.Write(writer, Version);
        _frame = writer.ToArray();
        _copyTarget = new byte[_frame.Length];
        if (ParseAndValidate() <= 0)
        {
            throw new InvalidOperationException("The benchmark request does not validate.");
        }
    }

    public int FrameBytes => _frame.Length;

    [Benchmark(Baseline = true, Description = "copy 1 MiB")]
    public int Copy()
    {
        _frame.AsSpan().CopyTo(_copyTarget);
        return _copyTarget[^1];
    }

    [Benchmark(Description = "parse ProduceRequest v9 + validate CRCs (1 MiB)")]
    public long ParseAndValidate()
    {
        var reader = new KafkaReader(_frame);
        RequestHeader.Read(ref reader, _produce.RequestHeaderVersion(Version));
        ProduceRequest request = ProduceRequest.Read(ref reader, Version);
        long records = 0;
        foreach (ProduceRequest.TopicProduceData topic in request.TopicData)
        {
            foreach (ProduceRequest.PartitionProduceData partition in topic.PartitionData)
            {
                RecordSetValidation validation = RecordSet.Validate(partition.Records!.Value.Span);
                if (!validation.IsValid)
                {
                    return -1;
                }

                records += validation.RecordCount;
            }
        }

        return records;
    }
}
