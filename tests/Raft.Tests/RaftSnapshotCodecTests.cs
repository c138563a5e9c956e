using System.Buffers.Binary;
using System.Text;
using Aspire.Kafka.Records;
using Record = Aspire.Kafka.Records.Record;

namespace Aspire.Kafka.Raft.Tests;

public sealed class RaftSnapshotCodecTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2500)]
    public void Records_round_trip_between_a_header_and_a_footer_batch(int count)
    {
        ReadOnlyMemory<byte>[] records = [.. Enumerable.Range(0, count).Select(i => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes($"record-{i}"))];
        byte[] bytes = RaftSnapshotCodec.Encode(new SnapshotId(42, 7), records, lastContainedLogTimestamp: 1234);

        IReadOnlyList<ReadOnlyMemory<byte>> decoded = RaftSnapshotCodec.Decode(bytes);
        Assert.Equal(records.Select(r => Encoding.UTF8.GetString(r.Span)), decoded.Select(r => Encoding.UTF8.GetString(r.Span)));

        // Kafka's layout: batches at offsets 0.., epoch = the snapshot's, control header (type 3) first and footer (type 4) last.
        var batches = new List<(RecordBatchHeader Header, List<Record> Records)>();
        int position = 0;
        while (position < bytes.Length)
        {
            Assert.Equal(RecordSetStatus.Complete, RecordSet.TryReadBatch(bytes.AsSpan(position), out int size));
            var list = new List<Record>();
            batches.Add((RecordBatchReader.ReadRecords(bytes.AsMemory(position, size), list), list));
            position += size;
        }

        Assert.All(batches, b => Assert.Equal(7, b.Header.PartitionLeaderEpoch));
        Assert.True(batches[0].Header.IsControl);
        Assert.Equal(RaftSnapshotCodec.SnapshotHeaderControlType, BinaryPrimitives.ReadInt16BigEndian(batches[0].Records[0].Key!.Value.Span[2..]));
        Assert.True(batches[^1].Header.IsControl);
        Assert.Equal(RaftSnapshotCodec.SnapshotFooterControlType, BinaryPrimitives.ReadInt16BigEndian(batches[^1].Records[0].Key!.Value.Span[2..]));
        Assert.Equal(Enumerable.Range(0, count + 2).Select(i => (long)i), batches.SelectMany(b => b.Records).Select(r => r.Offset));
    }

    [Fact]
    public void A_torn_or_footerless_snapshot_is_refused()
    {
        byte[] bytes = RaftSnapshotCodec.Encode(new SnapshotId(10, 1), [Encoding.UTF8.GetBytes("a"), Encoding.UTF8.GetBytes("b")]);
        Assert.Throws<InvalidDataException>(() => RaftSnapshotCodec.Decode(bytes.AsMemory(0, bytes.Length - 5)));

        // Cut exactly before the footer batch: complete batches, but no footer.
        int position = 0;
        int lastStart = 0;
        while (position < bytes.Length)
        {
            RecordSet.TryReadBatch(bytes.AsSpan(position), out int size);
            lastStart = position;
            position += size;
        }

        InvalidDataException e = Assert.Throws<InvalidDataException>(() => RaftSnapshotCodec.Decode(bytes.AsMemory(0, lastStart)));
        Assert.Contains("SnapshotFooter", e.Message);
        Assert.Throws<InvalidDataException>(() => RaftSnapshotCodec.Decode(RaftMessageCodec.EncodeEntries([new RaftEntry(0, 1, Encoding.UTF8.GetBytes("x"))])));
    }
}
