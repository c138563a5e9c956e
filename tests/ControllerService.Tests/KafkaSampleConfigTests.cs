using System.Collections;
using Aspire.Kafka.Config;
using Aspire.Kafka.ServiceDefaults.Configuration;
using Aspire.Kafka.Tests.KafkaSample;

namespace Aspire.Kafka.ControllerService.Tests;

/// <summary>Kafka's own sample controller.properties is accepted by our controller: each key honored or documented as without effect.</summary>
public sealed class KafkaSampleConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kafka-sample-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ConfigDef Definition => ServiceDefaultsConfig.Create().Merge(ControllerConfig.Definition);

    private string Sample() => KafkaSampleFiles.Write("controller.properties", _dir, 1, "1@127.0.0.1:9093", "127.0.0.1:9093", Path.Combine(_dir, "logs"));

    [Fact]
    public void Every_key_of_the_sample_is_accepted_and_honored_or_documented_as_without_effect()
    {
        string file = Sample();
        KafkaConfig config = KafkaConfigLoader.Load(Definition, ["--config", file], new Hashtable());
        IReadOnlyList<string> keys = KafkaSampleFiles.Keys(file);
        Assert.True(keys.Count >= 22, $"the sample has {keys.Count} keys");
        foreach (string key in keys)
        {
            Assert.Equal(ConfigSource.File, config.SourceOf(key));
        }

        // The sample leaves listener.security.protocol.map unset: the controller listener is PLAINTEXT, as in Kafka.
        Assert.Equal(ConfigSource.Default, config.SourceOf(ServiceDefaultsConfig.ListenerSecurityProtocolMap));
        IReadOnlyList<ServiceDefaults.Configuration.KafkaListener> listeners = ServiceDefaults.Configuration.KafkaListener.Parse(
            config.GetList(ServiceDefaultsConfig.Listeners), ServiceDefaultsConfig.EffectiveSecurityProtocolMap(config));
        Assert.Equal(("CONTROLLER", "PLAINTEXT", 9093), (listeners[0].Name, listeners[0].SecurityProtocol, listeners[0].Port));

        Assert.Equal(new KafkaSocketServerOptions(3, 8, 102400, 102400), KafkaSocketServerOptions.From(config));
        string[] notes = [.. config.SettingsWithoutEffect()];
        Assert.Contains(notes, n => n.StartsWith("advertised.listeners is accepted but has no effect here: ", StringComparison.Ordinal));
        Assert.Contains(notes, n => n.StartsWith("num.recovery.threads.per.data.dir is accepted but has no effect here: ", StringComparison.Ordinal));
        Assert.Contains(notes, n => n.StartsWith("log.retention.check.interval.ms is accepted but has no effect here: ", StringComparison.Ordinal));
        Assert.Contains(notes, n => n.StartsWith("transaction.state.log.min.isr is accepted but has no effect here: ", StringComparison.Ordinal));
        Assert.DoesNotContain(notes, n => n.StartsWith("offsets.topic.replication.factor", StringComparison.Ordinal));
    }

    [Fact]
    public void The_sample_s_values_reach_the_quorum_controller_and_describe_configs()
    {
        string file = Sample();
        File.AppendAllText(file, "\nlog.segment.bytes=1048576\n");
        KafkaConfig config = KafkaConfigLoader.Load(Definition, ["--config", file], new Hashtable());
        ControllerSettings settings = ControllerSettings.From(config, name => name == "CLUSTER_ID" ? "sample-cluster" : null);
        // offsets.topic.replication.factor=1: the controller creates __consumer_offsets with it.
        Assert.Equal((short)1, settings.Controller.OffsetsTopicReplicationFactor);
        Assert.Equal(1, settings.Controller.NumPartitions);
        // The brokers' log.* defaults set here are what DescribeConfigs reports as static.
        Assert.Equal("1048576", settings.Controller.StaticConfigs["log.segment.bytes"]);
        Assert.Equal("168", settings.Controller.StaticConfigs["log.retention.hours"]);
    }

    [Theory]
    [InlineData("broker", "Invalid value broker for configuration process.roles (from --override): this service runs the controller role only (process.roles=controller); the broker is services/broker.")]
    [InlineData("broker,controller", "Invalid value broker,controller for configuration process.roles (from --override): combined mode (process.roles=broker,controller) is not supported; run services/broker and services/controller as separate processes.")]
    public void Process_roles_must_be_controller(string roles, string message)
    {
        var e = Assert.Throws<ConfigException>(() => KafkaConfigLoader.Load(Definition, ["--config", Sample(), "--override", $"process.roles={roles}"], new Hashtable()));
        Assert.Equal(message, e.Message);
    }
}
