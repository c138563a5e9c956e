using Aspire.Kafka.Config;
using Aspire.Kafka.Records;
using Aspire.Kafka.ServiceDefaults.Configuration;

namespace Aspire.Kafka.Mirror.Tests;

public sealed class MirrorUnitTests
{
    private static byte[] Batch(long baseOffset, int records, long timestamp = 1000)
    {
        using var builder = new RecordBatchBuilder(CompressionType.None, baseOffset);
        for (int i = 0; i < records; i++)
        {
            builder.Append(timestamp + i, new byte[] { (byte)i }, new byte[] { (byte)i });
        }

        return builder.Build();
    }

    [Fact]
    public void A_fetch_is_cut_to_the_whole_batches_from_the_position_the_target_reached()
    {
        byte[] fetched = [.. Batch(0, 3), .. Batch(3, 2, 5000), .. Batch(5, 4)];
        var partial = fetched.AsMemory(0, fetched.Length - 10); // the fetch ended inside the last batch

        (ReadOnlyMemory<byte> batches, int records, long first) = SourceFetcher.WholeBatchesFrom(partial, 4);

        Assert.Equal(Batch(3, 2, 5000), batches.ToArray()); // the batch holding offset 4, whole; the partial one left for the next fetch
        Assert.Equal(2, records);
        Assert.Equal(5000, first);
        Assert.Equal(0, SourceFetcher.WholeBatchesFrom(fetched, 9).Records);
        Assert.Equal(9, SourceFetcher.WholeBatchesFrom(fetched, 0).Records);
    }

    [Fact]
    public void Topic_and_group_filters_match_whole_names_with_MirrorMaker_2_s_defaults()
    {
        MirrorSettings settings = MirrorConfig.ToSettings(KafkaConfigLoader.Load(MirrorConfig.Definition,
            ["--override", "source.bootstrap.servers=a:1", "--override", "target.bootstrap.servers=b:1"], new System.Collections.Hashtable()));

        Assert.True(settings.Topics.Matches("orders"));
        Assert.False(settings.Topics.Matches("__consumer_offsets"));
        Assert.False(settings.Topics.Matches("app-internal"));
        Assert.False(settings.Topics.Matches("mm2.replica"));
        Assert.True(settings.Groups.Matches("billing"));
        Assert.False(settings.Groups.Matches("console-consumer-123"));
        Assert.Equal(TimeSpan.FromSeconds(1), settings.ConsumerOffsetSyncInterval);
        Assert.True(new NameFilter(["ord.*"], []).Matches("orders"));
        Assert.False(new NameFilter(["ord"], []).Matches("orders")); // whole names, not substrings
    }

    [Fact]
    public void Bad_configuration_is_one_clear_sentence()
    {
        var unknown = Assert.Throws<ConfigException>(() => KafkaConfigLoader.Load(MirrorConfig.Definition,
            ["--override", "source.bootstrap.servers=a:1", "--override", "target.bootstrap.servers=b:1", "--override", "topics.regex=x"], new System.Collections.Hashtable()));
        Assert.Contains("Unknown configuration topics.regex", unknown.Message, StringComparison.Ordinal);

        var regex = Assert.Throws<ConfigException>(() => KafkaConfigLoader.Load(MirrorConfig.Definition,
            ["--override", "source.bootstrap.servers=a:1", "--override", "target.bootstrap.servers=b:1", "--override", "topics=(("], new System.Collections.Hashtable()));
        Assert.Contains("is not a regular expression", regex.Message, StringComparison.Ordinal);

        var same = Assert.Throws<InvalidOperationException>(() => MirrorConfig.ToSettings(KafkaConfigLoader.Load(MirrorConfig.Definition,
            ["--override", "source.bootstrap.servers=a:1", "--override", "target.bootstrap.servers=b:1", "--override", "target.cluster.alias=source"], new System.Collections.Hashtable())));
        Assert.Equal("source.cluster.alias and target.cluster.alias are both 'source': the two clusters need different names.", same.Message);

        var missing = Assert.ThrowsAny<ConfigException>(() => KafkaConfigLoader.Load(MirrorConfig.Definition, ["--override", "source.bootstrap.servers=a:1"], new System.Collections.Hashtable()));
        Assert.Contains("target.bootstrap.servers", missing.Message, StringComparison.Ordinal);
    }
}
