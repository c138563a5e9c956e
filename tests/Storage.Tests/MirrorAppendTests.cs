using Aspire.Kafka.Records;

namespace Aspire.Kafka.Storage.Tests;

/// <summary><see cref="UnifiedLog.AppendAsMirror"/>: batches of another cluster's partition at their own offsets.</summary>
public sealed class MirrorAppendTests
{
    /// <summary>The source partition: batches written by a leader (epoch 7), with a gap (offsets 6–9 compacted away) and an idempotent producer.</summary>
    private static (byte[] All, List<(RecordBatchHeader Header, byte[] Bytes)> Batches) Source(TempDir dir)
    {
        using var source = UnifiedLog.Open(dir.Sub("source-0"), Batches.SmallConfig(segmentBytes: 1 << 20));
        source.AppendAsLeader(Batches.Make(3, 1000), 7);
        source.AppendAsLeader(Batches.Make(3, 2000, producerId: 42, producerEpoch: 2, baseSequence: 0), 7);
        byte[] head = source.Read(0, 1 << 20).Records.ToArray();
        // A later batch at offset 10, as compaction leaves a gap before it.
        using var builder = new RecordBatchBuilder(CompressionType.Gzip, 10, 42, 2, 3, 7);
        builder.Append(3000, new byte[] { 1 }, new byte[] { 2 });
        byte[] all = [.. head, .. builder.Build()];
        return (all, [.. Batches.Split(all)]);
    }

    [Fact]
    public void Batches_land_at_their_own_offsets_byte_for_byte_but_the_leader_epoch_and_gaps_stay_gaps()
    {
        using var dir = new TempDir();
        (byte[] all, var batches) = Source(dir);
        using var target = UnifiedLog.Open(dir.Sub("target-0"), Batches.SmallConfig(segmentBytes: 1 << 20));

        MirrorAppendInfo info = target.AppendAsMirror(all.ToArray(), 3);

        Assert.Equal((0L, 10L, 0, 11L), (info.Appended!.FirstOffset, info.Appended.LastOffset, info.SkippedBatches, info.LogEndOffset));
        byte[] stored = target.Read(0, 1 << 20).Records.ToArray();
        var storedBatches = Batches.Split(stored).ToList();
        Assert.Equal(batches.Select(b => (b.Header.BaseOffset, b.Header.LastOffset, b.Header.Crc, b.Header.ProducerId)),
            storedBatches.Select(b => (b.Header.BaseOffset, b.Header.LastOffset, b.Header.Crc, b.Header.ProducerId)));
        Assert.All(storedBatches, b => Assert.Equal(3, b.Header.PartitionLeaderEpoch));
        for (int i = 0; i < batches.Count; i++)
        {
            // Everything but the leader epoch field (bytes 12–15, outside the CRC) is the source's.
            Assert.Equal(batches[i].Bytes[..12], storedBatches[i].Bytes[..12]);
            Assert.Equal(batches[i].Bytes[16..], storedBatches[i].Bytes[16..]);
        }

        Assert.Equal([0L, 1, 2, 3, 4, 5, 10], Batches.ReadAll(target).Select(r => r.Offset));
        Assert.Equal((2, 3), (target.ActiveProducers[42].ProducerEpoch, target.ActiveProducers[42].LastSequence)); // the producer continues here after a failover
    }

    [Fact]
    public void Batches_the_log_already_holds_are_skipped_and_a_batch_across_its_end_is_refused()
    {
        using var dir = new TempDir();
        (byte[] all, var batches) = Source(dir);
        using var target = UnifiedLog.Open(dir.Sub("target-0"), Batches.SmallConfig(segmentBytes: 1 << 20));
        target.AppendAsMirror(batches[0].Bytes.ToArray(), 0);

        MirrorAppendInfo again = target.AppendAsMirror(all.ToArray(), 0);
        Assert.Equal((1, 11L, 3L), (again.SkippedBatches, again.LogEndOffset, again.Appended!.FirstOffset));

        MirrorAppendInfo repeated = target.AppendAsMirror(all.ToArray(), 0);
        Assert.Null(repeated.Appended);
        Assert.Equal((3, 11L), (repeated.SkippedBatches, repeated.LogEndOffset));
        Assert.Equal(7, Batches.ReadAll(target).Count);

        using var other = UnifiedLog.Open(dir.Sub("other-0"), Batches.SmallConfig(segmentBytes: 1 << 20));
        other.AppendAsLeader(Batches.Make(2, 1000), 0); // offsets 0-1: the source's first batch (0-2) would straddle the end
        Assert.Throws<InvalidOffsetException>(() => other.AppendAsMirror(batches[0].Bytes.ToArray(), 0));
    }

    [Fact]
    public void A_corrupt_batch_writes_nothing()
    {
        using var dir = new TempDir();
        (byte[] all, _) = Source(dir);
        using var target = UnifiedLog.Open(dir.Sub("target-0"), Batches.SmallConfig(segmentBytes: 1 << 20));
        byte[] corrupt = all.ToArray();
        corrupt[^3] ^= 0xFF; // inside the last batch's records: its CRC no longer matches

        Assert.ThrowsAny<Exception>(() => target.AppendAsMirror(corrupt, 0));
        Assert.Equal(0, target.LogEndOffset);
    }
}
