using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Kafka.Client;
using Aspire.Kafka.Topology;

namespace Aspire.Kafka.AppHost.Tests;

/// <summary>The real AppHost as a user meets it: healthy nodes, kcat, the dashboard's telemetry, its kill -9 command.</summary>
[Collection(AppHostCollection.Name)]
public sealed class AppHostTests(AppHostFixture fixture)
{
    [Fact]
    public async Task Every_node_is_healthy_and_kcat_sees_every_broker_of_both_clusters()
    {
        foreach (NodeSpec node in fixture.Topology.Nodes)
        {
            Assert.True(fixture.App.ResourceNotifications.TryGetCurrentState(node.Name, out ResourceEvent? state), node.Name);
            Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, state!.Snapshot.HealthStatus);
        }

        foreach (ClusterSpec cluster in fixture.Topology.Clusters)
        {
            (int exit, string output) = await Tools.RunAsync("kcat", ["-b", fixture.Topology.BootstrapServers(cluster.Name), "-L", "-m", "10"], TimeSpan.FromSeconds(30));
            Assert.True(exit == 0, output);
            foreach (NodeSpec broker in fixture.Topology.Brokers(cluster.Name))
            {
                Assert.Contains($"broker {broker.NodeId} at {broker.Listener(KafkaTopology.ClientListener).Address}", output, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task The_dashboard_telemetry_api_has_logs_and_traces_from_every_node()
    {
        using var http = new HttpClient { BaseAddress = new Uri(fixture.DashboardUrl) };
        http.DefaultRequestHeaders.Add("x-api-key", fixture.ApiKey);
        string lastLogs = "", lastTraces = "";
        foreach (NodeSpec node in fixture.Topology.Nodes)
        {
            // Telemetry is exported in batches (every few seconds): poll until it arrived.
            await AppHostFixture.Eventually(async () =>
            {
                lastLogs = await http.GetStringAsync($"/api/telemetry/logs?resource={node.Name}");
                lastTraces = await http.GetStringAsync($"/api/telemetry/traces?resource={node.Name}");
                return Count(lastLogs) > 0 && Count(lastTraces) > 0;
            }, TimeSpan.FromSeconds(60), () => $"{node.Name}: logs {Truncate(lastLogs)}; traces {Truncate(lastTraces)}");
        }
    }

    [Fact]
    public async Task Kill_9_from_the_dashboard_on_a_partition_leader_moves_leadership_and_an_acks_all_producer_keeps_going()
    {
        const string topic = "apphost-failover";
        const int records = 3000;
        string bootstrap = fixture.Topology.BootstrapServers();
        await using var client = new KafkaClient(new KafkaClientOptions { BootstrapServers = [bootstrap], ClientId = "apphost-test" });
        (await client.CreateTopicsAsync([new NewTopic(topic, 1, 3)])).Single().ThrowIfError();
        int leader = -1;
        await AppHostFixture.Eventually(async () =>
        {
            ClusterMetadata metadata = await client.RefreshMetadataAsync([topic]);
            PartitionMetadata? p = metadata.Topics.GetValueOrDefault(topic)?.Partitions.FirstOrDefault();
            leader = p?.LeaderId ?? -1;
            return p is not null && p.LeaderId >= 0 && p.Isr.Count == 3;
        }, TimeSpan.FromSeconds(30), () => $"{topic} has no leader with 3 in-sync replicas");
        string victim = fixture.Topology.Brokers().Single(b => b.NodeId == leader).Name;

        var killed = new TaskCompletionSource();
        Task<(int, string)> producer = Tools.RunAsync(Tools.Python, [Tools.Client("acks_all_producer.py"), bootstrap, topic, records.ToString(), "300"],
            TimeSpan.FromMinutes(3), line =>
            {
                // Kill once the producer is well under way.
                if (line.StartsWith("sent ", StringComparison.Ordinal) && int.Parse(line.Split(' ')[3]) >= 300)
                {
                    killed.TrySetResult();
                }
            });
        await killed.Task.WaitAsync(TimeSpan.FromSeconds(60));
        ExecuteCommandResult result = await fixture.CommandAsync(victim, "kill-9", CancellationToken.None);
        Assert.True(result.Success, result.Message);

        await AppHostFixture.Eventually(async () =>
        {
            PartitionMetadata? p = (await client.RefreshMetadataAsync([topic])).Topics.GetValueOrDefault(topic)?.Partitions.FirstOrDefault();
            return p is not null && p.LeaderId >= 0 && p.LeaderId != leader;
        }, TimeSpan.FromSeconds(30), () => $"leadership of {topic} did not move away from {leader} ({victim})");

        (int exit, string output) = await producer;
        Assert.True(exit == 0, $"the acks=all producer lost records across the kill -9 of {victim}:\n{output}");
        Assert.Contains($"done delivered {records} errors 0", output, StringComparison.Ordinal);

        (int kcatExit, string consumed) = await Tools.RunAsync("kcat", ["-b", bootstrap, "-t", topic, "-C", "-o", "beginning", "-e", "-q", "-f", "%k\n"], TimeSpan.FromSeconds(60));
        Assert.True(kcatExit == 0, consumed);
        Assert.Equal(records, consumed.Split('\n', StringSplitOptions.RemoveEmptyEntries).Distinct().Count());

        // Back to the default topology for the other tests: Aspire's own Start command.
        ExecuteCommandResult start = await fixture.CommandAsync(victim, KnownResourceCommands.StartCommand, CancellationToken.None);
        Assert.True(start.Success, start.Message);
        await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync(victim).WaitAsync(TimeSpan.FromMinutes(2));
    }

    /// <summary>The telemetry API's answer: <c>{"data": …, "totalCount": N, "returnedCount": M}</c>.</summary>
    private static int Count(string json)
    {
        using JsonDocument document = JsonDocument.Parse(json);
        return document.RootElement.GetProperty("totalCount").GetInt32();
    }

    private static string Truncate(string s) => s.Length > 300 ? s[..300] + "…" : s;
}
