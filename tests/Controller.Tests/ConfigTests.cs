using Aspire.Kafka.Config;
using Aspire.Kafka.Metadata;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Controller.Tests;

public sealed class ConfigTests
{
    private static ControllerHarness Setup(Dictionary<string, string>? staticConfigs = null)
    {
        var h = new ControllerHarness(new QuorumControllerConfig { StaticConfigs = staticConfigs ?? [] });
        h.Start(1);
        h.CreateTopic("t", 1, 1, ("cleanup.policy", "delete"));
        return h;
    }

    private static IncrementalAlterConfigsResponse.AlterConfigsResourceResponse Incremental(ControllerHarness h, sbyte type, string name, params (string Key, AlterConfigOp Op, string? Value)[] ops)
    {
        var request = new IncrementalAlterConfigsRequest
        {
            Resources =
            [
                new IncrementalAlterConfigsRequest.AlterConfigsResource
                {
                    ResourceType = type,
                    ResourceName = name,
                    Configs = [.. ops.Select(o => new IncrementalAlterConfigsRequest.AlterableConfig { Name = o.Key, ConfigOperation = (sbyte)o.Op, Value = o.Value })],
                },
            ],
        };
        return h.Commit(h.Controller.IncrementalAlterConfigs(request, h.NowMs)).Responses[0];
    }

    private static DescribeConfigsResponse.DescribeConfigsResult Describe(ControllerHarness h, sbyte type, string name, bool synonyms = false, params string[] keys) =>
        h.Commit(h.Controller.DescribeConfigs(new DescribeConfigsRequest
        {
            IncludeSynonyms = synonyms,
            Resources = [new DescribeConfigsRequest.DescribeConfigsResource { ResourceType = type, ResourceName = name, ConfigurationKeys = keys.Length == 0 ? null : [.. keys] }],
        }, h.NowMs)).Results[0];

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void DescribeConfigs_responses_encode_at_the_request_version(short version)
    {
        var h = Setup();
        var request = new DescribeConfigsRequest
        {
            IncludeSynonyms = version >= 1,
            Resources = [new DescribeConfigsRequest.DescribeConfigsResource { ResourceType = 2, ResourceName = "t", ConfigurationKeys = null }],
        };
        DescribeConfigsResponse response = h.Commit(h.Controller.DescribeConfigs(request, h.NowMs, version));
        using var writer = new Aspire.Kafka.Protocol.KafkaWriter();
        response.Write(writer, version);
        Assert.True(writer.ToArray().Length > 0);
        var byName = response.Results[0].Configs.ToDictionary(c => c.Name);
        Assert.Equal(version == 0, byName["compression.type"].IsDefault);
        Assert.False(byName["cleanup.policy"].IsDefault);
    }

    [Fact]
    public void IncrementalSetDeleteAppendSubtract()
    {
        var h = Setup();
        ConfigResource topic = ConfigResource.Topic("t");
        Assert.Equal(Errors.None, Incremental(h, 2, "t", ("retention.ms", AlterConfigOp.Set, "1000")).ErrorCode);
        Assert.Equal("1000", h.Image.Configs.Get(topic, "retention.ms"));

        Assert.Equal(Errors.None, Incremental(h, 2, "t", ("cleanup.policy", AlterConfigOp.Append, "compact")).ErrorCode);
        Assert.Equal("delete,compact", h.Image.Configs.Get(topic, "cleanup.policy"));
        Assert.Equal(Errors.None, Incremental(h, 2, "t", ("cleanup.policy", AlterConfigOp.Subtract, "delete")).ErrorCode);
        Assert.Equal("compact", h.Image.Configs.Get(topic, "cleanup.policy"));

        Assert.Equal(Errors.None, Incremental(h, 2, "t", ("retention.ms", AlterConfigOp.Delete, null)).ErrorCode);
        Assert.Null(h.Image.Configs.Get(topic, "retention.ms"));

        IncrementalAlterConfigsResponse.AlterConfigsResourceResponse notList = Incremental(h, 2, "t", ("retention.ms", AlterConfigOp.Append, "5"));
        Assert.Equal(Errors.InvalidConfig, notList.ErrorCode);
        Assert.Equal("Can't APPEND to key retention.ms because its type is not LIST.", notList.ErrorMessage);

        Assert.Equal(Errors.InvalidConfig, Incremental(h, 2, "t", ("retention.ms", AlterConfigOp.Set, "x")).ErrorCode);
        Assert.Equal(Errors.InvalidConfig, Incremental(h, 2, "t", ("bogus", AlterConfigOp.Set, "1")).ErrorCode);
        Assert.Equal(Errors.UnknownTopicOrPartition, Incremental(h, 2, "nope", ("retention.ms", AlterConfigOp.Set, "1")).ErrorCode);
        Assert.Equal(Errors.InvalidRequest, Incremental(h, 2, "t", ("retention.ms", AlterConfigOp.Set, "1"), ("retention.ms", AlterConfigOp.Set, "2")).ErrorCode);
        h.AssertReplayReproducesState();
    }

    [Fact]
    public void Kafka_3_deprecated_format_keys_are_accepted_stored_and_described_but_bad_values_are_not()
    {
        var h = Setup();
        Assert.Equal(Errors.None, h.CreateTopic("old-client", 1, 1, ("message.format.version", "2.8"), ("message.downconversion.enable", "false")).ErrorCode);
        Assert.Equal("2.8", h.Image.Configs.Get(ConfigResource.Topic("old-client"), "message.format.version"));

        Assert.Equal(Errors.None, Incremental(h, 2, "t", ("message.format.version", AlterConfigOp.Set, "3.0-IV1")).ErrorCode);
        Assert.Equal(Errors.InvalidConfig, Incremental(h, 2, "t", ("message.format.version", AlterConfigOp.Set, "not-a-version")).ErrorCode);
        Assert.Equal(Errors.InvalidConfig, Incremental(h, 2, "t", ("message.downconversion.enable", AlterConfigOp.Set, "maybe")).ErrorCode);

        var described = Describe(h, 2, "t", false, "message.format.version", "message.downconversion.enable").Configs.ToDictionary(c => c.Name);
        Assert.Equal(("3.0-IV1", (sbyte)ConfigSource.DynamicTopicConfig), (described["message.format.version"].Value, described["message.format.version"].ConfigSource));
        Assert.Equal(("true", (sbyte)ConfigSource.DefaultConfig), (described["message.downconversion.enable"].Value, described["message.downconversion.enable"].ConfigSource));
        Assert.NotNull(TopicConfigs.All["message.format.version"].NoEffectReason);

        // Kafka 4.0 removed them, and anything Kafka never knew stays refused.
        Assert.Equal(Errors.InvalidConfig, Incremental(h, 2, "t", ("message.format.versions", AlterConfigOp.Set, "2.8")).ErrorCode);
        h.AssertReplayReproducesState();
    }

    [Fact]
    public void ValidateOnlyWritesNothing()
    {
        var h = Setup();
        ControllerResult<IncrementalAlterConfigsResponse> result = h.Controller.IncrementalAlterConfigs(new IncrementalAlterConfigsRequest
        {
            ValidateOnly = true,
            Resources = [new IncrementalAlterConfigsRequest.AlterConfigsResource { ResourceType = 2, ResourceName = "t", Configs = [new IncrementalAlterConfigsRequest.AlterableConfig { Name = "retention.ms", Value = "1" }] }],
        }, h.NowMs);
        Assert.Equal(Errors.None, result.Response.Responses[0].ErrorCode);
        Assert.Empty(result.Records);
    }

    [Fact]
    public void LegacyAlterConfigsReplacesEverything()
    {
        var h = Setup();
        Incremental(h, 2, "t", ("retention.ms", AlterConfigOp.Set, "1000"));
        AlterConfigsResponse response = h.Commit(h.Controller.LegacyAlterConfigs(new AlterConfigsRequest
        {
            Resources = [new AlterConfigsRequest.AlterConfigsResource { ResourceType = 2, ResourceName = "t", Configs = [new AlterConfigsRequest.AlterableConfig { Name = "segment.ms", Value = "60000" }] }],
        }, h.NowMs));
        Assert.Equal(Errors.None, response.Responses[0].ErrorCode);
        Assert.Equal(["segment.ms"], h.Image.Configs.ConfigMap(ConfigResource.Topic("t")).Keys);
        h.AssertReplayReproducesState();
    }

    [Fact]
    public void DescribeReportsValuesAndSources()
    {
        var h = Setup(new Dictionary<string, string> { ["log.retention.hours"] = "24", ["log.segment.bytes"] = "1048576" });
        Incremental(h, 4, "", ("log.cleaner.delete.retention.ms", AlterConfigOp.Set, "1000"));
        DescribeConfigsResponse.DescribeConfigsResult result = Describe(h, 2, "t");
        Assert.Equal(Errors.None, result.ErrorCode);
        var byName = result.Configs.ToDictionary(c => c.Name);
        Assert.Equal(TopicConfigs.All.Count, byName.Count);
        Assert.Equal(("delete", (sbyte)ConfigSource.DynamicTopicConfig), (byName["cleanup.policy"].Value, byName["cleanup.policy"].ConfigSource));
        Assert.Equal(("86400000", (sbyte)ConfigSource.StaticBrokerConfig), (byName["retention.ms"].Value, byName["retention.ms"].ConfigSource));
        Assert.Equal(("1048576", (sbyte)ConfigSource.StaticBrokerConfig), (byName["segment.bytes"].Value, byName["segment.bytes"].ConfigSource));
        Assert.Equal(("1000", (sbyte)ConfigSource.DynamicDefaultBrokerConfig), (byName["delete.retention.ms"].Value, byName["delete.retention.ms"].ConfigSource));
        Assert.Equal(("producer", (sbyte)ConfigSource.DefaultConfig), (byName["compression.type"].Value, byName["compression.type"].ConfigSource));
        // IsDefault is a v0 field (v1+ carries ConfigSource): left false so the response encodes at v1+.
        Assert.False(byName["compression.type"].IsDefault);
        Assert.All(result.Configs, c => Assert.Empty(c.Synonyms));
        Assert.Equal((sbyte)ConfigType.Long, byName["retention.ms"].ConfigType);

        DescribeConfigsResponse.DescribeConfigsResult withSynonyms = Describe(h, 2, "t", synonyms: true, "retention.ms");
        DescribeConfigsResponse.DescribeConfigsResourceResult retention = Assert.Single(withSynonyms.Configs);
        Assert.Equal(["log.retention.hours", "retention.ms"], retention.Synonyms.Select(s => s.Name));
        Assert.Equal([(sbyte)ConfigSource.StaticBrokerConfig, (sbyte)ConfigSource.DefaultConfig], retention.Synonyms.Select(s => s.Source));

        Assert.Equal(Errors.UnknownTopicOrPartition, Describe(h, 2, "nope").ErrorCode);
    }

    [Fact]
    public void BrokerConfigs()
    {
        var h = Setup(new Dictionary<string, string> { ["num.partitions"] = "3" });
        Assert.Equal(Errors.None, Incremental(h, 4, "", ("min.insync.replicas", AlterConfigOp.Set, "2")).ErrorCode);
        Assert.Equal(Errors.None, Incremental(h, 4, "1", ("message.max.bytes", AlterConfigOp.Set, "2000000")).ErrorCode);
        IncrementalAlterConfigsResponse.AlterConfigsResourceResponse readOnly = Incremental(h, 4, "", ("num.partitions", AlterConfigOp.Set, "4"));
        Assert.Equal(Errors.InvalidConfig, readOnly.ErrorCode);
        Assert.Equal("Cannot update these configs dynamically: num.partitions", readOnly.ErrorMessage);
        Assert.Equal(Errors.InvalidRequest, Incremental(h, 4, "broker-one", ("min.insync.replicas", AlterConfigOp.Set, "2")).ErrorCode);

        var byName = Describe(h, 4, "1").Configs.ToDictionary(c => c.Name);
        Assert.Equal(("3", (sbyte)ConfigSource.StaticBrokerConfig, true), (byName["num.partitions"].Value, byName["num.partitions"].ConfigSource, byName["num.partitions"].ReadOnly));
        Assert.Equal(("2", (sbyte)ConfigSource.DynamicDefaultBrokerConfig), (byName["min.insync.replicas"].Value, byName["min.insync.replicas"].ConfigSource));
        Assert.Equal(("2000000", (sbyte)ConfigSource.DynamicBrokerConfig), (byName["message.max.bytes"].Value, byName["message.max.bytes"].ConfigSource));
        Assert.Equal(("true", (sbyte)ConfigSource.DefaultConfig), (byName["delete.topic.enable"].Value, byName["delete.topic.enable"].ConfigSource));

        // The cluster default resource lists only what is set dynamically.
        Assert.Equal(["min.insync.replicas"], Describe(h, 4, "").Configs.Select(c => c.Name));
        h.AssertReplayReproducesState();
    }

    [Fact]
    public void TopicConfigOverridesTheClusterUncleanSetting()
    {
        var h = new ControllerHarness(new QuorumControllerConfig { UncleanLeaderElectionEnable = false, StaticConfigs = new Dictionary<string, string> { ["unclean.leader.election.enable"] = "true" } });
        h.Start(1);
        h.CreateTopic("a", 1, 1);
        h.CreateTopic("b", 1, 1, ("unclean.leader.election.enable", "false"));
        Assert.True(h.Controller.Configs.UncleanLeaderElectionEnabled(h.Image, "a"));
        Assert.False(h.Controller.Configs.UncleanLeaderElectionEnabled(h.Image, "b"));
    }
}
