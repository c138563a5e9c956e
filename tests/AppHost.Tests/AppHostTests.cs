using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Kafka.Client;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
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

            // Exactly the brokers: the coordinator nodes are an internal tier behind them.
            Assert.Contains($" {fixture.Topology.Brokers(cluster.Name).Count()} brokers:", output, StringComparison.Ordinal);
            foreach (NodeSpec coordinator in fixture.Topology.Nodes.Where(n => n.Cluster == cluster.Name && n.Role == NodeRole.Coordinator))
            {
                Assert.DoesNotContain($"broker {coordinator.NodeId} at", output, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task The_dashboard_telemetry_api_has_logs_and_traces_from_every_node()
    {
        using var http = new HttpClient { BaseAddress = new Uri(fixture.DashboardUrl) };
        http.DefaultRequestHeaders.Add("x-api-key", fixture.ApiKey);
        // Every broker answers a client; coordinators serve the group requests the brokers forward
        // (one commit per __consumer_offsets partition reaches every coordinator node); controllers
        // serve the brokers' and each other's Raft fetches.
        foreach (NodeSpec node in fixture.Topology.Nodes.Where(n => n.Role == NodeRole.Broker))
        {
            Uri endpoint = fixture.App.GetEndpoint(node.Name, KafkaTopology.ClientListener.ToLowerInvariant());
            (int exit, string output) = await Tools.RunAsync("kcat", ["-b", $"{endpoint.Host}:{endpoint.Port}", "-L", "-m", "10"], TimeSpan.FromSeconds(30));
            Assert.True(exit == 0, output);
        }

        foreach (ClusterSpec cluster in fixture.Topology.Clusters)
        {
            await CommitForEveryOffsetsPartitionAsync(fixture.Topology.BootstrapServers(cluster.Name));
        }

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
        // librdkafka's own log lines ("%3|…|FAIL|…" about the killed broker) come on the same stream: only keys count.
        List<string> keys = [.. consumed.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('%')).Distinct()];
        Assert.True(keys.Count == records, $"{keys.Count} distinct keys consumed, {records} produced:\n{consumed[..Math.Min(consumed.Length, 2000)]}");

        // Aspire's own Start brings the node back; once it is in sync again, the "preferred leader
        // election" command gives the partition back to its first replica.
        ExecuteCommandResult start = await fixture.CommandAsync(victim, KnownResourceCommands.StartCommand, CancellationToken.None);
        Assert.True(start.Success, start.Message);
        await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync(victim).WaitAsync(TimeSpan.FromMinutes(2));
        PartitionMetadata partition = null!;
        await AppHostFixture.Eventually(async () =>
        {
            partition = (await client.RefreshMetadataAsync([topic])).Topics[topic].Partitions[0];
            return partition.Isr.Count == 3;
        }, TimeSpan.FromSeconds(60), () => $"{victim} did not rejoin the ISR of {topic}: {partition}");
        Assert.NotEqual(partition.Replicas[0], partition.LeaderId);
        string through = fixture.Topology.Brokers().First(b => b.Name != victim).Name;
        ExecuteCommandResult election = await fixture.CommandAsync(through, "preferred-leader-election", CancellationToken.None);
        Assert.True(election.Success, election.Message);
        Assert.Contains($"{topic}-0", election.Message, StringComparison.Ordinal);
        await AppHostFixture.Eventually(async () =>
        {
            partition = (await client.RefreshMetadataAsync([topic])).Topics[topic].Partitions[0];
            return partition.LeaderId == partition.Replicas[0];
        }, TimeSpan.FromSeconds(30), () => $"the preferred replica does not lead {topic}: {partition}");
    }

    [Fact]
    public async Task Pause_from_the_dashboard_stops_the_node_process_and_resumes_it()
    {
        const string node = "backup-coordinator-1";
        Assert.True(fixture.App.ResourceNotifications.TryGetCurrentState(node, out ResourceEvent? state));
        int pid = Convert.ToInt32(state!.Snapshot.Properties.Single(p => p.Name == "executable.pid").Value, System.Globalization.CultureInfo.InvariantCulture);
        List<int> tree = UnixProcesses.Tree(pid);
        ExecuteCommandResult result = await fixture.CommandAsync(node, "pause-15s", CancellationToken.None);
        Assert.True(result.Success, result.Message);
        Assert.All(tree, p => Assert.Equal('T', ProcessState(p)));
        await AppHostFixture.Eventually(() => Task.FromResult(tree.All(p => ProcessState(p) != 'T')), TimeSpan.FromSeconds(40),
            () => $"{node} still stopped: {string.Join(", ", tree.Select(p => $"{p}:{ProcessState(p)}"))}");
        await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync(node).WaitAsync(TimeSpan.FromMinutes(1));
    }

    /// <summary>
    /// A standalone offset commit for one group of every <c>__consumer_offsets</c> partition, sent
    /// as a client sends it (FindCoordinator, then OffsetCommit to the broker it names, retried on
    /// Kafka's retriable answers): every coordinator node of the cluster serves some of them.
    /// </summary>
    private static async Task CommitForEveryOffsetsPartitionAsync(string bootstrap)
    {
        const string Topic = "apphost-telemetry";
        await using var client = new KafkaClient(new KafkaClientOptions { BootstrapServers = bootstrap.Split(','), ClientId = "apphost-groups" });
        TopicResult created = (await client.CreateTopicsAsync([new NewTopic(Topic, 1, 1)])).Single();
        Assert.True(created.Error is ErrorCode.None or ErrorCode.TopicAlreadyExists, created.ToString());
        int partitions = 0;
        await AppHostFixture.Eventually(async () =>
        {
            _ = await FindCoordinatorAsync(client, "apphost-probe"); // the first lookup creates __consumer_offsets
            partitions = (await client.RefreshMetadataAsync([Metadata.CoordinatorsImage.ConsumerOffsetsTopic])).Topics
                .GetValueOrDefault(Metadata.CoordinatorsImage.ConsumerOffsetsTopic)?.Partitions.Count ?? 0;
            return partitions > 0;
        }, TimeSpan.FromSeconds(60), () => "__consumer_offsets was not created");

        for (int partition = 0; partition < partitions; partition++)
        {
            int p = partition;
            string group = Enumerable.Range(0, 100_000).Select(i => $"apphost-group-{i}").First(g => Metadata.CoordinatorsImage.PartitionFor(g, partitions) == p);
            short error = -1;
            await AppHostFixture.Eventually(async () =>
            {
                KafkaNode? coordinator = await FindCoordinatorAsync(client, group);
                if (coordinator is null)
                {
                    return false;
                }

                OffsetCommitResponse response = await client.Network.SendAsync<OffsetCommitRequest, OffsetCommitResponse>(coordinator, new OffsetCommitRequest
                {
                    GroupId = group,
                    GenerationIdOrMemberEpoch = -1,
                    Topics = [new() { Name = Topic, Partitions = [new() { PartitionIndex = 0, CommittedOffset = 0 }] }],
                }, version: 2);
                error = response.Topics[0].Partitions[0].ErrorCode;
                return error == 0;
            }, TimeSpan.FromSeconds(60), () => $"the commit of {group} (__consumer_offsets-{p}) answered {(ErrorCode)error}");
        }
    }

    /// <summary>The broker FindCoordinator names for <paramref name="group"/>, or null while it answers an error.</summary>
    private static async Task<KafkaNode?> FindCoordinatorAsync(KafkaClient client, string group)
    {
        KafkaNode any = (await client.RefreshMetadataAsync([])).Brokers.Values.First();
        FindCoordinatorResponse found = await client.Network.SendAsync<FindCoordinatorRequest, FindCoordinatorResponse>(any, new FindCoordinatorRequest { Key = group }, version: 2);
        return found.ErrorCode == 0 ? new KafkaNode(found.NodeId, found.Host, found.Port) : null;
    }

    /// <summary>The state letter of /proc/PID/stat (T: stopped by a signal).</summary>
    private static char ProcessState(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[stat.LastIndexOf(')') + 2];
    }

    /// <summary>The telemetry API's answer: <c>{"data": …, "totalCount": N, "returnedCount": M}</c>.</summary>
    private static int Count(string json)
    {
        using JsonDocument document = JsonDocument.Parse(json);
        return document.RootElement.GetProperty("totalCount").GetInt32();
    }

    private static string Truncate(string s) => s.Length > 300 ? s[..300] + "…" : s;
}
