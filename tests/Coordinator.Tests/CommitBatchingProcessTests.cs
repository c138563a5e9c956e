using Aspire.Kafka.Client;
using Aspire.Kafka.Hosting;
using Aspire.Kafka.Metadata;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Tools.ConsumerGroups;
using Aspire.Kafka.Topology;

namespace Aspire.Kafka.Coordinator.Tests;

/// <summary>
/// Batching seen from outside, with processes (its own cluster: a controller, a broker, a
/// coordinator): offset commits of many groups of one <c>__consumer_offsets</c> partition, sent at
/// once, reach the broker in fewer Produce requests than there were commits, and every commit is
/// answered NONE.
/// </summary>
public sealed class CommitBatchingProcessTests
{
    private const int OffsetsPartitions = 3;
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    [Fact]
    public async Task Concurrent_commits_to_groups_of_one_partition_are_written_in_fewer_produce_requests_than_commits()
    {
        await using TestCluster cluster = await TestCluster.StartAsync(new ClusterSpec(KafkaTopology.Primary)
        {
            Controllers = 1,
            Brokers = 1,
            Coordinators = 1,
            ControllerConfig = new Dictionary<string, string> { ["offsets.topic.num.partitions"] = $"{OffsetsPartitions}" },
            CoordinatorConfig = new Dictionary<string, string> { ["offsets.topic.num.partitions"] = $"{OffsetsPartitions}" },
        });
        await using var client = new KafkaClient(new KafkaClientOptions { BootstrapServers = cluster.BootstrapServers("primary").Split(','), ClientId = "batching-test" });

        (await client.CreateTopicsAsync([new NewTopic("fenced-topic", 1, 1)])).Single().ThrowIfError(); // commits to topics that do not exist are refused

        // 32 groups that all live in __consumer_offsets partition 0, each with its own connection.
        List<string> groups = [.. Enumerable.Range(0, 10_000).Select(i => $"batched-{i}").Where(g => CoordinatorsImage.PartitionFor(g, OffsetsPartitions) == 0).Take(32)];
        KafkaNode coordinator = await new GroupAdmin(client).FindCoordinatorAsync(groups[0], CancellationToken.None);
        var connections = new List<KafkaConnection>();
        try
        {
            foreach (string _ in groups)
            {
                connections.Add(await KafkaConnection.ConnectAsync(coordinator.Host, coordinator.Port));
            }

            // Retriable until the coordinator has learned its assignment and loaded the partition, as a client retries.
            DateTime deadline = DateTime.UtcNow.AddSeconds(60);
            short first;
            while ((first = await CommitAsync(connections[0], groups[0], 0)) is (short)ErrorCode.CoordinatorLoadInProgress or (short)ErrorCode.NotCoordinator
                or (short)ErrorCode.CoordinatorNotAvailable && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100); // polling interval
            }

            Assert.Equal((short)ErrorCode.None, first);

            (double producesBefore, double appendsBefore, double writesBefore) = await CountersAsync(cluster);
            const int Rounds = 3;
            for (int round = 1; round <= Rounds; round++)
            {
                short[] errors = await Task.WhenAll(groups.Select((g, i) => CommitAsync(connections[i], g, round)));
                Assert.All(errors, e => Assert.Equal((short)ErrorCode.None, e));
            }

            (double producesAfter, double appendsAfter, double writesAfter) = await CountersAsync(cluster);
            int commits = Rounds * groups.Count;
            Assert.Equal(commits, writesAfter - writesBefore);
            Assert.True(producesAfter - producesBefore < commits,
                $"{commits} commits reached the broker in {producesAfter - producesBefore} Produce requests (coordinator: {appendsAfter - appendsBefore} appends)");
            Assert.True(appendsAfter - appendsBefore < commits, $"{commits} commits in {appendsAfter - appendsBefore} appends");
        }
        finally
        {
            foreach (KafkaConnection connection in connections)
            {
                await connection.DisposeAsync();
            }
        }
    }

    /// <summary>The broker's Produce requests (its request metrics) and the coordinator's append and write counters.</summary>
    private static async Task<(double Produces, double Appends, double Writes)> CountersAsync(TestCluster cluster)
    {
        string broker = await Http.GetStringAsync(new Uri($"http://{cluster.Node("broker-1").Address("http")}/metrics"));
        string coordinator = await Http.GetStringAsync(new Uri($"http://{cluster.Node("coordinator-1").Address("http")}/metrics"));
        List<double> produces = MetricsProcessTests.Samples(broker, "kafka_network_requestmetrics_totaltime_seconds_count", "request=\"Produce\"");
        List<double> appends = MetricsProcessTests.Samples(coordinator, "aspire_kafka_coordinator_log_appends_total");
        List<double> writes = MetricsProcessTests.Samples(coordinator, "aspire_kafka_coordinator_log_writes_total");
        Assert.True(produces.Count > 0 && appends.Count > 0 && writes.Count > 0, $"the counters are on /metrics: broker Produce {produces.Count}, coordinator appends {appends.Count}, writes {writes.Count}");
        return (produces.Sum(), appends.Sum(), writes.Sum());
    }

    private static Task<short> CommitAsync(KafkaConnection connection, string group, long offset) => FencingProcessTests.CommitAsync(connection, group, offset);
}
