using System.Text;
using Aspire.Kafka.Compatibility.Tests.Capture;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Records;
using Record = Aspire.Kafka.Records.Record;

namespace Aspire.Kafka.Compatibility.Tests.Capture;

/// <summary>One record batch a client put into a Produce request, decoded with libs/Records.</summary>
public sealed record ProducedBatch(string Source, string Topic, int Partition, byte[] Bytes, RecordBatchHeader Header, IReadOnlyList<Record> Records)
{
    public override string ToString() => $"{Source} {Topic}-{Partition}: {Header}";
}

/// <summary>Finds the record batches in Produce request frames and checks them against what the client was told to send.</summary>
public static class ProducedBatches
{
    public static CompressionType ParseCodec(string codec) => codec switch
    {
        "none" => CompressionType.None,
        "gzip" => CompressionType.Gzip,
        "snappy" => CompressionType.Snappy,
        "lz4" => CompressionType.Lz4,
        "zstd" => CompressionType.Zstd,
        _ => throw new ArgumentException($"unknown codec {codec}", nameof(codec)),
    };

    /// <summary>Every batch of every partition of every Produce request among the frames (each batch's CRC is checked).</summary>
    public static List<ProducedBatch> Extract(IEnumerable<(string Source, byte[] Frame)> frames)
    {
        var batches = new List<ProducedBatch>();
        foreach ((string source, byte[] bytes) in frames)
        {
            if (RequestFrame.Decode(bytes).Body is not ProduceRequest produce)
            {
                continue;
            }

            foreach (ProduceRequest.TopicProduceData topic in produce.TopicData)
            {
                foreach (ProduceRequest.PartitionProduceData partition in topic.PartitionData)
                {
                    ReadOnlyMemory<byte> recordSet = partition.Records ?? throw new InvalidDataException($"{source}: {topic.Name}-{partition.Index} has null records.");
                    RecordSetValidation validation = RecordSet.Validate(recordSet.Span);
                    if (!validation.IsValid)
                    {
                        throw new InvalidDataException($"{source}: {topic.Name}-{partition.Index}: {validation.ErrorMessage}");
                    }

                    int position = 0;
                    while (position < recordSet.Length)
                    {
                        RecordSet.TryReadBatch(recordSet.Span[position..], out int size);
                        byte[] batch = recordSet.Slice(position, size).ToArray();
                        var records = new List<Record>();
                        RecordBatchHeader header = RecordBatchReader.ReadRecords(batch, records);
                        batches.Add(new ProducedBatch(source, topic.Name, partition.Index, batch, header, records));
                        position += size;
                    }
                }
            }
        }

        return batches;
    }

    /// <summary>
    /// The batches hold exactly the records sent — keys, values, headers in order — each exactly
    /// once, in send order within a partition, with CreateTime timestamps inside the capture
    /// window, and with the compression asked for.
    /// </summary>
    public static void AssertMatchSent(IReadOnlyList<ProducedBatch> batches, string topic, IReadOnlyList<SentRecord> sent,
        string codec, long captureStartMs, long captureEndMs)
    {
        Assert.NotEmpty(batches);
        CompressionType expectedCodec = ParseCodec(codec);
        var seen = new Dictionary<string, (ProducedBatch Batch, Record Record)>(StringComparer.Ordinal);
        foreach (ProducedBatch batch in batches)
        {
            RecordBatchHeader header = batch.Header;
            Assert.Equal(topic, batch.Topic);
            Assert.Equal(RecordBatch.CurrentMagic, header.Magic);
            Assert.True(RecordBatch.IsCrcValid(batch.Bytes), $"{batch}: CRC-32C does not match");
            Assert.Equal(expectedCodec, header.CompressionType);
            Assert.Equal(TimestampType.CreateTime, header.TimestampType);
            Assert.False(header.IsTransactional, $"{batch}: transactional");
            Assert.False(header.IsControl, $"{batch}: control batch");
            Assert.Equal(header.RecordCount, batch.Records.Count);
            Assert.Equal(batch.Records.Count - 1, header.LastOffsetDelta);

            long maxTimestamp = long.MinValue;
            for (int i = 0; i < batch.Records.Count; i++)
            {
                Record record = batch.Records[i];
                Assert.Equal(header.BaseOffset + i, record.Offset);
                Assert.InRange(record.Timestamp, captureStartMs, captureEndMs);
                Assert.True(record.Timestamp >= header.BaseTimestamp, $"{batch}: record {i} timestamp {record.Timestamp} before the base timestamp");
                maxTimestamp = Math.Max(maxTimestamp, record.Timestamp);
                string key = Text(record.Key) ?? throw new InvalidDataException($"{batch}: record {i} has a null key");
                Assert.True(seen.TryAdd(key, (batch, record)), $"key {key} was produced twice");
            }

            Assert.Equal(maxTimestamp, header.MaxTimestamp);
        }

        Assert.Equal(sent.Select(r => r.Key).Order(StringComparer.Ordinal), seen.Keys.Order(StringComparer.Ordinal));
        foreach (SentRecord expected in sent)
        {
            Record record = seen[expected.Key].Record;
            Assert.Equal(expected.Value, Text(record.Value));
            Assert.Equal(
                expected.Headers.Select(h => $"{h.Key}={h.Value}"),
                record.Headers.Select(h => $"{h.Key}={Text(h.Value)}"));
        }

        // Within a partition the records keep the order they were sent in.
        var sentIndex = sent.Select((r, i) => (r.Key, i)).ToDictionary(x => x.Key, x => x.i, StringComparer.Ordinal);
        foreach (IGrouping<int, ProducedBatch> partition in batches.GroupBy(b => b.Partition))
        {
            int[] order = [.. partition.SelectMany(b => b.Records).Select(r => sentIndex[Text(r.Key)!])];
            Assert.Equal(order.Order(), order);
        }
    }

    public static string? Text(ReadOnlyMemory<byte>? bytes) => bytes is { } b ? Encoding.UTF8.GetString(b.Span) : null;
}
