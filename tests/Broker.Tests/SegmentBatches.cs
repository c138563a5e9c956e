using System.Buffers.Binary;
using Aspire.Kafka.Records;

namespace Aspire.Kafka.Broker.Tests;

/// <summary>The batch headers of a partition directory's segment files, in offset order (zeros written ahead end a file's data).</summary>
internal static class SegmentBatches
{
    public static List<RecordBatchHeader> Read(string partitionDirectory)
    {
        var batches = new List<RecordBatchHeader>();
        foreach (string segment in Directory.GetFiles(partitionDirectory, "*.log").Order(StringComparer.Ordinal))
        {
            byte[] bytes = File.ReadAllBytes(segment);
            int position = 0;
            while (position + RecordBatch.LogOverhead <= bytes.Length
                && BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(position + RecordBatch.BatchLengthOffset)) is > 0 and var length)
            {
                batches.Add(RecordBatchHeader.Read(bytes.AsSpan(position)));
                position += RecordBatch.LogOverhead + length;
            }
        }

        return batches;
    }
}
