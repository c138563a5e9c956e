using Aspire.Kafka.Protocol;

namespace Aspire.Kafka.Storage.Tests;

public sealed class CheckpointTests
{
    [Fact]
    public void Offset_checkpoint_uses_kafkas_text_format()
    {
        using var dir = new TempDir();
        var file = new OffsetCheckpointFile(dir.Sub(OffsetCheckpointFile.RecoveryPointFileName));
        file.Write(new Dictionary<TopicPartition, long> { [new("orders", 1)] = 42, [new("orders", 0)] = 7, [new("a-b", 3)] = 0 });
        Assert.Equal("0\n3\na-b 3 0\norders 0 7\norders 1 42\n", File.ReadAllText(file.Path));
        var read = file.Read();
        Assert.Equal(42, read[new("orders", 1)]);
        Assert.Equal(3, read.Count);
        Assert.Empty(new OffsetCheckpointFile(dir.Sub("missing")).Read());
    }

    [Fact]
    public void Malformed_checkpoint_says_what_is_wrong()
    {
        using var dir = new TempDir();
        string path = dir.Sub("cp");
        File.WriteAllText(path, "0\n2\nt 0 5\n");
        var e = Assert.Throws<IOException>(() => new OffsetCheckpointFile(path).Read());
        Assert.Contains("expected 2 entries", e.Message, StringComparison.Ordinal);
        File.WriteAllText(path, "1\n0\n");
        Assert.Throws<IOException>(() => new OffsetCheckpointFile(path).Read());
    }

    [Fact]
    public void Partition_metadata_and_meta_properties_round_trip()
    {
        using var dir = new TempDir();
        var id = KafkaUuid.NewRandom();
        PartitionMetadataFile.Write(dir.Path, id);
        Assert.Equal($"version: 0\ntopic_id: {id}\n", File.ReadAllText(dir.Sub("partition.metadata")));
        Assert.Equal(id, PartitionMetadataFile.Read(dir.Path));

        var meta = new MetaProperties(1, "MkU3OEVBNTcwNTJENDM2Qk", 3, KafkaUuid.NewRandom());
        meta.Write(dir.Path);
        string text = File.ReadAllText(dir.Sub("meta.properties"));
        Assert.Contains("node.id=3\n", text, StringComparison.Ordinal);
        Assert.Contains("version=1\n", text, StringComparison.Ordinal);
        Assert.Equal(meta, MetaProperties.Read(dir.Path));
    }

    [Fact]
    public void Leader_epoch_cache_persists_and_answers_end_offsets()
    {
        using var dir = new TempDir();
        string path = dir.Sub(LeaderEpochCheckpointFile.FileName);
        var cache = new LeaderEpochFileCache(path);
        cache.Assign(1, 0);
        cache.Assign(1, 5); // same epoch: ignored
        cache.Assign(3, 10);
        cache.Assign(4, 20);
        Assert.Equal("0\n3\n1 0\n3 10\n4 20\n", File.ReadAllText(path));
        Assert.Equal((4, 30L), cache.EndOffsetFor(4, 30));
        Assert.Equal((1, 10L), cache.EndOffsetFor(2, 30));
        Assert.Equal((3, 20L), cache.EndOffsetFor(3, 30));
        Assert.Equal((0, 0L), cache.EndOffsetFor(0, 30));
        Assert.Equal((-1, -1L), cache.EndOffsetFor(7, 30));
        Assert.Equal(3, cache.EpochForOffset(15));

        cache.TruncateFromEnd(15);
        Assert.Equal([new EpochEntry(1, 0), new EpochEntry(3, 10)], cache.Epochs);
        cache.TruncateFromStart(12);
        Assert.Equal([new EpochEntry(3, 12)], cache.Epochs);
        Assert.Equal([new EpochEntry(3, 12)], new LeaderEpochFileCache(path).Epochs);
    }

    [Fact]
    public void Log_config_maps_kafka_keys_with_kafka_precedence()
    {
        var defaults = new LogConfig();
        Assert.Equal(1024 * 1024 * 1024, defaults.SegmentBytes);
        Assert.Equal(4096, defaults.IndexIntervalBytes);
        Assert.Equal(10 * 1024 * 1024, defaults.MaxIndexSize);
        Assert.Equal(168L * 3_600_000, defaults.RetentionMs);

        var c = LogConfig.FromProperties(new Dictionary<string, string>
        {
            ["log.retention.hours"] = "1",
            ["log.retention.minutes"] = "2",
            ["log.roll.hours"] = "3",
            ["log.segment.bytes"] = "1048576",
            ["log.cleanup.policy"] = "compact,delete",
            ["message.timestamp.type"] = "LogAppendTime",
            ["retention.bytes"] = "5000",
        });
        Assert.Equal(120_000, c.RetentionMs);
        Assert.Equal(3 * 3_600_000L, c.SegmentMs);
        Assert.Equal(1048576, c.SegmentBytes);
        Assert.True(c.Compact && c.Delete);
        Assert.Equal(MessageTimestampType.LogAppendTime, c.MessageTimestampType);
        Assert.Equal(5000, c.RetentionBytes);
        Assert.Equal(-1, LogConfig.FromProperties(new Dictionary<string, string> { ["retention.ms"] = "-1" }).RetentionMs);
        Assert.Throws<ArgumentException>(() => LogConfig.FromProperties(new Dictionary<string, string> { ["cleanup.policy"] = "forever" }));
        Assert.Throws<ArgumentException>(() => LogConfig.FromProperties(new Dictionary<string, string> { ["log.fancy"] = "1" }, rejectUnknown: true));
    }
}
