namespace Aspire.Kafka.Storage.Tests;

public sealed class LogManagerTests
{
    [Fact]
    public async Task Startup_and_clean_shutdown_write_kafkas_files_and_skip_recovery()
    {
        using var dir = new TempDir();
        var config = new LogManagerConfig
        {
            LogDirs = [dir.Sub("d1"), dir.Sub("d2")],
            DefaultLogConfig = Batches.SmallConfig(segmentBytes: 2000),
            NodeId = 1,
            ClusterId = "cluster-a",
        };

        var manager = new LogManager(config);
        await manager.StartupAsync();
        var topicId = Aspire.Kafka.Protocol.KafkaUuid.NewRandom();
        var logs = Enumerable.Range(0, 4).Select(p => manager.GetOrCreateLog(new TopicPartition("orders", p), topicId: topicId)).ToList();
        Assert.Equal(2, logs.Count(l => l.Dir.StartsWith(dir.Sub("d1"), StringComparison.Ordinal)));
        foreach (var log in logs)
        {
            for (int i = 0; i < 30; i++)
            {
                log.AppendAsLeader(Batches.Make(2, 1000 + i, padding: 30), 0);
            }
        }

        await manager.ShutdownAsync();
        foreach (var d in config.LogDirs)
        {
            Assert.True(File.Exists(Path.Combine(d, ".kafka_cleanshutdown")));
            Assert.Equal("cluster-a", MetaProperties.Read(d)!.ClusterId);
            var points = new OffsetCheckpointFile(Path.Combine(d, "recovery-point-offset-checkpoint")).Read();
            Assert.Equal(2, points.Count);
            Assert.All(points.Values, v => Assert.Equal(60, v));
            Assert.True(File.Exists(Path.Combine(d, "log-start-offset-checkpoint")));
        }

        Assert.Equal(topicId, PartitionMetadataFile.Read(logs[0].Dir));

        var again = new LogManager(config);
        await again.StartupAsync();
        Assert.All(again.HadCleanShutdown.Values, Assert.True);
        Assert.False(File.Exists(Path.Combine(config.LogDirs[0], ".kafka_cleanshutdown")));
        Assert.Equal(4, again.AllLogs.Count);
        Assert.All(again.AllLogs, l => Assert.Equal((60L, 0), (l.LogEndOffset, l.LoadResult.SegmentsRecovered)));
        Assert.Equal(topicId, again.GetLog(new TopicPartition("orders", 2))!.TopicId);

        await again.DeleteLogAsync(new TopicPartition("orders", 0));
        Assert.Null(again.GetLog(new TopicPartition("orders", 0)));
        Assert.False(Directory.Exists(logs[0].Dir));
        await again.ShutdownAsync();
    }

    [Fact]
    public async Task Background_jobs_apply_retention_and_write_checkpoints()
    {
        using var dir = new TempDir();
        var config = new LogManagerConfig
        {
            LogDirs = [dir.Sub("d")],
            DefaultLogConfig = Batches.SmallConfig(segmentBytes: 1000) with { RetentionMs = 60_000, FlushMs = 10 },
            RetentionCheckIntervalMs = 20,
            FlushSchedulerIntervalMs = 20,
            FlushRecoveryOffsetCheckpointIntervalMs = 20,
            FlushStartOffsetCheckpointIntervalMs = 20,
        };

        await using var manager = new LogManager(config);
        await manager.StartupAsync();
        var log = manager.GetOrCreateLog(new TopicPartition("old", 0));
        for (int i = 0; i < 30; i++)
        {
            log.AppendAsLeader(Batches.Make(2, 1000 + i, padding: 30), 0); // timestamps from 1970: past retention
        }

        Assert.True(log.NumberOfSegments > 2);
        log.UpdateHighWatermark(log.LogEndOffset);
        manager.StartBackgroundJobs();
        string checkpoint = Path.Combine(config.LogDirs[0], "log-start-offset-checkpoint");
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!(log.NumberOfSegments == 1
            && log.RecoveryPoint == log.LogEndOffset
            && new OffsetCheckpointFile(checkpoint).Read().GetValueOrDefault(new TopicPartition("old", 0)) == log.LogStartOffset))
        {
            Assert.True(DateTime.UtcNow < deadline, $"retention/flush/checkpoint jobs did not run: {log.NumberOfSegments} segments, recovery point {log.RecoveryPoint}");
            await Task.Delay(10);
        }

        Assert.Equal(log.ActiveSegment.BaseOffset, log.LogStartOffset);
    }
}
