using Aspire.Kafka.Records;

namespace Aspire.Kafka.Storage.Tests;

/// <summary>The hot append path: what it does per batch, and that it does it without garbage.</summary>
public sealed class AppendPathTests
{
    private static LogConfig EveryBatchIndexed() => new()
    {
        SegmentBytes = 64 * 1024 * 1024,
        IndexIntervalBytes = 0,
        MaxIndexSize = 1024 * 1024,
        RetentionMs = -1,
        FileDeleteDelayMs = 0,
    };

    [Fact]
    public void Appends_allocate_only_their_result()
    {
        using var dir = new TempDir();
        using var log = UnifiedLog.Open(dir.Sub("t-0"), EveryBatchIndexed());
        var batches = Enumerable.Range(0, 2100).Select(i => Batches.Make(4, 1000 + i)).ToArray();
        for (int i = 0; i < 100; i++)
        {
            log.AppendAsLeader(batches[i], 1);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 100; i < 2100; i++)
        {
            // Half as the broker does (the validator's result appended), half validated by the log.
            if (i % 2 == 0)
            {
                log.AppendAsLeader(LogValidator.ValidateProduce(batches[i], log.Config), 1);
            }
            else
            {
                log.AppendAsLeader(batches[i], 1);
            }
        }

        double perAppend = (GC.GetAllocatedBytesForCurrentThread() - before) / 2000.0;

        // LogAppendInfo + LogOffsetMetadata + the amortized growth of the two in-memory indexes.
        Assert.True(perAppend < 256, $"{perAppend:F0} bytes allocated per append");
        Assert.Equal(2100 * 4, log.LogEndOffset);
        Assert.Equal(2099, log.ActiveSegment.OffsetIndex.Entries);
        Assert.Equal(2099, log.ActiveSegment.TimeIndex.Entries);
    }

    [Fact]
    public void A_multi_batch_append_stamps_every_batch_and_indexes_each()
    {
        using var dir = new TempDir();
        using var log = UnifiedLog.Open(dir.Sub("t-0"), EveryBatchIndexed());
        log.AppendAsLeader(Batches.Make(2, 500), 3);
        var many = Batches.Make(3, 1000, "a").Concat(Batches.Make(1, 900, "b")).Concat(Batches.Make(5, 2000, "c")).ToArray();
        var info = log.AppendAsLeader(many, 4);
        Assert.Equal((2L, 10L), (info.FirstOffset, info.LastOffset));
        Assert.Equal((2004L, 10L), (info.MaxTimestamp, info.OffsetOfMaxTimestamp));
        Assert.Equal(3, info.BatchCount);
        Assert.Equal(9, info.RecordCount);
        var headers = Batches.Split(many).Select(b => b.Header).ToList();
        Assert.Equal([2L, 5L, 6L], headers.Select(h => h.BaseOffset));
        Assert.All(headers, h => Assert.Equal(4, h.PartitionLeaderEpoch));
        Assert.Equal([new EpochEntry(3, 0), new EpochEntry(4, 2)], log.LeaderEpochCache.Epochs);

        // One offset index entry per batch after the first (interval 0), positions on batch starts.
        var entries = log.ActiveSegment.OffsetIndex.ReadAll();
        Assert.Equal([4L, 5L, 10L], entries.Select(e => e.Offset));
        var positions = new List<int>();
        int position = Batches.Make(2, 500).Length;
        foreach (var (_, bytes) in Batches.Split(many))
        {
            positions.Add(position);
            position += bytes.Length;
        }

        Assert.Equal(positions, entries.Select(e => e.Position));
        Assert.Equal(["va-0", "va-1", "va-2", "vb-0", "vc-0"], Batches.ReadAll(log, from: 2).Take(5).Select(r => Batches.Text(r.Value)));
    }

    [Fact]
    public void A_follower_append_records_every_epoch_it_carries()
    {
        using var dir = new TempDir();
        using var leader = UnifiedLog.Open(dir.Sub("l-0"), EveryBatchIndexed());
        leader.AppendAsLeader(Batches.Make(2, 100), 1);
        leader.AppendAsLeader(Batches.Make(2, 200), 2);
        leader.AppendAsLeader(Batches.Make(2, 300), 2);
        leader.AppendAsLeader(Batches.Make(2, 400), 5);
        var fetched = leader.Read(0, 1 << 20).Records.ToArray();

        using var follower = UnifiedLog.Open(dir.Sub("f-0"), EveryBatchIndexed());
        var info = follower.AppendAsFollower(fetched);
        Assert.Equal((0L, 7L), (info.FirstOffset, info.LastOffset));
        Assert.Equal([new EpochEntry(1, 0), new EpochEntry(2, 2), new EpochEntry(5, 6)], follower.LeaderEpochCache.Epochs);
        Assert.Equal(RecordBatch.NoTimestamp, info.LogAppendTime);
    }
}
