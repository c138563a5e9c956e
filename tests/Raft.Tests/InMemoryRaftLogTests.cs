using System.Text;

namespace Aspire.Kafka.Raft.Tests;

public sealed class InMemoryRaftLogTests
{
    private static RaftEntry Entry(long offset, int epoch) => new(offset, epoch, Encoding.UTF8.GetBytes("e" + offset));

    private static InMemoryRaftLog LogWithEpochs()
    {
        // Offsets 0-1 in epoch 1, 2-4 in epoch 3, 5 in epoch 4.
        var log = new InMemoryRaftLog();
        log.Append([Entry(0, 1), Entry(1, 1), Entry(2, 3), Entry(3, 3), Entry(4, 3), Entry(5, 4)]);
        return log;
    }

    [Fact]
    public void End_offset_for_epoch_answers_with_the_largest_epoch_not_above_the_one_asked()
    {
        InMemoryRaftLog log = LogWithEpochs();

        Assert.Null(log.EndOffsetForEpoch(0));
        Assert.Equal(new OffsetAndEpoch(2, 1), log.EndOffsetForEpoch(1));
        Assert.Equal(new OffsetAndEpoch(2, 1), log.EndOffsetForEpoch(2));
        Assert.Equal(new OffsetAndEpoch(5, 3), log.EndOffsetForEpoch(3));
        Assert.Equal(new OffsetAndEpoch(6, 4), log.EndOffsetForEpoch(4));
        Assert.Equal(new OffsetAndEpoch(6, 4), log.EndOffsetForEpoch(9));
        Assert.Equal(4, log.LastFetchedEpoch);
    }

    [Fact]
    public void Truncation_and_snapshots_update_the_epoch_cache()
    {
        InMemoryRaftLog log = LogWithEpochs();
        log.TruncateTo(3);
        Assert.Equal(3, log.EndOffset);
        Assert.Equal(new OffsetAndEpoch(3, 3), log.EndOffsetForEpoch(4));

        log.StoreSnapshot(new SnapshotId(2, 1), new byte[] { 1, 2 });
        Assert.Equal(2, log.StartOffset);
        Assert.Equal(new OffsetAndEpoch(2, 1), log.EndOffsetForEpoch(1));
        Assert.Equal(new OffsetAndEpoch(3, 3), log.EndOffsetForEpoch(3));
        Assert.Null(log.EndOffsetForEpoch(0));
        Assert.Equal(1, log.EpochAt(1));
        Assert.Null(log.EpochAt(0));
        Assert.Throws<InvalidOperationException>(() => log.TruncateTo(1));
    }

    [Fact]
    public void Install_snapshot_replaces_the_whole_log()
    {
        InMemoryRaftLog log = LogWithEpochs();
        log.InstallSnapshot(new SnapshotId(10, 5), new byte[] { 9 });

        Assert.Equal(10, log.StartOffset);
        Assert.Equal(10, log.EndOffset);
        Assert.Equal(5, log.LastFetchedEpoch);
        Assert.Equal(new OffsetAndEpoch(10, 5), log.EndOffsetForEpoch(7));
        Assert.True(log.TryReadSnapshot(new SnapshotId(10, 5), 0, 10, out ReadOnlyMemory<byte> chunk, out long size));
        Assert.Equal(1, size);
        Assert.Equal([9], chunk.ToArray());
        Assert.False(log.TryReadSnapshot(new SnapshotId(9, 5), 0, 10, out _, out _));
    }

    [Fact]
    public void A_crash_keeps_only_what_was_flushed()
    {
        var log = new InMemoryRaftLog();
        log.Append([Entry(0, 1), Entry(1, 1)]);
        log.Flush();
        log.TruncateTo(1);
        log.Append([Entry(1, 2), Entry(2, 2)]);

        log.Crash();

        Assert.Equal(2, log.EndOffset);
        Assert.Equal(1, log.LastFetchedEpoch);
        Assert.Equal(new OffsetAndEpoch(2, 1), log.EndOffsetForEpoch(2));
    }
}
