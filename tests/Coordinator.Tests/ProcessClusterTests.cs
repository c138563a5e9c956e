using System.Diagnostics;
using System.Text.Json;
using Aspire.Kafka.Client;
using Aspire.Kafka.Hosting;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Topology;
using Aspire.Kafka.Tools.ConsumerGroups;

namespace Aspire.Kafka.Coordinator.Tests;

/// <summary>A controller, three brokers and two coordinators as processes through the launcher.</summary>
public sealed class GroupClusterFixture : IAsyncLifetime
{
    private TestCluster? _cluster;

    public TestCluster Cluster => _cluster ?? throw new InvalidOperationException("The cluster is not started.");

    public string Bootstrap => Cluster.BootstrapServers("primary");

    public async Task InitializeAsync()
    {
        _cluster = await TestCluster.StartAsync(new ClusterSpec(KafkaTopology.Primary)
        {
            Controllers = 1,
            Brokers = 3,
            Coordinators = 2,
            ControllerConfig = new Dictionary<string, string> { ["broker.session.timeout.ms"] = "4000", ["offsets.topic.num.partitions"] = "6" },
            BrokerConfig = new Dictionary<string, string> { ["broker.heartbeat.interval.ms"] = "500", ["replica.fetch.wait.max.ms"] = "100" },
            CoordinatorConfig = new Dictionary<string, string>
            {
                ["broker.heartbeat.interval.ms"] = "500",
                ["group.initial.rebalance.delay.ms"] = "1000",
                ["offsets.topic.num.partitions"] = "6",
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

public sealed class ProcessClusterTests(GroupClusterFixture fixture) : IClassFixture<GroupClusterFixture>
{
    private const string Python = "/usr/bin/python3";

    private async Task<KafkaClient> TopicWithRecordsAsync(string topic, int partitions, int perPartition)
    {
        var client = new KafkaClient(new KafkaClientOptions { BootstrapServers = fixture.Bootstrap.Split(','), ClientId = "coordinator-tests" });
        TopicResult created = (await client.CreateTopicsAsync([new NewTopic(topic, partitions, 3)])).Single();
        if (created.Error != ErrorCode.TopicAlreadyExists) // a retried CreateTopics finds its own topic
        {
            created.ThrowIfError();
        }

        for (int p = 0; p < partitions; p++)
        {
            await client.ProduceAsync(topic, p, [.. Enumerable.Range(0, perPartition).Select(i => new ProducerRecord(null, BitConverter.GetBytes(i)))], acks: -1);
        }

        return client;
    }

    private static Task<JsonElement> RunConsumersAsync(params string[] args) => RunScriptAsync("group_consumers.py", null, args);

    /// <summary>Runs a script with /usr/bin/python3; <paramref name="onLine"/> sees each stdout line as it comes; returns the last line as JSON.</summary>
    private static Task<JsonElement> RunScriptAsync(string name, Func<string, Task>? onLine, params string[] args)
    {
        if (!File.Exists(Python))
        {
            throw new InvalidOperationException("kafka-python and confluent-kafka need /usr/bin/python3: apt-get install -y python3-kafka python3-confluent-kafka");
        }

        return RunJsonAsync(Python, null, onLine, [Path.Combine(AppContext.BaseDirectory, "Scripts", name), .. args]);
    }

    private static async Task<JsonElement> RunJsonAsync(string fileName, string? workingDirectory, Func<string, Task>? onLine, params string[] args)
    {
        string name = args.Length > 0 ? Path.GetFileName(args[0]) : fileName;
        var info = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory ?? "" };
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        using Process process = Process.Start(info)!;
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(240));
        string? last = null;
        try
        {
            while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                last = line;
                if (onLine is not null)
                {
                    await onLine(line);
                }
            }

            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{name} did not finish within 240 s: {await stderr}");
        }

        Assert.True(process.ExitCode == 0 && last is not null, $"{name} exited with {process.ExitCode}: {await stderr}");
        return JsonDocument.Parse(last).RootElement.Clone();
    }

    [Fact]
    public async Task Three_kafka_python_consumers_share_six_partitions_and_two_take_over_when_one_leaves()
    {
        await using KafkaClient client = await TopicWithRecordsAsync("orders", 6, 10);

        JsonElement result = await RunConsumersAsync(fixture.Bootstrap, "orders", "three", "3", "6", "60", "1");

        Assert.True(result.GetProperty("first").ValueKind == JsonValueKind.Object, $"the group never balanced: {result}");
        Assert.All(result.GetProperty("first").EnumerateObject(), c => Assert.Equal(2, c.Value.GetArrayLength()));
        Assert.True(result.GetProperty("final").ValueKind == JsonValueKind.Object, $"the survivors never covered every partition: {result}");
        Assert.Equal(2, result.GetProperty("final").EnumerateObject().Count());
        Assert.All(result.GetProperty("final").EnumerateObject(), c => Assert.Equal(3, c.Value.GetArrayLength()));
        Assert.Equal(60, result.GetProperty("records").GetInt32());

        // Every partition's committed offset is its end: the lag tool reports 0.
        var admin = new GroupAdmin(client);
        (_, IReadOnlyList<LagRow> rows) = await admin.DescribeLagAsync("three", CancellationToken.None);
        Assert.Equal(6, rows.Count);
        Assert.All(rows, r => Assert.Equal((10L, 10L, 0L), (r.CurrentOffset, r.LogEndOffset, r.Lag)));
        Assert.Contains("three", (await admin.ListGroupsAsync(CancellationToken.None)).Select(g => g.GroupId));

        // The command the README shows prints the same.
        string describe = await RunToolAsync("--bootstrap-server", fixture.Bootstrap, "--describe", "--group", "three");
        List<string[]> lines = [.. describe.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))];
        Assert.Equal("Consumer group 'three' has no active members.", string.Join(' ', lines[0])); // the consumers are gone
        lines.RemoveAt(0);
        Assert.Equal(["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"], lines[0]);
        Assert.Equal(Enumerable.Range(0, 6).Select(p => $"three orders {p} 10 10 0"), lines.Skip(1).Select(l => string.Join(' ', l.Take(6))));
        Assert.Contains("three", (await RunToolAsync("--bootstrap-server", fixture.Bootstrap, "--list")).Split('\n'));
    }

    private static async Task<string> RunToolAsync(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "kafka-consumer-groups.dll"));
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        using Process process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"kafka-consumer-groups exited with {process.ExitCode}: {await stderr}");
        return await stdout;
    }

    [Fact]
    public async Task Consumers_restarted_resume_from_their_commits()
    {
        await using KafkaClient client = await TopicWithRecordsAsync("resume", 2, 5);
        JsonElement first = await RunConsumersAsync(fixture.Bootstrap, "resume", "resumers", "2", "2", "10");
        Assert.Equal(10, first.GetProperty("records").GetInt32());

        for (int p = 0; p < 2; p++)
        {
            await client.ProduceAsync("resume", p, [new ProducerRecord(null, [1]), new ProducerRecord(null, [2])], acks: -1);
        }

        // Restarted, the group reads only the 4 new records (it would read 14 from the start).
        JsonElement second = await RunConsumersAsync(fixture.Bootstrap, "resume", "resumers", "2", "2", "4");
        Assert.Equal(4, second.GetProperty("records").GetInt32());
        Assert.Equal(5, second.GetProperty("min_offset").GetInt32());
    }

    // kafkajs takes every node's API versions from its seed broker's ApiVersions (brokerPool.js)
    // and looks the coordinator FindCoordinator names up in its Metadata broker list: both hold
    // now that the coordinator is a broker that forwards to the coordinator tier.
    [Fact]
    public Task Kafkajs_bootstrapped_from_the_brokers_consumes_in_a_group() =>
        KafkajsGroupAsync(fixture.Bootstrap, "kafkajs-brokers");

    private async Task KafkajsGroupAsync(string bootstrap, string name)
    {
        string folder = NodeFolder();
        await using KafkaClient client = await TopicWithRecordsAsync(name, 4, 5);

        JsonElement r = await RunJsonAsync("node", folder, null, Path.Combine(folder, "kafkajs-group.js"), bootstrap, name, name, "4", "20");

        Assert.True(r.GetProperty("balanced").GetBoolean(), r.ToString());
        Assert.Equal(20, r.GetProperty("records").GetInt32());
        var admin = new GroupAdmin(client);
        KafkaNode coordinator = await admin.FindCoordinatorAsync(name, CancellationToken.None);
        IReadOnlyDictionary<(string Topic, int Partition), long> committed = await admin.CommittedAsync(coordinator, name, CancellationToken.None);
        Assert.Equal([5L, 5L, 5L, 5L], Enumerable.Range(0, 4).Select(p => committed.GetValueOrDefault((name, p), -1)));
    }

    /// <summary>tests/Coordinator.Tests/node with kafkajs installed (test.sh runs npm ci there).</summary>
    private static string NodeFolder()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Aspire.Kafka.Coordinator.Tests.csproj")))
            {
                string folder = Path.Combine(dir.FullName, "node");
                return Directory.Exists(Path.Combine(folder, "node_modules", "kafkajs"))
                    ? folder
                    : throw new InvalidOperationException($"kafkajs is not installed: cd {folder} && npm ci");
            }
        }

        throw new InvalidOperationException("tests/Coordinator.Tests/node not found above " + AppContext.BaseDirectory);
    }

    /// <summary>
    /// Confluent.Kafka (.NET, 1.9.3 on Debian's librdkafka 2.0.2) as an application: AdminClient
    /// creates a topic, an idempotent producer (acks=all) sends 5,000 keyed records, a group
    /// consumer reads each exactly once in key order and commits, ListGroups/DescribeGroups show the group.
    /// </summary>
    [Fact]
    public async Task Confluent_Kafka_dotnet_creates_produces_idempotently_consumes_in_a_group_and_commits()
    {
        string client = AppContext.BaseDirectory.Replace($"{Path.DirectorySeparatorChar}Coordinator.Tests{Path.DirectorySeparatorChar}", $"{Path.DirectorySeparatorChar}ConfluentClient{Path.DirectorySeparatorChar}", StringComparison.Ordinal);
        string dll = Path.Combine(client, "ConfluentClient.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: build tests/ConfluentClient (./test.sh builds the solution).");

        JsonElement r = await RunJsonAsync("dotnet", null, null, dll, fixture.Bootstrap, "dotnet-topic", "dotnet-group", "5000");

        Assert.Equal("2.0.2", r.GetProperty("librdkafka").GetString());
        Assert.Equal(5000, r.GetProperty("persisted").GetInt32());
        Assert.Equal(5000, r.GetProperty("consumed").GetInt32());
        Assert.Equal(0, r.GetProperty("duplicates").GetInt32());
        Assert.Equal(0, r.GetProperty("outOfOrder").GetInt32());
        Assert.Equal(5000, r.GetProperty("committedTotal").GetInt64());
        Assert.True(r.GetProperty("listed").GetBoolean(), "the group was not listed as an empty consumer group");

        // The broker side agrees: the group's committed offsets sum to the records produced.
        await using var admin = new KafkaClient(new KafkaClientOptions { BootstrapServers = fixture.Bootstrap.Split(','), ClientId = "coordinator-tests" });
        var groups = new GroupAdmin(admin);
        KafkaNode coordinator = await groups.FindCoordinatorAsync("dotnet-group", CancellationToken.None);
        IReadOnlyDictionary<(string Topic, int Partition), long> committed = await groups.CommittedAsync(coordinator, "dotnet-group", CancellationToken.None);
        Assert.Equal(5000, Enumerable.Range(0, 3).Sum(p => committed.GetValueOrDefault(("dotnet-topic", p), 0)));
    }

    [Fact]
    public async Task Kcat_balanced_consumer_reads_everything_and_commits()
    {
        await using KafkaClient client = await TopicWithRecordsAsync("kcat-topic", 3, 10);

        string output = await RunKcatAsync("-b", fixture.Bootstrap, "-G", "kcat-group", "-o", "beginning", "-c", "30", "-f", "%p:%o\\n", "kcat-topic");

        Assert.Equal(30, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Distinct().Count());
        var admin = new GroupAdmin(client);
        KafkaNode coordinator = await admin.FindCoordinatorAsync("kcat-group", CancellationToken.None);
        IReadOnlyDictionary<(string Topic, int Partition), long> committed = await admin.CommittedAsync(coordinator, "kcat-group", CancellationToken.None);
        Assert.Equal([10L, 10L, 10L], Enumerable.Range(0, 3).Select(p => committed.GetValueOrDefault(("kcat-topic", p), -1)));
    }

    [Fact]
    public async Task A_restarted_static_member_gets_its_partitions_back_without_a_rebalance()
    {
        await using KafkaClient client = await TopicWithRecordsAsync("static-topic", 4, 1);

        JsonElement r = await RunScriptAsync("confluent_group.py", null, "static", fixture.Bootstrap, "static-topic", "static-group", "4");

        Assert.True(r.GetProperty("balanced").GetBoolean(), r.ToString());
        Assert.True(r.GetProperty("rejoined").GetBoolean(), r.ToString());
        Assert.Equal(r.GetProperty("a_before").ToString(), r.GetProperty("a_after").ToString());
        Assert.Equal(0, r.GetProperty("b_callbacks_during_restart").GetInt32());
    }

    [Fact]
    public async Task Cooperative_sticky_consumers_rebalance_incrementally()
    {
        await using KafkaClient client = await TopicWithRecordsAsync("coop-topic", 6, 1);

        JsonElement r = await RunScriptAsync("confluent_group.py", null, "cooperative", fixture.Bootstrap, "coop-topic", "coop-group", "6");

        Assert.True(r.GetProperty("alone").GetBoolean(), r.ToString());
        Assert.True(r.GetProperty("balanced").GetBoolean(), r.ToString());
        List<int[]> revoked = [.. r.GetProperty("a_revoke_calls").EnumerateArray().Select(c => c.EnumerateArray().Select(p => p.GetInt32()).ToArray())];
        Assert.NotEmpty(revoked);
        Assert.All(revoked, c => Assert.True(c.Length < 6, $"a gave up all its partitions at once: {r}"));
        Assert.True(revoked.SelectMany(c => c).Distinct().Count() == 3, $"a should give up exactly the 3 partitions b takes: {r}");
    }

    [Fact]
    public async Task Every_client_sees_exactly_the_brokers_and_can_place_replicas_on_all_it_sees()
    {
        int[] brokers = [101, 102, 103]; // the two coordinator nodes (201, 202) are an internal tier

        string kcat = await RunKcatAsync("-b", fixture.Bootstrap, "-L");
        Assert.Equal(brokers, System.Text.RegularExpressions.Regex.Matches(kcat, @"broker (\d+) at").Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).Order());

        JsonElement r = await RunScriptAsync("cluster_checks.py", null, "view", fixture.Bootstrap, "placement");
        Assert.Equal(brokers, r.GetProperty("kafka_python").EnumerateArray().Select(b => b.GetInt32()));
        Assert.Equal(brokers, r.GetProperty("confluent").EnumerateArray().Select(b => b.GetInt32()));
        Assert.True(r.GetProperty("placement-a").ValueKind == JsonValueKind.Null, r.ToString()); // explicit assignment over every broker seen
        Assert.True(r.GetProperty("placement-rf").ValueKind == JsonValueKind.Null, r.ToString()); // replication factor = brokers seen
        Assert.All(r.GetProperty("replicas_a").EnumerateObject(), p => Assert.Equal(brokers, p.Value.EnumerateArray().Select(b => b.GetInt32())));

        string folder = NodeFolder();
        JsonElement kafkajs = await RunJsonAsync("node", folder, null, Path.Combine(folder, "kafkajs-cluster.js"), fixture.Bootstrap);
        Assert.Equal(brokers, kafkajs.GetProperty("brokers").EnumerateArray().Select(b => b.GetInt32()));
        Assert.Contains(kafkajs.GetProperty("controller").GetInt32(), brokers);
    }

    [Fact]
    public async Task A_commit_to_a_topic_that_does_not_exist_is_refused_and_not_stored()
    {
        JsonElement r = await RunScriptAsync("cluster_checks.py", null, "commit", fixture.Bootstrap, "typo");

        Assert.Contains("UNKNOWN_TOPIC_OR_PART", r.GetProperty("commit_error").GetString() ?? "", StringComparison.Ordinal);
        Assert.Equal([-1001L], r.GetProperty("committed").EnumerateArray().Select(o => o.GetInt64())); // OFFSET_INVALID: nothing stored
    }

    [Fact]
    public async Task Admin_clients_list_every_group_of_the_cluster_once()
    {
        await using KafkaClient client = await TopicWithRecordsAsync("listed", 1, 1);

        JsonElement r = await RunScriptAsync("cluster_checks.py", null, "list", fixture.Bootstrap, "listed");

        Assert.All(r.GetProperty("kafka_python").EnumerateObject(), g => Assert.True(g.Value.GetInt32() == 1, r.ToString()));
        Assert.All(r.GetProperty("confluent").EnumerateObject(), g => Assert.True(g.Value.GetInt32() == 1, r.ToString()));
    }

    [Fact]
    public Task Killing_the_broker_the_group_uses_as_coordinator_moves_it_and_no_record_is_lost() =>
        KillMidConsumptionAsync("broker-failover", async (admin, group) =>
        {
            KafkaNode coordinator = await admin.FindCoordinatorAsync(group, CancellationToken.None);
            Assert.InRange(coordinator.Id, 101, 103); // clients are sent to a broker
            return $"broker-{coordinator.Id - 100}";
        }, async (admin, group) => $"broker-{(await admin.FindCoordinatorAsync(group, CancellationToken.None)).Id - 100}");

    [Fact]
    public Task Killing_the_coordinator_moves_the_group_and_no_record_is_lost() =>
        KillMidConsumptionAsync("failover", (_, group) => CoordinatorNodeOfAsync(group), (_, group) => CoordinatorNodeOfAsync(group));

    /// <summary>
    /// Two confluent-kafka consumers of a group read 40 records committing each; once half are read the
    /// node <paramref name="victim"/> names is killed with -9 and 40 more are produced. All 80 must be
    /// read, the commits must go on (20 per partition at the end), no member may lose its assignment, and
    /// afterwards <paramref name="now"/> must name another node. The victim is restarted at the end.
    /// </summary>
    private async Task KillMidConsumptionAsync(string name, Func<GroupAdmin, string, Task<string>> victim, Func<GroupAdmin, string, Task<string>> now)
    {
        string topic = $"{name}-topic", group = $"{name}-group";
        await using KafkaClient client = await TopicWithRecordsAsync(topic, 4, 10);
        var admin = new GroupAdmin(client);
        string? killed = null;

        JsonElement r = await RunScriptAsync("confluent_group.py", async line =>
        {
            if (line != "READY")
            {
                return;
            }

            killed = await victim(admin, group);
            await fixture.Cluster.Node(killed).KillAsync();
            for (int p = 0; p < 4; p++)
            {
                await client.ProduceAsync(topic, p, [.. Enumerable.Range(0, 10).Select(i => new ProducerRecord(null, [(byte)i]))], acks: -1);
            }
        }, "failover", fixture.Bootstrap, topic, group, "4", "80");

        try
        {
            Assert.NotNull(killed);
            Assert.True(r.GetProperty("half").GetBoolean(), r.ToString());
            Assert.True(r.GetProperty("all").GetBoolean(), r.ToString());
            Assert.Equal(80, r.GetProperty("records").GetInt32());
            Assert.True(r.GetProperty("committed").GetBoolean(), r.ToString());
            Assert.True(r.GetProperty("revokes_after_ready").GetInt32() == 0, $"the members lost their assignment in the move: {r}");
            Assert.NotEqual(killed, await now(admin, group));
            KafkaNode coordinator = await admin.FindCoordinatorAsync(group, CancellationToken.None);
            IReadOnlyDictionary<(string Topic, int Partition), long> committed = await admin.CommittedAsync(coordinator, group, CancellationToken.None);
            Assert.Equal([20L, 20L, 20L, 20L], Enumerable.Range(0, 4).Select(p => committed.GetValueOrDefault((topic, p), -1)));
        }
        finally
        {
            if (killed is not null)
            {
                await fixture.Cluster.Node(killed).RestartAsync();
            }
        }
    }

    /// <summary>
    /// The coordinator node (its resource name) that owns the group's <c>__consumer_offsets</c>
    /// partition, from the coordinators' <c>aspire_kafka_coordinator_partition_owned</c> gauge
    /// (clients only ever see the broker that leads the partition).
    /// </summary>
    private async Task<string> CoordinatorNodeOfAsync(string group)
    {
        string label = $"partition=\"{Aspire.Kafka.Metadata.CoordinatorsImage.PartitionFor(group, 6)}\"";
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var owners = new List<string>();
            foreach (string node in new[] { "coordinator-1", "coordinator-2" })
            {
                try
                {
                    string metrics = await MetricsHttp.GetStringAsync(new Uri($"http://{fixture.Cluster.Node(node).Address("http")}/metrics"));
                    if (MetricsProcessTests.Samples(metrics, "aspire_kafka_coordinator_partition_owned", label).Sum() > 0)
                    {
                        owners.Add(node);
                    }
                }
                catch (HttpRequestException)
                {
                    // a killed coordinator owns nothing
                }
            }

            if (owners.Count == 1)
            {
                return owners[0];
            }

            Assert.True(DateTime.UtcNow < deadline, $"no single coordinator owns {label}: {string.Join(", ", owners)}");
            await Task.Delay(200); // polling interval
        }
    }

    private static readonly HttpClient MetricsHttp = new();

    private static async Task<string> RunKcatAsync(params string[] args)
    {
        var info = new ProcessStartInfo("kcat") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("kcat is not installed: apt-get install -y kcat", e);
        }

        using (process)
        {
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"kcat did not finish within 90 s: {await stderr}");
            }

            Assert.True(process.ExitCode == 0, $"kcat exited with {process.ExitCode}: {await stderr}");
            return await stdout;
        }
    }
}
