using Aspire.Kafka.Records;

namespace Aspire.Kafka.Storage.Tests;

public sealed class UnifiedLogTests
{
    [Fact]
    public void Append_assigns_offsets_in_place_and_reads_return_whole_batches()
    {
        using var dir = new TempDir();
        using var log = UnifiedLog.Open(dir.Sub("t-0"), Batches.SmallConfig(segmentBytes: 1 << 20));
        var first = Batches.Make(3, 1000, "a");
        var info = log.AppendAsLeader(first, leaderEpoch: 5);
        Assert.Equal((0L, 2L), (info.FirstOffset, info.LastOffset));
        Assert.Equal(0, RecordBatchHeader.Read(first).BaseOffset);
        var second = Batches.Make(2, 2000, "b");
        info = log.AppendAsLeader(second, leaderEpoch: 5);
        Assert.Equal((3L, 4L), (info.FirstOffset, info.LastOffset));
        var header = RecordBatchHeader.Read(second);
        Assert.Equal(3, header.BaseOffset);
        Assert.Equal(5, header.PartitionLeaderEpoch);
        Assert.Equal(5, log.LogEndOffset);

        // Offset 4 is inside the second batch: the whole batch comes back.
        var read = log.Read(4, 1 << 20);
        Assert.Equal(second.Length, read.Records.Length);
        Assert.Equal(second, read.Records.ToArray());
        Assert.Equal(first.Length, read.FetchOffsetMetadata.RelativePositionInSegment);

        // maxBytes smaller than a batch: still the first whole batch, never a partial one.
        read = log.Read(0, 10);
        Assert.Equal(first.Length, read.Records.Length);
        Assert.True(log.Read(0, 10, minOneMessage: false).Records.IsEmpty);

        // The high watermark bounds what a consumer sees.
        read = log.Read(0, 1 << 20, maxOffset: 3);
        Assert.Equal(first.Length, read.Records.Length);
        Assert.True(log.Read(3, 1 << 20, maxOffset: 3).Records.IsEmpty);
        Assert.True(log.Read(5, 100).Records.IsEmpty);
        Assert.Throws<OffsetOutOfRangeException>(() => log.Read(6, 100));

        Assert.Equal(["va-0", "va-1", "va-2", "vb-0", "vb-1"], Batches.ReadAll(log).Select(r => Batches.Text(r.Value)));
        Assert.Equal(5, log.LeaderEpochCache.LatestEpoch);
    }

    [Fact]
    public void Invalid_batches_are_rejected_with_kafka_errors()
    {
        using var dir = new TempDir();
        using var log = UnifiedLog.Open(dir.Sub("t-0"), Batches.SmallConfig(segmentBytes: 1 << 20) with { MaxMessageBytes = 500 });
        var batch = Batches.Make(2, 1000);
        batch[^1] ^= 0xFF;
        Assert.Throws<InvalidRecordException>(() => log.AppendAsLeader(batch, 0));
        Assert.Throws<InvalidRecordException>(() => log.AppendAsLeader(Batches.Make(2, 1000).AsSpan(0, 40), 0));
        Assert.Throws<RecordTooLargeException>(() => log.AppendAsLeader(Batches.Make(2, 1000, padding: 600), 0));
        Assert.Equal(0, log.LogEndOffset);
    }

    [Fact]
    public void Log_append_time_is_stamped_and_crc_stays_valid()
    {
        using var dir = new TempDir();
        var time = new ManualTime(5_000_000);
        using var log = UnifiedLog.Open(dir.Sub("t-0"), Batches.SmallConfig() with { MessageTimestampType = MessageTimestampType.LogAppendTime },
            new UnifiedLogOptions { TimeProvider = time });
        var batch = Batches.Make(2, 1000);
        var info = log.AppendAsLeader(batch, 0);
        Assert.Equal(5_000_000, info.LogAppendTime);
        var header = RecordBatchHeader.Read(batch);
        Assert.Equal(TimestampType.LogAppendTime, header.TimestampType);
        Assert.Equal(5_000_000, header.MaxTimestamp);
        Assert.True(RecordBatch.IsCrcValid(log.Read(0, 1000).Records.ToArray()));
    }

    [Fact]
    public void Segments_roll_on_size_with_kafka_file_names_and_sparse_indexes()
    {
        using var dir = new TempDir();
        string path = dir.Sub("orders-3");
        using (var log = UnifiedLog.Open(path, Batches.SmallConfig(segmentBytes: 2000, indexInterval: 300)))
        {
            for (int i = 0; i < 60; i++)
            {
                log.AppendAsLeader(Batches.Make(2, 1000 + i, $"{i}", padding: 40), 0);
            }

            Assert.True(log.NumberOfSegments > 3);
            var segments = log.Segments;
            for (int i = 0; i < segments.Count - 1; i++)
            {
                Assert.True(segments[i].Size <= 2000);
                Assert.True(segments[i].OffsetIndex.Entries > 0, "inactive segments have sparse index entries");
                Assert.Equal(segments[i].OffsetIndex.Entries * 8, new FileInfo(segments[i].OffsetIndex.FilePath).Length);
            }

            Assert.Equal(120, Batches.ReadAll(log).Count);
            Assert.Equal(Enumerable.Range(0, 120).Select(i => (long)i), Batches.ReadAll(log).Select(r => r.Offset));
        }

        Assert.True(File.Exists(Path.Combine(path, "00000000000000000000.log")));
        Assert.True(File.Exists(Path.Combine(path, "00000000000000000000.index")));
        Assert.True(File.Exists(Path.Combine(path, "00000000000000000000.timeindex")));
        Assert.True(File.Exists(Path.Combine(path, "leader-epoch-checkpoint")));

        using var reopened = UnifiedLog.Open(path, Batches.SmallConfig(segmentBytes: 2000, indexInterval: 300), new UnifiedLogOptions { HadCleanShutdown = true });
        Assert.Equal(120, reopened.LogEndOffset);
        Assert.Equal(120, Batches.ReadAll(reopened).Count);
        Assert.Equal(0, reopened.LoadResult.SegmentsRecovered);
    }

    [Fact]
    public void Segments_roll_on_segment_ms_measured_from_the_first_timestamp()
    {
        using var dir = new TempDir();
        using var log = UnifiedLog.Open(dir.Sub("t-0"), Batches.SmallConfig(segmentBytes: 1 << 20) with { SegmentMs = 1000 });
        log.AppendAsLeader(Batches.Make(1, 10_000), 0);
        log.AppendAsLeader(Batches.Make(1, 10_500), 0);
        Assert.Equal(1, log.NumberOfSegments);
        log.AppendAsLeader(Batches.Make(1, 11_001), 0);
        Assert.Equal(2, log.NumberOfSegments);
        Assert.Equal(2, log.ActiveSegment.BaseOffset);
    }

    [Fact]
    public void Offset_for_timestamp_uses_the_time_index_and_finds_the_first_record()
    {
        using var dir = new TempDir();
        using var log = UnifiedLog.Open(dir.Sub("t-0"), Batches.SmallConfig(segmentBytes: 1500, indexInterval: 100));
        for (int i = 0; i < 50; i++)
        {
            log.AppendAsLeader(Batches.Make(4, 1000 + (i * 10), padding: 20), i / 10);
        }

        // Batch i holds timestamps 1000+10i .. 1000+10i+3 at offsets 4i..4i+3.
        Assert.Equal(new TimestampAndOffset(1000, 0, 0), log.FetchOffsetByTimestamp(0));
        Assert.Equal(new TimestampAndOffset(1252, 102, 2), log.FetchOffsetByTimestamp(1252));
        Assert.Equal(new TimestampAndOffset(1260, 104, 2), log.FetchOffsetByTimestamp(1254));
        Assert.Null(log.FetchOffsetByTimestamp(5000));
        Assert.Equal(200, log.FetchOffsetByTimestamp(UnifiedLog.LatestTimestamp)!.Value.Offset);
        Assert.Equal(0, log.FetchOffsetByTimestamp(UnifiedLog.EarliestTimestamp)!.Value.Offset);
        Assert.Equal(new TimestampAndOffset(1493, 199, 4), log.FetchOffsetByTimestamp(UnifiedLog.MaxTimestamp));
    }

    [Fact]
    public void Truncate_to_removes_the_tail_and_later_segments_and_epochs()
    {
        using var dir = new TempDir();
        using var log = UnifiedLog.Open(dir.Sub("t-0"), Batches.SmallConfig(segmentBytes: 1200));
        for (int i = 0; i < 30; i++)
        {
            log.AppendAsLeader(Batches.Make(2, 1000 + i, $"{i}", padding: 30), i < 15 ? 1 : 2);
        }

        int before = log.NumberOfSegments;
        Assert.True(log.TruncateTo(20));
        Assert.Equal(20, log.LogEndOffset);
        Assert.True(log.NumberOfSegments < before);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i), Batches.ReadAll(log).Select(r => r.Offset));
        Assert.Equal([new EpochEntry(1, 0)], log.LeaderEpochCache.Epochs);
        Assert.False(log.TruncateTo(25));

        var info = log.AppendAsLeader(Batches.Make(2, 5000, "new"), 3);
        Assert.Equal(20, info.FirstOffset);
        Assert.Equal(["vnew-0", "vnew-1"], Batches.ReadAll(log, 20).Select(r => Batches.Text(r.Value)));

        log.TruncateFullyAndStartAt(100);
        Assert.Equal((100L, 100L, 1), (log.LogStartOffset, log.LogEndOffset, log.NumberOfSegments));
        Assert.Throws<OffsetOutOfRangeException>(() => log.Read(20, 100));
        Assert.Equal(100, log.AppendAsLeader(Batches.Make(1, 1), 4).FirstOffset);
    }

    [Fact]
    public void Follower_append_keeps_offsets_and_epochs()
    {
        using var dir = new TempDir();
        using var leader = UnifiedLog.Open(dir.Sub("leader-0"), Batches.SmallConfig());
        using var follower = UnifiedLog.Open(dir.Sub("follower-0"), Batches.SmallConfig());
        leader.AppendAsLeader(Batches.Make(3, 1), 1);
        leader.AppendAsLeader(Batches.Make(3, 1), 2);
        var fetched = leader.Read(0, 1 << 20).Records.ToArray();
        var info = follower.AppendAsFollower(fetched);
        Assert.Equal((0L, 5L), (info.FirstOffset, info.LastOffset));
        Assert.Equal(leader.LeaderEpochCache.Epochs, follower.LeaderEpochCache.Epochs);
        Assert.Throws<InvalidOffsetException>(() => follower.AppendAsFollower(fetched));
    }

    [Fact]
    public async Task Retention_deletes_whole_inactive_segments_by_time_size_and_log_start_offset()
    {
        using var dir = new TempDir();
        var time = new ManualTime(1_000_000);
        var config = Batches.SmallConfig(segmentBytes: 1000) with { RetentionMs = 10_000 };
        using var log = UnifiedLog.Open(dir.Sub("t-0"), config, new UnifiedLogOptions { TimeProvider = time });
        for (int i = 0; i < 20; i++)
        {
            log.AppendAsLeader(Batches.Make(2, i < 10 ? 900_000 : 999_000, $"{i}", padding: 30), 0);
        }

        log.UpdateHighWatermark(log.LogEndOffset);
        int segments = log.NumberOfSegments;
        int deleted = log.DeleteOldSegments();
        Assert.True(deleted > 0);
        Assert.Equal(segments - deleted, log.NumberOfSegments);
        Assert.True(log.LogStartOffset > 0 && log.LogStartOffset <= 20, $"log start {log.LogStartOffset}");
        Assert.True(log.Segments[0].MaxTimestampSoFar >= 990_000, "the first kept segment has a record within retention");
        Assert.Equal(log.Segments[0].BaseOffset, log.LogStartOffset);
        Assert.Throws<OffsetOutOfRangeException>(() => log.Read(0, 100));
        await log.WaitForBackgroundWorkAsync();
        Assert.Empty(Directory.GetFiles(log.Dir, "*.deleted"));
        Assert.Equal(Directory.GetFiles(log.Dir, "*.log").Length, log.NumberOfSegments);

        // Size: keep at most ~2 segments' worth; the active segment is never deleted.
        log.UpdateConfig(config with { RetentionMs = -1, RetentionBytes = 1500 });
        log.DeleteOldSegments();
        Assert.True(log.NumberOfSegments == 1 || log.Size - log.Segments[0].Size < 1500, $"size {log.Size}");
        Assert.True(log.Size >= 1500 || log.NumberOfSegments <= 2);

        // DeleteRecords: move the log start offset, then retention drops what is wholly below.
        long target = log.Segments[^1].BaseOffset;
        Assert.Throws<OffsetOutOfRangeException>(() => log.MaybeIncrementLogStartOffset(log.LogEndOffset + 1));
        Assert.True(log.MaybeIncrementLogStartOffset(target));
        Assert.Equal(target, log.LogStartOffset);
        log.DeleteOldSegments();
        Assert.Equal(1, log.NumberOfSegments);
        Assert.Throws<OffsetOutOfRangeException>(() => log.Read(target - 1, 100));
    }

    [Fact]
    public async Task Read_returns_a_file_range_of_the_segment_file()
    {
        using var dir = new TempDir();
        using var log = UnifiedLog.Open(dir.Sub("t-0"), Batches.SmallConfig(segmentBytes: 1 << 20));
        log.AppendAsLeader(Batches.Make(2, 1), 0);
        var second = Batches.Make(2, 2);
        log.AppendAsLeader(second, 0);
        var read = log.Read(2, 1 << 20);
        Assert.NotNull(read.Records.Handle);
        Assert.EndsWith("00000000000000000000.log", read.Records.FilePath, StringComparison.Ordinal);
        var fileBytes = File.ReadAllBytes(read.Records.FilePath);
        Assert.Equal(second, fileBytes.AsSpan((int)read.Records.Position, read.Records.Length).ToArray());
        var buffer = new byte[read.Records.Length];
        Assert.Equal(second.Length, await read.Records.ReadAsync(buffer));
        Assert.Equal(second, buffer);
    }
}
