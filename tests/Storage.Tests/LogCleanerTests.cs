namespace Aspire.Kafka.Storage.Tests;

public sealed class LogCleanerTests
{
    [Fact]
    public async Task Compaction_keeps_the_newest_value_per_key_and_drops_tombstones_after_delete_retention()
    {
        using var dir = new TempDir();
        var time = new ManualTime(10_000_000);
        var config = Batches.SmallConfig(segmentBytes: 1500, indexInterval: 200) with
        {
            CleanupPolicy = CleanupPolicy.Compact,
            DeleteRetentionMs = 60_000,
            MinCleanableDirtyRatio = 0.1,
        };
        var logger = new ListLogger();
        using var log = UnifiedLog.Open(dir.Sub("compacted-0"), config, new UnifiedLogOptions { TimeProvider = time, Logger = logger });

        // 10 keys, 30 rounds of values (batches mix keys), then tombstones for k3 and k7.
        var latest = new Dictionary<string, (long Offset, string? Value)>();
        for (int round = 0; round < 30; round++)
        {
            var batch = Batches.Make(5, time.NowMs, $"{round}", key: i => $"k{((round * 5) + i) % 10}",
                value: i => $"value-{round}-{i}");
            var info = log.AppendAsLeader(batch, 0);
            for (int i = 0; i < 5; i++)
            {
                latest[$"k{((round * 5) + i) % 10}"] = (info.FirstOffset + i, $"value-{round}-{i}");
            }
        }

        var tombstones = log.AppendAsLeader(Batches.Make(2, time.NowMs, "t", key: i => i == 0 ? "k3" : "k7", value: _ => null), 0);
        latest["k3"] = (tombstones.FirstOffset, null);
        latest["k7"] = (tombstones.FirstOffset + 1, null);
        log.Roll();
        var active = log.AppendAsLeader(Batches.Make(1, time.NowMs, "active", key: _ => "k1", value: _ => "in-active-segment"), 0);
        log.UpdateHighWatermark(log.LogEndOffset);
        var activeBytes = File.ReadAllBytes(log.ActiveSegment.LogFilePath);
        long sizeBefore = log.Size;

        var cleaner = new LogCleaner(time, logger);
        Assert.True(cleaner.NeedsCleaning(log, 0));
        var stats = cleaner.Clean(log, 0);
        Assert.NotNull(stats);
        Assert.Equal(log.ActiveSegment.BaseOffset, stats.FirstUncleanableOffset);
        Assert.True(log.Size < sizeBefore);

        var records = Batches.ReadAll(log);
        var inactive = records.Where(r => r.Offset < active.FirstOffset).ToList();
        Assert.Equal(10, inactive.Count); // one per key, tombstones still there (within delete.retention.ms)
        foreach (var r in inactive)
        {
            var expected = latest[Batches.Text(r.Key)];
            Assert.Equal(expected.Offset, r.Offset); // offsets unchanged
            Assert.Equal(expected.Value ?? "<null>", Batches.Text(r.Value));
        }

        Assert.Equal(activeBytes, File.ReadAllBytes(log.ActiveSegment.LogFilePath)); // active segment untouched
        Assert.Equal(active.FirstOffset, records[^1].Offset);
        Assert.Equal(active.FirstOffset + 1, log.LogEndOffset);

        // Later: more writes, and delete.retention.ms has passed: the tombstones go, the keys disappear.
        time.NowMs += 120_000;
        log.AppendAsLeader(Batches.Make(1, time.NowMs, "late", key: _ => "k1", value: _ => "newest-k1"), 0);
        log.Roll();
        log.AppendAsLeader(Batches.Make(1, time.NowMs, "tail", key: _ => "k2", value: _ => "tail"), 0);
        log.UpdateHighWatermark(log.LogEndOffset);
        Assert.NotNull(cleaner.Clean(log, stats.FirstUncleanableOffset));
        var after = Batches.ReadAll(log).Where(r => r.Offset < log.ActiveSegment.BaseOffset).ToList();
        var keys = after.Select(r => Batches.Text(r.Key)).ToList();
        Assert.DoesNotContain("k3", keys);
        Assert.DoesNotContain("k7", keys);
        Assert.Equal(keys.Distinct().Count(), keys.Count);
        Assert.Equal("newest-k1", Batches.Text(after.Single(r => Batches.Text(r.Key) == "k1").Value));
        Assert.Equal(8, keys.Count);

        // The swap left only live files behind.
        await log.WaitForBackgroundWorkAsync();
        Assert.Empty(Directory.GetFiles(log.Dir, "*.cleaned"));
        Assert.Empty(Directory.GetFiles(log.Dir, "*.swap"));
        Assert.Empty(Directory.GetFiles(log.Dir, "*.deleted"));
    }

    [Fact]
    public void A_log_below_the_dirty_ratio_or_with_delete_policy_is_not_cleaned()
    {
        using var dir = new TempDir();
        using var log = UnifiedLog.Open(dir.Sub("plain-0"), Batches.SmallConfig(segmentBytes: 1000));
        for (int i = 0; i < 20; i++)
        {
            log.AppendAsLeader(Batches.Make(3, 1, $"{i}", key: _ => "same"), 0);
        }

        log.UpdateHighWatermark(log.LogEndOffset);
        var cleaner = new LogCleaner();
        Assert.False(cleaner.NeedsCleaning(log, 0));
        log.UpdateConfig(log.Config with { CleanupPolicy = CleanupPolicy.Compact, MinCleanableDirtyRatio = 0.99 });
        long firstUncleanable = cleaner.FirstUncleanableOffset(log);
        Assert.True(cleaner.NeedsCleaning(log, 0));
        Assert.False(cleaner.NeedsCleaning(log, firstUncleanable - 1));
    }
}
