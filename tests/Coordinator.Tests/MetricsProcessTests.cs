using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Aspire.Kafka.Client;
using Aspire.Kafka.Hosting;
using Aspire.Kafka.Topology;
using Aspire.Kafka.Protocol;

namespace Aspire.Kafka.Coordinator.Tests;

/// <summary>A controller, two brokers (so that replication has something to measure) and a coordinator as processes.</summary>
public sealed class MetricsClusterFixture : IAsyncLifetime
{
    private TestCluster? _cluster;

    public TestCluster Cluster => _cluster ?? throw new InvalidOperationException("The cluster is not started.");

    public string Bootstrap => Cluster.BootstrapServers("primary");

    public static IReadOnlyList<string> Nodes { get; } = ["controller-1", "broker-1", "broker-2", "coordinator-1"];

    public async Task InitializeAsync()
    {
        _cluster = await TestCluster.StartAsync(new ClusterSpec(KafkaTopology.Primary)
        {
            Controllers = 1,
            Brokers = 2,
            Coordinators = 1,
            ControllerConfig = new Dictionary<string, string> { ["offsets.topic.num.partitions"] = "2", ["offsets.topic.replication.factor"] = "2" },
            BrokerConfig = new Dictionary<string, string> { ["broker.heartbeat.interval.ms"] = "500", ["replica.fetch.wait.max.ms"] = "100" },
            CoordinatorConfig = new Dictionary<string, string>
            {
                ["broker.heartbeat.interval.ms"] = "500",
                ["group.initial.rebalance.delay.ms"] = "0",
                ["offsets.topic.num.partitions"] = "2",
            },
        });
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}

/// <summary>
/// Every node's /metrics after produce, replication, a consumer group and lag: promtool finds no
/// error and no warning, and the Kafka-meaning metrics are there with values that fit what was done.
/// </summary>
public sealed class MetricsProcessTests(MetricsClusterFixture fixture) : IClassFixture<MetricsClusterFixture>
{
    private const string Topic = "metered";
    private const string Group = "metered-group";
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private static string Promtool()
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, "promtool");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        Assert.Fail("promtool is not installed: install it with `apt-get install -y prometheus` (test.sh does this on a fresh machine).");
        return "promtool";
    }

    private Task<string> ScrapeAsync(string node) =>
        Http.GetStringAsync(new Uri($"http://{fixture.Cluster.Node(node).Address("http")}/metrics"));

    /// <summary>The samples of <paramref name="name"/> whose labels include every one of <paramref name="labels"/> (k="v" pairs).</summary>
    internal static List<double> Samples(string text, string name, params string[] labels)
    {
        var values = new List<double>();
        foreach (Match m in Regex.Matches(text, $@"^{Regex.Escape(name)}(?:\{{([^}}]*)\}})? (\S+)$", RegexOptions.Multiline))
        {
            string set = m.Groups[1].Value;
            if (labels.All(l => set.Split(',').Contains(l)))
            {
                values.Add(double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
            }
        }

        return values;
    }

    private static double Sum(IEnumerable<string> texts, string name, params string[] labels) => texts.Sum(t => Samples(t, name, labels).Sum());

    private static async Task<string> KcatAsync(string input, params string[] args)
    {
        var info = new ProcessStartInfo("kcat") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        using Process process = Process.Start(info) ?? throw new InvalidOperationException("kcat did not start: apt-get install -y kcat");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(input);
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"kcat {string.Join(' ', args)} did not finish within 60 s: {await stderr}");
        }

        Assert.True(process.ExitCode == 0, $"kcat {string.Join(' ', args)} exited with {process.ExitCode}: {await stderr}");
        return await stdout;
    }

    private static async Task<(int ExitCode, string Output)> PromtoolCheckAsync(string promtool, string text)
    {
        var info = new ProcessStartInfo(promtool, ["check", "metrics"]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using Process process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(text);
        process.StandardInput.Close();
        await process.WaitForExitAsync();
        return (process.ExitCode, (await stdout + await stderr).Trim());
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out after {timeout.TotalSeconds} s waiting for {what()}");
            await Task.Delay(250);
        }
    }

    [Fact]
    public async Task Every_node_passes_promtool_and_shows_Kafkas_metrics_after_produce_replication_and_a_group()
    {
        string promtool = Promtool();
        await using var client = new KafkaClient(new KafkaClientOptions { BootstrapServers = fixture.Bootstrap.Split(','), ClientId = "metrics-test" });
        TopicResult created = (await client.CreateTopicsAsync([new NewTopic(Topic, 3, 2)])).Single();
        if (created.Error != ErrorCode.TopicAlreadyExists)
        {
            created.ThrowIfError();
        }

        // 30 records per partition by an idempotent producer (kcat: producer ids for ProducerIdCount).
        for (int p = 0; p < 3; p++)
        {
            string records = string.Concat(Enumerable.Range(0, 30).Select(i => $"value-{p}-{i}\n"));
            await KcatAsync(records, "-P", "-b", fixture.Bootstrap, "-t", Topic, "-p", p.ToString(CultureInfo.InvariantCulture), "-X", "enable.idempotence=true");
        }

        // A group reads everything and commits (kcat's balanced consumer commits on close).
        await KcatAsync("", "-b", fixture.Bootstrap, "-G", Group, "-e", "-o", "beginning", "-X", "enable.auto.commit=true", Topic);
        // Five more records on partition 0: the group's lag there is 5.
        for (int i = 0; i < 5; i++)
        {
            await client.ProduceAsync(Topic, 0, [new ProducerRecord(null, [(byte)i])], acks: -1);
        }

        Dictionary<string, string> scraped = [];
        string why = "";
        await EventuallyAsync(async () =>
        {
            foreach (string node in MetricsClusterFixture.Nodes)
            {
                scraped[node] = await ScrapeAsync(node);
            }

            string coordinator = scraped["coordinator-1"];
            List<double> lag0 = Samples(coordinator, "kafka_consumergroup_lag", $"consumergroup=\"{Group}\"", $"topic=\"{Topic}\"", "partition=\"0\"");
            List<double> committed0 = Samples(coordinator, "kafka_consumergroup_current_offset", $"consumergroup=\"{Group}\"", $"topic=\"{Topic}\"", "partition=\"0\"");
            string[] brokers = [scraped["broker-1"], scraped["broker-2"]];
            double underReplicated = Sum(brokers, "kafka_server_replicamanager_underreplicatedpartitions");
            why = $"lag p0 {string.Join(',', lag0)}, committed p0 {string.Join(',', committed0)}, under-replicated {underReplicated}";
            return lag0 is [5] && committed0.Count == 1 && underReplicated == 0;
        }, TimeSpan.FromSeconds(60), () => "the coordinator's lag of partition 0 to be 5 and no partition under-replicated: " + why);

        string[] brokerTexts = [scraped["broker-1"], scraped["broker-2"]];
        Assert.Equal([30.0], Samples(scraped["coordinator-1"], "kafka_consumergroup_current_offset", $"consumergroup=\"{Group}\"", $"topic=\"{Topic}\"", "partition=\"0\""));
        foreach (int p in new[] { 1, 2 })
        {
            Assert.Equal([0.0], Samples(scraped["coordinator-1"], "kafka_consumergroup_lag", $"consumergroup=\"{Group}\"", $"topic=\"{Topic}\"", $"partition=\"{p}\""));
        }

        // Brokers: BrokerTopicMetrics per topic, replication, ISR, producer ids, request latency.
        Assert.Equal(95, Sum(brokerTexts, "kafka_server_brokertopicmetrics_messagesin_total", $"topic=\"{Topic}\""));
        Assert.True(Sum(brokerTexts, "kafka_server_brokertopicmetrics_bytesin_total", $"topic=\"{Topic}\"") > 95 * 7);
        Assert.True(Sum(brokerTexts, "kafka_server_brokertopicmetrics_bytesout_total", $"topic=\"{Topic}\"") > 90 * 7, "the group's fetches counted as bytes out");
        Assert.True(Sum(brokerTexts, "kafka_server_brokertopicmetrics_replicationbytesin_total", $"topic=\"{Topic}\"") > 0, "followers counted replicated bytes");
        Assert.True(Sum(brokerTexts, "kafka_server_brokertopicmetrics_replicationbytesout_total", $"topic=\"{Topic}\"") > 0, "leaders counted bytes sent to followers");
        Assert.Equal(2, brokerTexts.Count(t => Samples(t, "kafka_server_replicamanager_isrshrinks_total").Count == 1 && Samples(t, "kafka_server_replicamanager_isrexpands_total").Count == 1));
        Assert.Equal(0, Sum(brokerTexts, "kafka_server_replicamanager_underminisrpartitioncount"));
        Assert.Equal(2 * (3 + 2), Sum(brokerTexts, "kafka_server_replicamanager_partitioncount")); // RF 2: metered ×3, __consumer_offsets ×2
        Assert.Equal(3 + 2, Sum(brokerTexts, "kafka_server_replicamanager_leadercount"));
        // kcat's idempotent producer on the metered partitions and the coordinator's own producer
        // on __consumer_offsets, counted by leaders and followers alike.
        Assert.True(Sum(brokerTexts, "kafka_server_replicamanager_produceridcount") >= 2, "producer ids with state on the brokers");
        Assert.True(Sum(brokerTexts, "kafka_network_requestmetrics_totaltime_seconds_count", "request=\"Produce\"") >= 5);
        Assert.True(Sum(brokerTexts, "kafka_network_requestmetrics_totaltime_seconds_count", "request=\"Fetch\"") > 0);
        Assert.All(brokerTexts, t => Assert.Contains("kafka_network_requestmetrics_totaltime_seconds_bucket{listener=\"PLAINTEXT\",request=\"Produce\",le=\"+Inf\"}", t, StringComparison.Ordinal));

        // Controller: one active controller, nothing offline, the topics and brokers it knows.
        string controller = scraped["controller-1"];
        Assert.Equal([1.0], Samples(controller, "kafka_controller_kafkacontroller_activecontrollercount"));
        Assert.Equal([0.0], Samples(controller, "kafka_controller_kafkacontroller_offlinepartitionscount"));
        Assert.Equal([2.0], Samples(controller, "kafka_controller_kafkacontroller_globaltopiccount"));
        Assert.Equal([5.0], Samples(controller, "kafka_controller_kafkacontroller_globalpartitioncount"));
        Assert.Equal([2.0], Samples(controller, "kafka_controller_kafkacontroller_activebrokercount"));
        Assert.Equal([0.0], Samples(controller, "kafka_controller_kafkacontroller_fencedbrokercount"));
        Assert.True(Sum([controller], "kafka_network_requestmetrics_totaltime_seconds_count", "request=\"BrokerHeartbeat\"") > 0);

        // Coordinator: the group requests the brokers forwarded to it.
        Assert.True(Sum([scraped["coordinator-1"]], "kafka_network_requestmetrics_totaltime_seconds_count", "request=\"OffsetCommit\"") > 0);
        Assert.True(Sum([scraped["coordinator-1"]], "kafka_network_requestmetrics_totaltime_seconds_count", "request=\"JoinGroup\"") > 0);

        foreach ((string node, string text) in scraped)
        {
            (int exitCode, string output) = await PromtoolCheckAsync(promtool, text);
            Assert.True(exitCode == 0 && output.Length == 0, $"promtool check metrics on {node}'s /metrics: exit {exitCode}\n{output}");
        }
    }
}
