namespace Aspire.Kafka.Storage.Tests;

public sealed class MoreLogTests
{
    [Fact]
    public void A_full_index_rolls_the_segment()
    {
        using var dir = new TempDir();
        var config = Batches.SmallConfig(segmentBytes: 1 << 20, indexInterval: 0) with { MaxIndexSize = 80 };
        using var log = UnifiedLog.Open(dir.Sub("t-0"), config);
        for (int i = 0; i < 30; i++)
        {
            log.AppendAsLeader(Batches.Make(1, 1000 + i), 0);
        }

        Assert.True(log.NumberOfSegments >= 5, $"{log.NumberOfSegments} segments");
        foreach (var segment in log.Segments)
        {
            Assert.True(segment.TimeIndex.Entries <= 6 && segment.OffsetIndex.Entries <= 10);
        }

        Assert.Equal(30, Batches.ReadAll(log).Count);
        Assert.Equal(new TimestampAndOffset(1017, 17, 0), log.FetchOffsetByTimestamp(1017));
    }

    [Fact]
    public void Flush_interval_messages_moves_the_recovery_point()
    {
        using var dir = new TempDir();
        using var log = UnifiedLog.Open(dir.Sub("t-0"), Batches.SmallConfig() with { FlushIntervalMessages = 5 });
        log.AppendAsLeader(Batches.Make(3, 1), 0);
        Assert.Equal(0, log.RecoveryPoint);
        log.AppendAsLeader(Batches.Make(3, 1), 0);
        Assert.Equal(6, log.RecoveryPoint);
        Assert.Equal(0, log.UnflushedMessages);
    }

    [Fact]
    public async Task Log_manager_cleans_the_filthiest_compacted_log_and_checkpoints_its_dirty_offset()
    {
        using var dir = new TempDir();
        var config = new LogManagerConfig
        {
            LogDirs = [dir.Sub("d")],
            DefaultLogConfig = Batches.SmallConfig(segmentBytes: 1000) with { CleanupPolicy = CleanupPolicy.Compact, DeleteRetentionMs = 0 },
        };
        await using var manager = new LogManager(config);
        await manager.StartupAsync();
        var log = manager.GetOrCreateLog(new TopicPartition("__consumer_offsets", 7));
        for (int i = 0; i < 40; i++)
        {
            log.AppendAsLeader(Batches.Make(2, 1000 + i, $"{i}", key: j => $"group-{j}"), 0);
        }

        log.Roll();
        log.UpdateHighWatermark(log.LogEndOffset);
        var stats = manager.CleanFilthiestLog();
        Assert.NotNull(stats);
        Assert.Equal(log.ActiveSegment.BaseOffset, stats.FirstUncleanableOffset);
        Assert.Null(manager.CleanFilthiestLog());
        var checkpoint = new OffsetCheckpointFile(Path.Combine(config.LogDirs[0], "cleaner-offset-checkpoint")).Read();
        Assert.Equal(stats.FirstUncleanableOffset, checkpoint[new TopicPartition("__consumer_offsets", 7)]);
        var records = Batches.ReadAll(log);
        Assert.Equal(["group-0", "group-1"], records.Select(r => Batches.Text(r.Key)).Order());
        Assert.Equal([78L, 79L], records.Select(r => r.Offset));
    }
}
