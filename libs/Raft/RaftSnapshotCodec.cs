using System.Buffers.Binary;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Records;

namespace Aspire.Kafka.Raft;

/// <summary>
/// The content of a snapshot (<c>&lt;endOffset&gt;-&lt;epoch&gt;.checkpoint</c>), as Kafka's
/// RecordsSnapshotWriter lays it out: record batches v2 whose partition leader epoch is the
/// snapshot's epoch, offsets from 0, the first a control batch holding a
/// <see cref="SnapshotHeaderRecord"/> (control type 3), then the state machine's records as data
/// batches, the last a control batch holding a <see cref="SnapshotFooterRecord"/> (control type 4).
/// The record values are opaque here (for the metadata log: MetadataRecordSerde frames).
/// A broker or coordinator that installed a snapshot as an observer reads it back with
/// <see cref="Decode"/> and replays the values.
/// </summary>
public static class RaftSnapshotCodec
{
    /// <summary>ControlRecordType.SNAPSHOT_HEADER.</summary>
    public const short SnapshotHeaderControlType = 3;

    /// <summary>ControlRecordType.SNAPSHOT_FOOTER.</summary>
    public const short SnapshotFooterControlType = 4;

    private const int MaxRecordsPerBatch = 1000;

    /// <summary>Encodes <paramref name="records"/> as the content of snapshot <paramref name="id"/>.</summary>
    public static byte[] Encode(SnapshotId id, IReadOnlyList<ReadOnlyMemory<byte>> records, long lastContainedLogTimestamp = 0)
    {
        ArgumentNullException.ThrowIfNull(records);
        using var output = new KafkaWriter(256 + records.Sum(r => r.Length + 16));
        long offset = 0;
        using (var writer = new KafkaWriter(16))
        {
            new SnapshotHeaderRecord { Version = 0, LastContainedLogTimestamp = lastContainedLogTimestamp }.Write(writer, 0);
            WriteControlBatch(output, offset++, id.Epoch, SnapshotHeaderControlType, writer.ToArray());
        }

        for (int i = 0; i < records.Count; i += MaxRecordsPerBatch)
        {
            using var builder = new RecordBatchBuilder(CompressionType.None, offset, partitionLeaderEpoch: id.Epoch);
            for (int j = i; j < Math.Min(records.Count, i + MaxRecordsPerBatch); j++)
            {
                builder.AppendWithOffset(offset++, lastContainedLogTimestamp, (ReadOnlyMemory<byte>?)null, records[j]);
            }

            builder.WriteTo(output);
        }

        using (var writer = new KafkaWriter(8))
        {
            new SnapshotFooterRecord { Version = 0 }.Write(writer, 0);
            WriteControlBatch(output, offset, id.Epoch, SnapshotFooterControlType, writer.ToArray());
        }

        return output.ToArray();
    }

    /// <summary>
    /// The data record values of a snapshot, in order. Throws <see cref="InvalidDataException"/>
    /// when the bytes are not a complete snapshot (a torn batch, no header first, no footer last).
    /// </summary>
    public static IReadOnlyList<ReadOnlyMemory<byte>> Decode(ReadOnlyMemory<byte> snapshot)
    {
        var values = new List<ReadOnlyMemory<byte>>();
        var decoded = new List<Record>();
        int position = 0;
        bool header = false;
        bool footer = false;
        while (position < snapshot.Length)
        {
            if (RecordSet.TryReadBatch(snapshot.Span[position..], out int size) != RecordSetStatus.Complete)
            {
                throw new InvalidDataException($"The snapshot holds an incomplete batch at byte {position}.");
            }

            if (footer)
            {
                throw new InvalidDataException($"The snapshot has data after its footer (byte {position}).");
            }

            decoded.Clear();
            RecordBatchHeader batch = RecordBatchReader.ReadRecords(snapshot.Slice(position, size), decoded);
            if (batch.IsControl)
            {
                foreach (Record record in decoded)
                {
                    short type = record.Key is { Length: >= 4 } key ? BinaryPrimitives.ReadInt16BigEndian(key.Span[2..]) : (short)-1;
                    if (type == SnapshotHeaderControlType && position == 0)
                    {
                        header = true;
                    }
                    else if (type == SnapshotFooterControlType && header)
                    {
                        footer = true;
                    }
                    else
                    {
                        throw new InvalidDataException($"Unexpected control record type {type} in the snapshot at byte {position}.");
                    }
                }
            }
            else
            {
                if (!header)
                {
                    throw new InvalidDataException("The snapshot does not start with a SnapshotHeader control record.");
                }

                foreach (Record record in decoded)
                {
                    values.Add(record.Value ?? ReadOnlyMemory<byte>.Empty);
                }
            }

            position += size;
        }

        if (!header || !footer)
        {
            throw new InvalidDataException($"The snapshot is incomplete: {(header ? "no SnapshotFooter" : "no SnapshotHeader")} control record.");
        }

        return values;
    }

    private static void WriteControlBatch(KafkaWriter output, long offset, int epoch, short controlType, byte[] value)
    {
        var key = new byte[4];
        BinaryPrimitives.WriteInt16BigEndian(key, 0);
        BinaryPrimitives.WriteInt16BigEndian(key.AsSpan(2), controlType);
        using var builder = new RecordBatchBuilder(CompressionType.None, offset, partitionLeaderEpoch: epoch, isControl: true);
        builder.AppendWithOffset(offset, 0, key, value);
        builder.WriteTo(output);
    }
}
