using System.Collections;
using Aspire.Kafka.Config;
using Aspire.Kafka.ServiceDefaults.Configuration;
using Aspire.Kafka.Tests.KafkaSample;

namespace Aspire.Kafka.Broker.Tests;

/// <summary>Kafka's own sample broker.properties starts our broker: every key is accepted, honored or documented as without effect.</summary>
public sealed class KafkaSampleConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kafka-sample-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ConfigDef Definition => ServiceDefaultsConfig.Create().Merge(BrokerConfig.Definition);

    private string Sample() => KafkaSampleFiles.Write("broker.properties", _dir, 2, "1@127.0.0.1:9093", "127.0.0.1:9092", Path.Combine(_dir, "logs"));

    [Fact]
    public void Every_key_of_the_sample_is_accepted_and_honored_or_documented_as_without_effect()
    {
        string file = Sample();
        KafkaConfig config = KafkaConfigLoader.Load(Definition, ["--config", file], new Hashtable());

        IReadOnlyList<string> keys = KafkaSampleFiles.Keys(file);
        Assert.True(keys.Count >= 24, $"the sample has {keys.Count} keys");
        foreach (string key in keys)
        {
            Assert.Equal(ServiceDefaults.Configuration.ConfigSource.File, config.SourceOf(key));
        }

        // Honored: the socket server, storage and topic defaults read what the file says.
        KafkaSocketServerOptions socket = KafkaSocketServerOptions.From(config);
        Assert.Equal(new KafkaSocketServerOptions(3, 8, 102400, 102400), socket);
        Assert.Equal(["broker"], config.GetList(ServerConfigs.ProcessRolesConfig));
        Assert.Equal(1, config.GetInt("num.recovery.threads.per.data.dir"));
        Assert.Equal(168, config.GetInt("log.retention.hours"));

        // Without effect here, each with its reason in the start-up log.
        string[] notes = [.. config.SettingsWithoutEffect()];
        Assert.Contains(notes, n => n.StartsWith("transaction.state.log.replication.factor is accepted but has no effect here: ", StringComparison.Ordinal));
        Assert.Contains(notes, n => n.StartsWith("transaction.state.log.min.isr is accepted but has no effect here: ", StringComparison.Ordinal));
        Assert.Contains(notes, n => n.StartsWith("share.coordinator.state.topic.min.isr is accepted but has no effect here: ", StringComparison.Ordinal));
        Assert.Contains(notes, n => n.StartsWith("offsets.topic.replication.factor is accepted but has no effect here: the controllers create __consumer_offsets", StringComparison.Ordinal));
        Assert.DoesNotContain(notes, n => n.StartsWith("num.io.threads", StringComparison.Ordinal));
    }

    [Fact]
    public void The_sample_s_storage_keys_reach_the_log_defaults()
    {
        string file = Sample();
        KafkaConfig config = KafkaConfigLoader.Load(Definition, ["--config", file, "--override", "log.retention.hours=1", "--override", "background.threads=2"], new Hashtable());
        var settings = BrokerSettings.From(config, Node.NodeSettings.From(config, Metadata.NodeRole.Broker, name => name == "CLUSTER_ID" ? "sample-cluster" : null));
        Assert.Equal(3_600_000L, settings.LogManager.DefaultLogConfig.RetentionMs);
        Assert.Equal(1073741824, settings.LogManager.DefaultLogConfig.SegmentBytes);
        Assert.Equal(300_000L, settings.LogManager.RetentionCheckIntervalMs);
        Assert.Equal(2, settings.LogManager.BackgroundThreads);
    }

    [Fact]
    public void Kafka_3_s_deprecated_log_message_format_version_starts_the_broker_and_is_logged_as_without_effect()
    {
        KafkaConfig config = KafkaConfigLoader.Load(Definition,
            ["--config", Sample(), "--override", "log.message.format.version=2.8", "--override", "log.message.downconversion.enable=false"], new Hashtable());

        string[] notes = [.. config.SettingsWithoutEffect()];
        Assert.Contains(notes, n => n.StartsWith("log.message.format.version is accepted but has no effect here: deprecated since Kafka 3.0", StringComparison.Ordinal));
        Assert.Contains(notes, n => n.StartsWith("log.message.downconversion.enable is accepted but has no effect here: nothing is ever down-converted", StringComparison.Ordinal));
        var e = Assert.Throws<ConfigException>(() => KafkaConfigLoader.Load(Definition, ["--config", Sample(), "--override", "log.message.format.version=x"], new Hashtable()));
        Assert.Contains("not a Kafka version", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_Kafka_does_not_know_is_still_a_clear_error()
    {
        string file = Sample();
        File.AppendAllText(file, "log.segment.bites=1024\n");
        var e = Assert.Throws<ConfigException>(() => KafkaConfigLoader.Load(Definition, ["--config", file], new Hashtable()));
        Assert.Equal($"Unknown configuration log.segment.bites (value 1024, from {file}): this service does not define it.", e.Message);
    }

    [Theory]
    [InlineData("controller", "Invalid value controller for configuration process.roles (from --override): this service runs the broker role only (process.roles=broker); the controller is services/controller.")]
    [InlineData("broker,controller", "Invalid value broker,controller for configuration process.roles (from --override): combined mode (process.roles=broker,controller) is not supported; run services/broker and services/controller as separate processes.")]
    public void Process_roles_must_be_broker(string roles, string message)
    {
        var e = Assert.Throws<ConfigException>(() => KafkaConfigLoader.Load(Definition, ["--config", Sample(), "--override", $"process.roles={roles}"], new Hashtable()));
        Assert.Equal(message, e.Message);
    }
}
