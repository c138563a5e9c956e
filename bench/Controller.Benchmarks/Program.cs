using System.Diagnostics;
using System.Globalization;
using Aspire.Kafka.Client;
using Aspire.Kafka.Hosting;
using Aspire.Kafka.Topology;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

// The controller quorum benchmark of issue 5: three controller processes (Release build) on
// loopback, a stand-in broker (raw BrokerRegistration + heartbeats) so topics can be placed, then
//   1. topic creations per second: CreateTopics with one topic per request from C concurrent
//      clients (each its own connection to the active controller), and the latency of each request
//      (a response leaves once the records are committed by a majority: the commit latency,
//      controller.quorum.append.linger.ms included), p50 / p99, also for one client alone;
//   2. election time after kill -9 of the leader: from the kill until a survivor answers
//      DescribeQuorum as leader of a later epoch with a high watermark past the old one
//      (it committed), median of K kills (the killed node restarts and catches up in between).
// Usage: dotnet run -c Release --project bench/Controller.Benchmarks -- [--topics N] [--clients C] [--kills K] [--linger MS]
int topics = 2000;
int clients = 8;
int kills = 20;
string? linger = null;
for (int i = 0; i < args.Length - 1; i++)
{
    switch (args[i])
    {
        case "--topics": topics = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--clients": clients = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--kills": kills = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--linger": linger = args[i + 1]; break;
    }
}

int[] ids = [1, 2, 3];
string dataDirectory = Path.Combine(Path.GetTempPath(), "controller-bench-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
var controllers = new List<ResourceBuilder>();
Console.WriteLine($"controller benchmark: 3 voters on loopback, {topics} topics from {clients} clients, {kills} leader kills; {Environment.ProcessorCount} cores, .NET {Environment.Version}");
Console.WriteLine("building and starting the controllers (Release)...");
// The data directory is ours (a fixed place the report names), so we delete it at the end.
TestCluster cluster = await TestCluster.StartAsync(KafkaTopology.Plan([new ClusterSpec(KafkaTopology.Primary)
{
    Controllers = ids.Length,
    Brokers = 0,
    Coordinators = 0,
    ControllerConfig = linger is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["controller.quorum.append.linger.ms"] = linger },
}]), new DistributedApplicationOptions
{
    DataDirectory = dataDirectory,
    Clean = true,
    BuildProjects = true,
    Configuration = "Release",
    StopTimeout = TimeSpan.FromSeconds(10),
    Output = TextWriter.Null,
});

var bench = new Bench(cluster);
try
{
    (int leader, _) = await bench.WaitForLeaderAsync(ids, _ => true, TimeSpan.FromSeconds(20));
    Console.WriteLine($"leader: controller-{leader}");
    using var heartbeats = new CancellationTokenSource();
    Task broker = await bench.RunBrokerAsync(101, heartbeats.Token);

    // Warm-up (JIT, connections), not measured.
    await bench.CreateTopicsAsync("warmup", 50, 4);

    (double single, List<double> singleLatencies) = await bench.CreateTopicsAsync("single", Math.Min(topics / 4, 500), 1);
    Console.WriteLine($"CreateTopics, 1 client:       {single,8:F0} topics/s   commit latency p50 {Bench.Percentile(singleLatencies, 50):F2} ms, p99 {Bench.Percentile(singleLatencies, 99):F2} ms");
    (double rate, List<double> latencies) = await bench.CreateTopicsAsync("topic", topics, clients);
    Console.WriteLine($"CreateTopics, {clients} clients:      {rate,8:F0} topics/s   commit latency p50 {Bench.Percentile(latencies, 50):F2} ms, p99 {Bench.Percentile(latencies, 99):F2} ms");

    var elections = new List<double>();
    for (int k = 0; k < kills; k++)
    {
        (int victim, DescribeQuorumResponse.PartitionData before) = await bench.WaitForLeaderAsync(ids,
            p => p.CurrentVoters.All(v => v.LogEndOffset >= p.HighWatermark), TimeSpan.FromSeconds(30));
        await cluster.Node($"controller-{victim}").KillAsync();
        var sinceKill = Stopwatch.StartNew();
        (int next, _) = await bench.WaitForLeaderAsync(ids.Where(id => id != victim),
            p => p.LeaderEpoch > before.LeaderEpoch && p.HighWatermark > before.HighWatermark, TimeSpan.FromSeconds(30), pollMs: 5);
        elections.Add(sinceKill.Elapsed.TotalMilliseconds);
        Console.WriteLine($"  kill {k + 1,2}: leader {victim} (epoch {before.LeaderEpoch}) -> {next}: {elections[^1]:F0} ms");
        await cluster.Node($"controller-{victim}").RestartAsync();
    }

    if (elections.Count > 0)
    {
        Console.WriteLine($"election after kill -9 of the leader: median {Bench.Percentile(elections, 50):F0} ms, min {elections.Min():F0} ms, max {elections.Max():F0} ms ({elections.Count} kills)");
    }

    await heartbeats.CancelAsync();
    await broker;
}
catch (Exception e)
{
    Console.Error.WriteLine($"benchmark failed: {e.Message}");
    foreach (int id in ids)
    {
        Console.Error.WriteLine($"controller-{id} ({cluster.Node($"controller-{id}").State}):\n  " + string.Join("\n  ", cluster.Node($"controller-{id}").Tail));
    }

    return 1;
}
finally
{
    await cluster.DisposeAsync();
    try
    {
        Directory.Delete(dataDirectory, recursive: true);
    }
    catch (IOException e)
    {
        Console.Error.WriteLine($"could not delete {dataDirectory}: {e.Message}");
    }
}

return 0;

internal sealed class Bench(TestCluster cluster)
{
    private static readonly KafkaClientOptions ClientOptions = new() { RequestTimeout = TimeSpan.FromSeconds(10), SocketConnectionSetupTimeout = TimeSpan.FromSeconds(2) };
    private int _leader = -1;

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

    public async Task<KafkaConnection> ConnectAsync(int id)
    {
        var node = KafkaNode.Parse(cluster.Node($"controller-{id}").Resource.GetEndpoint(KafkaTopology.ControllerListener)!.Address, id);
        return await KafkaConnection.ConnectAsync(node.Host, node.Port, ClientOptions);
    }

    public async Task<(int LeaderId, DescribeQuorumResponse.PartitionData State)> WaitForLeaderAsync(
        IEnumerable<int> nodes, Func<DescribeQuorumResponse.PartitionData, bool> accept, TimeSpan timeout, int pollMs = 25)
    {
        int[] ids = [.. nodes];
        var deadline = DateTime.UtcNow + timeout;
        var request = new DescribeQuorumRequest
        {
            Topics = [new DescribeQuorumRequest.TopicData { TopicName = "__cluster_metadata", Partitions = [new DescribeQuorumRequest.PartitionData { PartitionIndex = 0 }] }],
        };
        var connections = new Dictionary<int, KafkaConnection>();
        try
        {
            while (DateTime.UtcNow < deadline)
            {
                foreach (int id in ids)
                {
                    try
                    {
                        if (!connections.TryGetValue(id, out KafkaConnection? connection))
                        {
                            connections[id] = connection = await ConnectAsync(id);
                        }

                        DescribeQuorumResponse response = await connection.SendAsync<DescribeQuorumRequest, DescribeQuorumResponse>(request);
                        DescribeQuorumResponse.PartitionData p = response.Topics[0].Partitions[0];
                        if (p.ErrorCode == 0 && p.LeaderId == id && accept(p))
                        {
                            _leader = id;
                            return (id, p);
                        }
                    }
                    catch (Exception e) when (e is KafkaClientException or IOException)
                    {
                        if (connections.Remove(id, out KafkaConnection? broken))
                        {
                            await broken.DisposeAsync();
                        }
                    }
                }

                await Task.Delay(pollMs);
            }
        }
        finally
        {
            foreach (KafkaConnection connection in connections.Values)
            {
                await connection.DisposeAsync();
            }
        }

        throw new TimeoutException($"no leader within {timeout.TotalSeconds} s");
    }

    /// <summary>Registers a broker and heartbeats it until cancelled; returns once it is unfenced.</summary>
    public async Task<Task> RunBrokerAsync(int brokerId, CancellationToken cancellationToken)
    {
        string clusterId = cluster.Node("controller-1").Resource.ClusterId!;
        BrokerRegistrationResponse registered = await SendToControllerAsync<BrokerRegistrationRequest, BrokerRegistrationResponse>(new BrokerRegistrationRequest
        {
            BrokerId = brokerId,
            ClusterId = clusterId,
            IncarnationId = new KafkaUuid(brokerId, 1),
            Listeners = [new BrokerRegistrationRequest.Listener { Name = "PLAINTEXT", Host = "127.0.0.1", Port = 19092, SecurityProtocol = 0 }],
            Features = [new BrokerRegistrationRequest.Feature { Name = "metadata.version", MinSupportedVersion = 1, MaxSupportedVersion = 19 }],
        }, r => r.ErrorCode == (short)ErrorCode.NotController);
        if (registered.ErrorCode != 0)
        {
            throw new InvalidOperationException($"broker registration failed: {registered.ErrorCode}");
        }

        async Task<bool> Beat() => !(await SendToControllerAsync<BrokerHeartbeatRequest, BrokerHeartbeatResponse>(new BrokerHeartbeatRequest
        {
            BrokerId = brokerId,
            BrokerEpoch = registered.BrokerEpoch,
            CurrentMetadataOffset = registered.BrokerEpoch + 1,
        }, r => r.ErrorCode == (short)ErrorCode.NotController)).IsFenced;

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!await Beat())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("the broker stayed fenced");
            }

            await Task.Delay(50, cancellationToken);
        }

        return Task.Run(async () =>
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(500, cancellationToken);
                    await Beat();
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                }
                catch (Exception e) when (e is KafkaClientException or IOException or TimeoutException)
                {
                    // An election in progress: the next heartbeat finds the new controller.
                }
            }
        }, CancellationToken.None);
    }

    /// <summary>Creates <paramref name="count"/> topics (one per CreateTopics request) from <paramref name="clientCount"/> concurrent connections; topics/s and per-request latencies in ms.</summary>
    public async Task<(double Rate, List<double> Latencies)> CreateTopicsAsync(string prefix, int count, int clientCount)
    {
        int leader = _leader;
        var latencies = new List<double>[clientCount];
        int next = -1;
        var total = Stopwatch.StartNew();
        int leaderChanges = 0;
        await Task.WhenAll(Enumerable.Range(0, clientCount).Select(async c =>
        {
            latencies[c] = [];
            KafkaConnection connection = await ConnectAsync(leader);
            try
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < count)
                {
                    var request = new CreateTopicsRequest
                    {
                        Topics = [new CreateTopicsRequest.CreatableTopic { Name = string.Create(CultureInfo.InvariantCulture, $"{prefix}-{i:D6}"), NumPartitions = 1, ReplicationFactor = 1 }],
                        TimeoutMs = 10_000,
                    };
                    long start = Stopwatch.GetTimestamp();
                    while (true)
                    {
                        CreateTopicsResponse response = await connection.SendAsync<CreateTopicsRequest, CreateTopicsResponse>(request);
                        short error = response.Topics[0].ErrorCode;
                        if (error == 0 || (error == (short)ErrorCode.TopicAlreadyExists && leaderChanges > 0))
                        {
                            break;
                        }

                        if (error != (short)ErrorCode.NotController)
                        {
                            throw new InvalidOperationException($"CreateTopics {request.Topics[0].Name}: error {error} {response.Topics[0].ErrorMessage}");
                        }

                        // The leadership moved (an election under load): follow it, the latency includes the wait.
                        Interlocked.Increment(ref leaderChanges);
                        await connection.DisposeAsync();
                        (int current, _) = await WaitForLeaderAsync([1, 2, 3], _ => true, TimeSpan.FromSeconds(30));
                        connection = await ConnectAsync(current);
                    }

                    latencies[c].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
            }
            finally
            {
                await connection.DisposeAsync();
            }
        }));
        if (leaderChanges > 0)
        {
            Console.WriteLine($"  ({prefix}: {leaderChanges} request(s) met NOT_CONTROLLER and followed a leader change: the machine is overloaded, numbers are not representative)");
        }

        double seconds = total.Elapsed.TotalSeconds;
        return (count / seconds, [.. latencies.SelectMany(l => l)]);
    }

    private async Task<TResponse> SendToControllerAsync<TRequest, TResponse>(TRequest request, Func<TResponse, bool> isNotController)
        where TRequest : class, IApiMessage<TRequest>
        where TResponse : class, IApiMessage<TResponse>
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            foreach (int id in new[] { 1, 2, 3 }.OrderBy(id => id == _leader ? 0 : 1))
            {
                if (cluster.Node($"controller-{id}").State != ResourceState.Healthy)
                {
                    continue;
                }

                try
                {
                    await using KafkaConnection connection = await ConnectAsync(id);
                    TResponse response = await connection.SendAsync<TRequest, TResponse>(request);
                    if (!isNotController(response))
                    {
                        _leader = id;
                        return response;
                    }
                }
                catch (Exception e) when (e is KafkaClientException or IOException)
                {
                    // Not reachable now: try the next one.
                }
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"no active controller answered {typeof(TRequest).Name}");
    }
}
