using Aspire.Kafka.Controller;
using Aspire.Kafka.Storage;

namespace Aspire.Kafka.Broker.Tests;

/// <summary>What the controller accepts as a topic config, a broker honors, with the same default.</summary>
public sealed class TopicConfigCoverageTests
{
    // Applied by the broker itself (ReplicaManager) or by the controller (leader election), not by the log.
    private static readonly string[] NotStorageConfigs = ["min.insync.replicas", "compression.type", "unclean.leader.election.enable"];

    [Fact]
    public void Every_topic_config_the_controller_accepts_is_read_by_the_storage_engine()
    {
        foreach (ConfigKey key in TopicConfigs.All.Values.Where(k => !NotStorageConfigs.Contains(k.Name)))
        {
            Assert.True(LogConfig.KnownKeys.Contains(key.Name), $"{key.Name} is accepted by the controller but the storage engine does not read it");
        }
    }

    [Fact]
    public void The_controller_reports_the_storage_engines_defaults()
    {
        Dictionary<string, string> defaults = TopicConfigs.All.Values
            .Where(k => !NotStorageConfigs.Contains(k.Name))
            .ToDictionary(k => k.Name, k => k.DefaultValue!);
        Assert.Equal(new LogConfig(), LogConfig.FromProperties(defaults, rejectUnknown: true));
    }
}
