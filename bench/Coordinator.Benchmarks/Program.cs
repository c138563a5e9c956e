using System.Diagnostics;
using System.Globalization;
using Aspire.Kafka.Client;
using Aspire.Kafka.Coordinator.Benchmarks;
using Aspire.Kafka.Hosting;
using Aspire.Kafka.Topology;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

// The consumer-group coordinator benchmark of issue 7: a controller, three brokers and two
// coordinators as processes through libs/Hosting (the services' existing builds, not rebuilt),
// driven by raw protocol requests of libs/Client:
//   1. sustained offset commits per second: C committers (one group each, own connection to the
//      group's coordinator) commit offsets for P partitions per OffsetCommit (standalone commits,
//      generation -1) in a loop for a fixed duration; commits/s and commit latency p50/p99;
//   2. rebalance time of a 10-member consumer group (range assignment by the leader, KIP-394
//      member-id round): from the first JoinGroup sent until every member has its SyncGroup
//      assignment in the same generation (Stable), for a new group each time, and for an 11th
//      member joining (and leaving) an existing stable group. One cluster per
//      group.initial.rebalance.delay.ms value (--delays), since that delay dominates a new group.
// Usage: dotnet run -c Release --project bench/Coordinator.Benchmarks -- [--duration S] [--committers 1,8,32]
//        [--partitions 16] [--members 10] [--rebalances 20] [--delays 0,3000] [--heartbeat-ms 100]
//        [--offsets-partitions 50] [--configuration Debug|Release]
var options = BenchOptions.Parse(args);
string loadAtStart = Bench.LoadAverage();
Console.WriteLine($"coordinator benchmark: 1 controller, 3 brokers, 2 coordinators on loopback ({options.Configuration} builds of the services); "
    + $"{Environment.ProcessorCount} cores, .NET {Environment.Version}, load average {loadAtStart}");
Console.WriteLine($"  commits: {options.Duration.TotalSeconds:F0} s per level, committers {string.Join('/', options.Committers)}, {options.Partitions} partitions per OffsetCommit; "
    + $"rebalances: {options.Members} members, {options.Rebalances} repetitions, heartbeat every {options.HeartbeatMs} ms; __consumer_offsets {options.OffsetsPartitions} partitions");

foreach (string stale in options.StaleBuilds())
{
    Console.WriteLine($"  warning: {stale}; build it (dotnet build -c {options.Configuration} services/...) or pass --configuration");
}

var rows = new List<ResultRow>();
bool first = true;
foreach (int delay in options.Delays)
{
    Console.WriteLine($"starting the cluster with group.initial.rebalance.delay.ms={delay}...");
    var started = Stopwatch.StartNew();
    TestCluster cluster;
    try
    {
        cluster = await Bench.StartClusterAsync(options, delay);
    }
    catch (Exception e)
    {
        Console.Error.WriteLine($"the cluster did not start: {e.Message}");
        return 1;
    }

    await using (cluster)
    {
        Console.WriteLine($"  healthy after {started.Elapsed.TotalSeconds:F1} s");
        await using var bench = new Bench(cluster, options);
        try
        {
            await bench.SetupAsync();
            if (first)
            {
                await bench.CommitAsync("warmup", 8, TimeSpan.FromSeconds(3));
                foreach (int committers in options.Committers)
                {
                    string load = Bench.LoadAverage();
                    WriteCounters before = await bench.WriteCountersAsync();
                    CommitResult r = await bench.CommitAsync($"commit-{committers}", committers, options.Duration);
                    WriteCounters during = (await bench.WriteCountersAsync()) - before;
                    string errors = r.Errors == 0 ? "" : $", {r.Errors} failed commits ({r.FirstError})";
                    Console.WriteLine($"  {committers,2} committers: {r.Rate,8:F0} commits/s ({r.Rate * options.Partitions:F0} offsets/s), latency p50 {r.P50:F2} ms, p99 {r.P99:F2} ms{errors}");
                    Console.WriteLine($"      {r.Count} commits: {during.Produces:F0} Produce requests to the brokers; the coordinators' {during.Writes:F0} writes in {during.Appends:F0} appends "
                        + $"({(during.Appends > 0 ? during.Writes / during.Appends : double.NaN):F2} writes per append; 0/0 when the coordinators do not count them)");
                    rows.Add(new ResultRow($"offset commits, {committers} committer(s) x {options.Partitions} partitions",
                        $"{r.Rate:F0} commits/s ({r.Rate * options.Partitions:F0} offsets/s)", $"{r.P50:F2} ms", $"{r.P99:F2} ms", $"{r.Count} commits{errors}", load));
                }
            }

            await bench.NewGroupRebalancesAsync($"warmup-{delay}", 2); // JIT of the group paths, not measured
            string rebalanceLoad = Bench.LoadAverage();
            List<double> fresh = await bench.NewGroupRebalancesAsync($"new-{delay}", options.Rebalances);
            string generations = string.Join(' ', bench.Generations.GroupBy(g => g).OrderBy(g => g.Key).Select(g => $"{g.Count()}x gen {g.Key}"));
            rows.Add(new ResultRow($"rebalance, new {options.Members}-member group, initial delay {delay} ms",
                "", $"{Bench.Percentile(fresh, 50):F0} ms", $"{Bench.Percentile(fresh, 99):F0} ms", $"{fresh.Count} groups, min {fresh.Min():F0} ms; stable in {generations}", rebalanceLoad));
            Console.WriteLine($"  new group (delay {delay} ms): p50 {Bench.Percentile(fresh, 50):F0} ms, p99 {Bench.Percentile(fresh, 99):F0} ms; each: {string.Join(' ', fresh.Zip(bench.Generations, (t, g) => $"{t:F0}ms/gen{g}"))}");

            if (first)
            {
                string load = Bench.LoadAverage();
                (List<double> joins, List<double> leaves) = await bench.ExistingGroupRebalancesAsync($"existing-{delay}", options.Rebalances);
                rows.Add(new ResultRow($"rebalance, member {options.Members + 1} joins a stable {options.Members}-member group",
                    "", $"{Bench.Percentile(joins, 50):F0} ms", $"{Bench.Percentile(joins, 99):F0} ms", $"{joins.Count} joins, min {joins.Min():F0} ms", load));
                rows.Add(new ResultRow($"rebalance, member {options.Members + 1} leaves (LeaveGroup)",
                    "", $"{Bench.Percentile(leaves, 50):F0} ms", $"{Bench.Percentile(leaves, 99):F0} ms", $"{leaves.Count} leaves, min {leaves.Min():F0} ms", load));
                Console.WriteLine($"  11th member joins: p50 {Bench.Percentile(joins, 50):F0} ms, p99 {Bench.Percentile(joins, 99):F0} ms; leaves: p50 {Bench.Percentile(leaves, 50):F0} ms, p99 {Bench.Percentile(leaves, 99):F0} ms");
            }
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"benchmark failed: {e}");
            foreach (ResourceProcess node in cluster.Nodes)
            {
                Console.Error.WriteLine($"{node.Resource.Name} ({node.State}):\n  " + string.Join("\n  ", node.Tail));
            }

            return 1;
        }
    }

    Bench.DeleteDataDirectory(delay);
    first = false;
}

Console.WriteLine();
Console.WriteLine($"Results ({options.Configuration} builds of the services; 2 shared cores: noisy, compare runs on the same machine only)");
Bench.PrintTable(["measure", "throughput", "p50", "p99", "samples", "load avg (1/5/15 min)"],
    [.. rows.Select(r => new[] { r.Measure, r.Throughput, r.P50, r.P99, r.Samples, r.Load })]);
Console.WriteLine("Rebalance time: from the first JoinGroup sent to the last member's SyncGroup response in the final generation; "
    + $"existing members learn of a rebalance from their heartbeat (every {options.HeartbeatMs} ms).");
return 0;

/// <summary>Writes to <c>__consumer_offsets</c> as the nodes count them: the brokers' Produce requests, the coordinators' appends and the writes they carried.</summary>
internal sealed record WriteCounters(double Produces, double Appends, double Writes)
{
    public static WriteCounters operator -(WriteCounters a, WriteCounters b) => new(a.Produces - b.Produces, a.Appends - b.Appends, a.Writes - b.Writes);
}

internal sealed record ResultRow(string Measure, string Throughput, string P50, string P99, string Samples, string Load);

internal sealed record CommitResult(double Rate, double P50, double P99, long Count, long Errors, string? FirstError);

internal sealed class BenchOptions
{
    public TimeSpan Duration { get; private set; } = TimeSpan.FromSeconds(10);

    public int[] Committers { get; private set; } = [1, 8, 32];

    public int Partitions { get; private set; } = 16;

    public int Members { get; private set; } = 10;

    public int Rebalances { get; private set; } = 20;

    public int[] Delays { get; private set; } = [0, 3000];

    public int HeartbeatMs { get; private set; } = 100;

    public int OffsetsPartitions { get; private set; } = 50;

    public string Configuration { get; private set; } = DefaultConfiguration();

    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions();
        static int Int(string s) => int.Parse(s, CultureInfo.InvariantCulture);
        static int[] Ints(string s) => [.. s.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(Int)];
        for (int i = 0; i < args.Length; i++)
        {
            string value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--duration": o.Duration = TimeSpan.FromSeconds(double.Parse(value, CultureInfo.InvariantCulture)); break;
                case "--committers": o.Committers = Ints(value); break;
                case "--partitions": o.Partitions = Int(value); break;
                case "--members": o.Members = Int(value); break;
                case "--rebalances": o.Rebalances = Int(value); break;
                case "--delays": o.Delays = Ints(value); break;
                case "--heartbeat-ms": o.HeartbeatMs = Int(value); break;
                case "--offsets-partitions": o.OffsetsPartitions = Int(value); break;
                case "--configuration" or "-c": o.Configuration = value; break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }

            i++;
        }

        return o;
    }

    /// <summary>Release when all three services have a Release build, else Debug (the benchmark does not build them).</summary>
    private static string DefaultConfiguration()
    {
        bool release = Bench.Services.All(s => File.Exists(AssemblyPath(s, "Release")));
        return release ? "Release" : "Debug";
    }

    /// <summary>The services whose build in <see cref="Configuration"/> is missing or older than their build in the other configuration (a stale build would be measured).</summary>
    public IEnumerable<string> StaleBuilds()
    {
        string other = Configuration == "Release" ? "Debug" : "Release";
        foreach ((string Project, string Assembly) service in Bench.Services)
        {
            var used = new FileInfo(AssemblyPath(service, Configuration));
            var alternative = new FileInfo(AssemblyPath(service, other));
            if (!used.Exists)
            {
                yield return $"{service.Assembly}: no {Configuration} build at {used.FullName}";
            }
            else if (alternative.Exists && alternative.LastWriteTimeUtc > used.LastWriteTimeUtc + TimeSpan.FromMinutes(1))
            {
                yield return $"{service.Assembly}: the {Configuration} build ({used.LastWriteTimeUtc:HH:mm} UTC) is older than the {other} build ({alternative.LastWriteTimeUtc:HH:mm} UTC), it may be stale";
            }
        }
    }

    private static string AssemblyPath((string Project, string Assembly) service, string configuration) =>
        Path.Combine(new DistributedApplicationOptions().ResolveRoot(), Path.GetDirectoryName(service.Project)!, "bin", configuration, "net10.0", service.Assembly);
}

internal sealed class Bench(TestCluster cluster, BenchOptions options) : IAsyncDisposable
{
    public const string Topic = "bench";

    public static readonly (string Project, string Assembly)[] Services =
    [
        (ServiceProjects.Controller, "Aspire.Kafka.ControllerService.dll"),
        (ServiceProjects.Broker, "Aspire.Kafka.Broker.dll"),
        (ServiceProjects.Coordinator, "Aspire.Kafka.Coordinator.dll"),
    ];

    private static readonly KafkaClientOptions ClientOptions = new()
    {
        ClientId = "coordinator-bench",
        RequestTimeout = TimeSpan.FromSeconds(60),
        SocketConnectionSetupTimeout = TimeSpan.FromSeconds(5),
    };

    private readonly Dictionary<int, KafkaConnection[]> _memberConnections = [];

    /// <summary>The generation each new group was stable in (1 = one rebalance; more = members arrived after the join phase had completed).</summary>
    public List<int> Generations { get; } = [];
    private KafkaConnection? _broker;

    public static async Task<TestCluster> StartClusterAsync(BenchOptions options, int initialRebalanceDelayMs)
    {
        string offsetsPartitions = options.OffsetsPartitions.ToString(CultureInfo.InvariantCulture);
        string delay = initialRebalanceDelayMs.ToString(CultureInfo.InvariantCulture);
        return await TestCluster.StartAsync(KafkaTopology.Plan([new ClusterSpec(KafkaTopology.Primary)
        {
            Controllers = 1,
            Brokers = 3,
            Coordinators = 2,
            ControllerConfig = new Dictionary<string, string> { ["broker.session.timeout.ms"] = "4000", ["offsets.topic.num.partitions"] = offsetsPartitions },
            BrokerConfig = new Dictionary<string, string> { ["broker.heartbeat.interval.ms"] = "500" },
            CoordinatorConfig = new Dictionary<string, string>
            {
                ["broker.heartbeat.interval.ms"] = "500",
                ["group.initial.rebalance.delay.ms"] = delay,
                ["offsets.topic.num.partitions"] = offsetsPartitions,
            },
        }]), new DistributedApplicationOptions
        {
            DataDirectory = DataDirectory(initialRebalanceDelayMs),
            Clean = true,
            BuildProjects = false,
            Configuration = options.Configuration,
            StopTimeout = TimeSpan.FromSeconds(10),
            StartupTimeout = TimeSpan.FromMinutes(3),
            Output = TextWriter.Null,
        });
    }

    public static string DataDirectory(int initialRebalanceDelayMs) =>
        Path.Combine(Path.GetTempPath(), $"coordinator-bench-{Environment.ProcessId}-{initialRebalanceDelayMs}");

    public static void DeleteDataDirectory(int initialRebalanceDelayMs)
    {
        try
        {
            Directory.Delete(DataDirectory(initialRebalanceDelayMs), recursive: true);
        }
        catch (IOException e)
        {
            Console.WriteLine($"  could not delete {DataDirectory(initialRebalanceDelayMs)}: {e.Message}");
        }
    }

    public static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "?";
        }
    }

    public static double Percentile(List<double> values, double p)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        List<double> sorted = [.. values.Order()];
        int index = (int)Math.Ceiling(p / 100 * sorted.Count) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Count - 1)];
    }

    public static void PrintTable(string[] header, List<string[]> rows)
    {
        int[] widths = [.. header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length)))];
        string Line(string[] cells) => "| " + string.Join(" | ", cells.Select((c, i) => c.PadRight(widths[i]))) + " |";
        Console.WriteLine(Line(header));
        Console.WriteLine("|" + string.Join("|", widths.Select(w => new string('-', w + 2))) + "|");
        foreach (string[] row in rows)
        {
            Console.WriteLine(Line(row));
        }
    }

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>
    /// Sums over the nodes' /metrics: the brokers' Produce requests
    /// (<c>kafka_network_requestmetrics_totaltime_seconds_count{request="Produce"}</c>) and the
    /// coordinators' <c>aspire_kafka_coordinator_log_appends_total</c> / <c>_writes_total</c>
    /// (absent from builds that do not batch: 0).
    /// </summary>
    public async Task<WriteCounters> WriteCountersAsync()
    {
        double produces = 0, appends = 0, writes = 0;
        foreach (ResourceProcess node in cluster.Nodes)
        {
            string name = node.Resource.Name;
            if (!name.StartsWith("broker", StringComparison.Ordinal) && !name.StartsWith("coordinator", StringComparison.Ordinal))
            {
                continue;
            }

            string text = await Http.GetStringAsync(new Uri($"http://{cluster.Node(name).Address("http")}/metrics"));
            foreach (string line in text.Split('\n'))
            {
                if (line.StartsWith("kafka_network_requestmetrics_totaltime_seconds_count{", StringComparison.Ordinal) && line.Contains("request=\"Produce\"", StringComparison.Ordinal)
                    && name.StartsWith("broker", StringComparison.Ordinal))
                {
                    produces += Value(line);
                }
                else if (line.StartsWith("aspire_kafka_coordinator_log_appends_total", StringComparison.Ordinal))
                {
                    appends += Value(line);
                }
                else if (line.StartsWith("aspire_kafka_coordinator_log_writes_total", StringComparison.Ordinal))
                {
                    writes += Value(line);
                }
            }
        }

        return new WriteCounters(produces, appends, writes);

        static double Value(string line) => double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }

    /// <summary>Creates the topic the groups subscribe to and waits until FindCoordinator answers for a group.</summary>
    public async Task SetupAsync()
    {
        string[] bootstrap = cluster.BootstrapServers("primary").Split(',');
        await using (var client = new KafkaClient(new KafkaClientOptions { BootstrapServers = bootstrap, ClientId = "coordinator-bench" }))
        {
            TopicResult created = (await client.CreateTopicsAsync([new NewTopic(Topic, options.Partitions, 3)])).Single();
            if (created.Error != ErrorCode.TopicAlreadyExists)
            {
                created.ThrowIfError();
            }
        }

        var broker = KafkaNode.Parse(bootstrap[0], -1);
        _broker = await KafkaConnection.ConnectAsync(broker.Host, broker.Port, ClientOptions);

        // One standalone commit per __consumer_offsets partition: every partition is loaded
        // (no COORDINATOR_LOAD_IN_PROGRESS) before anything is measured.
        var probes = new Dictionary<int, string>();
        for (int k = 0; probes.Count < options.OffsetsPartitions; k++)
        {
            string group = $"probe-{k}";
            probes.TryAdd(PartitionFor(group, options.OffsetsPartitions), group);
        }

        var connections = new Dictionary<int, KafkaConnection>();
        try
        {
            foreach (string group in probes.Values)
            {
                (int nodeId, string host, int port) = await FindCoordinatorAsync(group);
                if (!connections.TryGetValue(nodeId, out KafkaConnection? connection))
                {
                    connections[nodeId] = connection = await KafkaConnection.ConnectAsync(host, port, ClientOptions);
                }

                await CommitOnceAsync(connection, group, 0, waitForLoad: true);
            }
        }
        finally
        {
            foreach (KafkaConnection connection in connections.Values)
            {
                await connection.DisposeAsync();
            }
        }
    }

    /// <summary>The group's <c>__consumer_offsets</c> partition, as Kafka computes it: abs(Java String.hashCode) % partitions.</summary>
    private static int PartitionFor(string groupId, int partitions)
    {
        int h = 0;
        foreach (char c in groupId)
        {
            h = unchecked((31 * h) + c);
        }

        return (h & 0x7fffffff) % partitions;
    }

    /// <summary>FindCoordinator (v3) on a broker, retried while the coordinator is not available or loading.</summary>
    public async Task<(int NodeId, string Host, int Port)> FindCoordinatorAsync(string group)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            FindCoordinatorResponse response = await _broker!.SendAsync<FindCoordinatorRequest, FindCoordinatorResponse>(
                new FindCoordinatorRequest { Key = group, KeyType = 0 }, version: 3);
            if (response.ErrorCode == 0)
            {
                return (response.NodeId, response.Host, response.Port);
            }

            if (deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new TimeoutException($"FindCoordinator {group}: error {(ErrorCode)response.ErrorCode} for 60 s");
            }

            await Task.Delay(100);
        }
    }

    /// <summary><paramref name="committers"/> groups commit <see cref="BenchOptions.Partitions"/> offsets per request, each in a loop on its own connection, for <paramref name="duration"/>.</summary>
    public async Task<CommitResult> CommitAsync(string prefix, int committers, TimeSpan duration)
    {
        var connections = new KafkaConnection[committers];
        var groups = new string[committers];
        for (int c = 0; c < committers; c++)
        {
            groups[c] = $"{prefix}-{c}";
            (_, string host, int port) = await FindCoordinatorAsync(groups[c]);
            connections[c] = await KafkaConnection.ConnectAsync(host, port, ClientOptions);
            await CommitOnceAsync(connections[c], groups[c], 0, waitForLoad: true); // the group's partition is loaded
        }

        var latencies = new List<double>[committers];
        long errors = 0;
        string? firstError = null;
        var total = Stopwatch.StartNew();
        long end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        try
        {
            await Task.WhenAll(Enumerable.Range(0, committers).Select(c => Task.Run(async () =>
            {
                List<double> mine = latencies[c] = new List<double>(1 << 14);
                long offset = 1;
                while (Stopwatch.GetTimestamp() < end)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    ErrorCode error = await CommitOnceAsync(connections[c], groups[c], offset++, waitForLoad: false);
                    mine.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                    if (error != ErrorCode.None)
                    {
                        Interlocked.Increment(ref errors);
                        Interlocked.CompareExchange(ref firstError, error.ToString(), null);
                    }
                }
            })));
        }
        finally
        {
            foreach (KafkaConnection connection in connections)
            {
                await connection.DisposeAsync();
            }
        }

        double seconds = total.Elapsed.TotalSeconds;
        List<double> all = [.. latencies.SelectMany(l => l)];
        return new CommitResult(all.Count / seconds, Percentile(all, 50), Percentile(all, 99), all.Count, errors, firstError);
    }

    private async Task<ErrorCode> CommitOnceAsync(KafkaConnection connection, string group, long offset, bool waitForLoad)
    {
        var request = new OffsetCommitRequest
        {
            GroupId = group,
            GenerationIdOrMemberEpoch = -1,
            MemberId = "",
            Topics =
            [
                new OffsetCommitRequest.OffsetCommitRequestTopic
                {
                    Name = Topic,
                    Partitions = [.. Enumerable.Range(0, options.Partitions).Select(p => new OffsetCommitRequest.OffsetCommitRequestPartition { PartitionIndex = p, CommittedOffset = offset })],
                },
            ],
        };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            OffsetCommitResponse response = await connection.SendAsync<OffsetCommitRequest, OffsetCommitResponse>(request);
            var error = (ErrorCode)(response.Topics.SelectMany(t => t.Partitions).FirstOrDefault(p => p.ErrorCode != 0)?.ErrorCode ?? 0);
            if (!waitForLoad || error == ErrorCode.None)
            {
                return error;
            }

            if (error is not (ErrorCode.CoordinatorLoadInProgress or ErrorCode.CoordinatorNotAvailable or ErrorCode.NotCoordinator) || deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new InvalidOperationException($"OffsetCommit of {group}: {error}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Rebalance time of <paramref name="repetitions"/> new groups of <see cref="BenchOptions.Members"/> members, in ms.</summary>
    public async Task<List<double>> NewGroupRebalancesAsync(string prefix, int repetitions)
    {
        var times = new List<double>();
        Generations.Clear();
        for (int r = 0; r < repetitions; r++)
        {
            string group = $"{prefix}-{r}";
            KafkaConnection[] connections = await MemberConnectionsAsync(group);
            var tracker = new SyncTracker(options.Members);
            GroupMember[] members = [.. Enumerable.Range(0, options.Members).Select(i => new GroupMember(connections[i], group, i, tracker, options))];
            using var stop = new CancellationTokenSource();
            long t0 = Stopwatch.GetTimestamp();
            Task[] running = [.. members.Select(m => m.RunAsync(stop.Token))];
            (int generation, long done) = await WaitStableAsync(tracker, [.. Enumerable.Range(0, options.Members)], 0, running);
            times.Add(Stopwatch.GetElapsedTime(t0, done).TotalMilliseconds);
            Generations.Add(generation);
            CheckAssignment(members);
            await StopAsync(stop, running);
            await LeaveAsync(connections[0], group, members);
        }

        return times;
    }

    /// <summary>
    /// A stable group of <see cref="BenchOptions.Members"/> members; an extra member joins (rebalance
    /// time until all members have their assignment), then leaves with LeaveGroup (time until the others
    /// are stable again), <paramref name="repetitions"/> times.
    /// </summary>
    public async Task<(List<double> Joins, List<double> Leaves)> ExistingGroupRebalancesAsync(string group, int repetitions)
    {
        int n = options.Members;
        KafkaConnection[] connections = await MemberConnectionsAsync(group);
        var tracker = new SyncTracker(n + 1);
        GroupMember[] members = [.. Enumerable.Range(0, n).Select(i => new GroupMember(connections[i], group, i, tracker, options))];
        using var stop = new CancellationTokenSource();
        List<Task> running = [.. members.Select(m => m.RunAsync(stop.Token))];
        int[] original = [.. Enumerable.Range(0, n)];
        int[] withExtra = [.. Enumerable.Range(0, n + 1)];
        (int generation, _) = await WaitStableAsync(tracker, original, 0, running);
        var joins = new List<double>();
        var leaves = new List<double>();
        try
        {
            for (int r = 0; r < repetitions; r++)
            {
                var extra = new GroupMember(connections[n], group, n, tracker, options);
                using var stopExtra = new CancellationTokenSource();
                long t0 = Stopwatch.GetTimestamp();
                Task extraRunning = extra.RunAsync(stopExtra.Token);
                (generation, long joined) = await WaitStableAsync(tracker, withExtra, generation, [.. running, extraRunning]);
                joins.Add(Stopwatch.GetElapsedTime(t0, joined).TotalMilliseconds);
                CheckAssignment([.. members, extra]);

                await StopAsync(stopExtra, [extraRunning]);
                t0 = Stopwatch.GetTimestamp();
                LeaveGroupResponse left = await connections[n].SendAsync<LeaveGroupRequest, LeaveGroupResponse>(
                    new LeaveGroupRequest { GroupId = group, Members = [new LeaveGroupRequest.MemberIdentity { MemberId = extra.MemberId }] }, version: 3);
                if (left.ErrorCode != 0)
                {
                    throw new InvalidOperationException($"LeaveGroup of {extra.MemberId}: {(ErrorCode)left.ErrorCode}");
                }

                (generation, long rebalanced) = await WaitStableAsync(tracker, original, generation, running);
                leaves.Add(Stopwatch.GetElapsedTime(t0, rebalanced).TotalMilliseconds);
                CheckAssignment(members);
            }
        }
        finally
        {
            await StopAsync(stop, running);
        }

        await LeaveAsync(connections[0], group, members);
        return (joins, leaves);
    }

    /// <summary>Waits until the members <paramref name="indices"/> all got their assignment in one generation above <paramref name="above"/>; fails when a member fails.</summary>
    private static async Task<(int Generation, long Timestamp)> WaitStableAsync(SyncTracker tracker, int[] indices, int above, IReadOnlyList<Task> running)
    {
        Task<(int, long)> stable = tracker.WaitAsync(indices, above);
        Task timeout = Task.Delay(TimeSpan.FromSeconds(120));
        while (!stable.IsCompleted)
        {
            Task first = await Task.WhenAny([stable, timeout, .. running.Where(t => !t.IsCompleted)]);
            if (first == timeout)
            {
                throw new TimeoutException($"the group did not become stable within 120 s: {tracker}");
            }

            if (first != stable)
            {
                await first; // a member failed: throws its exception
                throw new InvalidOperationException("a member stopped before the group was stable");
            }
        }

        return await stable;
    }

    private void CheckAssignment(IReadOnlyList<GroupMember> members)
    {
        List<int> assigned = [.. members.SelectMany(m => m.Assigned).Order()];
        if (!assigned.SequenceEqual(Enumerable.Range(0, options.Partitions)))
        {
            throw new InvalidOperationException($"the assignment does not cover {Topic} 0..{options.Partitions - 1} exactly once: [{string.Join(',', assigned)}]");
        }
    }

    private static async Task StopAsync(CancellationTokenSource stop, IEnumerable<Task> running)
    {
        await stop.CancelAsync();
        foreach (Task task in running)
        {
            try
            {
                await task;
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private static async Task LeaveAsync(KafkaConnection connection, string group, IEnumerable<GroupMember> members)
    {
        await connection.SendAsync<LeaveGroupRequest, LeaveGroupResponse>(new LeaveGroupRequest
        {
            GroupId = group,
            Members = [.. members.Where(m => m.MemberId.Length > 0).Select(m => new LeaveGroupRequest.MemberIdentity { MemberId = m.MemberId })],
        }, version: 3);
    }

    /// <summary>One connection per member (and one for an extra member) to the group's coordinator, reused across groups.</summary>
    private async Task<KafkaConnection[]> MemberConnectionsAsync(string group)
    {
        (int nodeId, string host, int port) = await FindCoordinatorAsync(group);
        if (!_memberConnections.TryGetValue(nodeId, out KafkaConnection[]? connections))
        {
            connections = new KafkaConnection[options.Members + 1];
            for (int i = 0; i < connections.Length; i++)
            {
                connections[i] = await KafkaConnection.ConnectAsync(host, port, ClientOptions);
            }

            _memberConnections[nodeId] = connections;
        }

        return connections;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (KafkaConnection connection in _memberConnections.Values.SelectMany(c => c))
        {
            await connection.DisposeAsync();
        }

        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }
    }
}
