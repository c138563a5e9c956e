// The broker benchmark of issue 6 (see README.md): librdkafka's C API (native/rdkperf.c, built here
// with cc against Debian's librdkafka-dev) and kcat against a real cluster (1 controller, 3 brokers,
// real processes through the launcher), and the storage engine's raw in-process append rate for
// the same record sizes in the same run.
using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Aspire.Kafka.Client;
using Aspire.Kafka.Hosting;
using Aspire.Kafka.Topology;
using Aspire.Kafka.Records;
using Aspire.Kafka.Storage;

const int Repeats = 3;
string rdkperf = BuildRdkperf();
if (args.Length > 0 && args[0] == "--consume")
{
    await ConsumeBenchmarkAsync(rdkperf, args[1..]);
    return 0;
}

double scale = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 1.0;

Console.WriteLine("Storage engine raw append (in-process UnifiedLog.AppendAsLeader, 16 KiB batches, pre-validated):");
var raw = new Dictionary<int, double>();
foreach (int size in new[] { 100, 1024 })
{
    raw[size] = RawAppendRecordsPerSecond(size, (int)(2_000_000 * scale));
    Console.WriteLine($"  {size,5} B records: {raw[size],12:N0} records/s");
}

// The runs write tens of GB (3 repeats x 4 configurations x 2 sizes, replicated): every topic keeps
// at most 512 MiB per partition (64 MiB segments, retention checked every 2 s), and the data
// directory goes when the benchmark ends.
string dataDirectory = Path.Combine(Path.GetTempPath(), "aspire-broker-bench-" + Guid.NewGuid().ToString("N")[..8]);
var topicConfigs = new Dictionary<string, string?> { ["retention.bytes"] = (512 << 20).ToString(CultureInfo.InvariantCulture), ["segment.bytes"] = (64 << 20).ToString(CultureInfo.InvariantCulture) };
try
{
    await using TestCluster cluster = await TestCluster.StartAsync(KafkaTopology.Plan([new ClusterSpec(KafkaTopology.Primary)
    {
        Controllers = 1,
        Brokers = 3,
        Coordinators = 0,
        BrokerConfig = new Dictionary<string, string> { ["log.retention.check.interval.ms"] = "2000" },
    }]), new DistributedApplicationOptions
    {
        DataDirectory = dataDirectory,
        BuildProjects = false,
        Configuration = "Release",
        StopTimeout = TimeSpan.FromSeconds(10),
        Output = TextWriter.Null,
    });
    string bootstrap = cluster.BootstrapServers("primary");
    await using (var admin = new KafkaClient(new KafkaClientOptions { BootstrapServers = bootstrap.Split(',') }))
    {
        foreach ((string name, int partitions, short rf) in new[] { ("warmup", 16, (short)3), ("p1-rf1", 1, (short)1), ("p16-rf1", 16, (short)1), ("p1-rf3", 1, (short)3), ("p16-rf3", 16, (short)3), ("kcat", 16, (short)1), ("latency", 16, (short)3), ("plain", 16, (short)3), ("idempotent", 16, (short)3) })
        {
            (await admin.CreateTopicsAsync([new NewTopic(name, partitions, rf, topicConfigs)])).Single().ThrowIfError();
        }
    }

    // The brokers' code is JIT-compiled on first use: one untimed run at full speed first.
    await RunAsync(rdkperf, "produce", bootstrap, "warmup", ((int)(2_000_000 * scale)).ToString(CultureInfo.InvariantCulture), "100", "all");

    Console.WriteLine();
    Console.WriteLine($"Produce (librdkafka 2.0.2 C API, one producer process; median of {Repeats} runs [min-max]):");
    Console.WriteLine("  size  acks RF partitions             records/s      MB/s  vs raw append  vs acks=1");
    var rates = new Dictionary<(int Size, string Acks, int Partitions), double>();
    int p16Rf3Records = 0;
    foreach (int size in new[] { 100, 1024 })
    {
        int records = (int)((size == 100 ? 4_000_000 : 1_000_000) * scale);
        foreach ((string acks, short rf) in new[] { ("1", (short)1), ("all", (short)3) })
        {
            foreach (int partitions in new[] { 1, 16 })
            {
                string topic = $"p{partitions}-rf{rf}";
                var runs = new List<double>();
                for (int r = 0; r < Repeats; r++)
                {
                    JsonElement result = await RunAsync(rdkperf, "produce", bootstrap, topic, records.ToString(CultureInfo.InvariantCulture), size.ToString(CultureInfo.InvariantCulture), acks);
                    runs.Add(result.GetProperty("records").GetInt64() / result.GetProperty("seconds").GetDouble());
                    if (topic == "p16-rf3" && size == 100)
                    {
                        p16Rf3Records += records;
                    }
                }

                runs.Sort();
                double rate = runs[runs.Count / 2];
                rates[(size, acks, partitions)] = rate;
                string versusAcks1 = acks == "all" ? $"{rate / rates[(size, "1", partitions)],9:P0}" : "";
                Console.WriteLine($"  {size,4}  {acks,4} {rf,2} {partitions,10} {rate,12:N0} [{runs[0] / 1e6:F2}-{runs[^1] / 1e6:F2} M] {rate * size / 1e6,8:N1} {rate / raw[size],14:P0} {versusAcks1}");
            }
        }
    }

    // The idempotent producer (InitProducerId, sequence checks per partition) against the same
    // producer without it, runs alternating so that both see the same machine.
    {
        int records = (int)(2_000_000 * scale);
        var plain = new List<double>();
        var idempotent = new List<double>();
        for (int r = 0; r < Repeats; r++)
        {
            JsonElement p = await RunAsync(rdkperf, "produce", bootstrap, "plain", records.ToString(CultureInfo.InvariantCulture), "100", "all", "enable.idempotence=false");
            plain.Add(p.GetProperty("records").GetInt64() / p.GetProperty("seconds").GetDouble());
            JsonElement i = await RunAsync(rdkperf, "produce", bootstrap, "idempotent", records.ToString(CultureInfo.InvariantCulture), "100", "all", "enable.idempotence=true");
            idempotent.Add(i.GetProperty("records").GetInt64() / i.GetProperty("seconds").GetDouble());
        }

        plain.Sort();
        idempotent.Sort();
        Console.WriteLine();
        Console.WriteLine($"Idempotent producer, 100 B, acks=all, RF 3, 16 partitions (alternating runs): {idempotent[Repeats / 2]:N0} records/s " +
            $"[{idempotent[0] / 1e6:F2}-{idempotent[^1] / 1e6:F2} M] = {idempotent[Repeats / 2] / plain[Repeats / 2]:P0} of the same producer without idempotence ({plain[Repeats / 2]:N0})");
    }

    // kcat -P reading lines from a file: the same C library through the command-line tool users have.
    Console.WriteLine();
    string lines = Path.Combine(Path.GetTempPath(), "aspire-bench-lines-" + Guid.NewGuid().ToString("N")[..8]);
    int kcatRecords = (int)(2_000_000 * scale);
    await using (var file = new StreamWriter(lines))
    {
        string line = new('x', 100);
        for (int i = 0; i < kcatRecords; i++)
        {
            await file.WriteLineAsync(line);
        }
    }

    try
    {
        double seconds = await KcatProduceAsync(bootstrap, "kcat", "1", lines);
        Console.WriteLine($"kcat -P from a file, 100 B, acks=1, 16 partitions: {kcatRecords / seconds:N0} records/s");
    }
    finally
    {
        File.Delete(lines);
    }

    JsonElement c = await RunAsync(rdkperf, "consume", bootstrap, "p16-rf3", p16Rf3Records.ToString(CultureInfo.InvariantCulture));
    double consumeRate = c.GetProperty("records").GetInt64() / c.GetProperty("seconds").GetDouble();
    Console.WriteLine($"Consume p16-rf3 from the beginning (100 B records, one consumer): {consumeRate:N0} records/s ({c.GetProperty("records").GetInt64():N0} records)");

    double half = rates[(100, "all", 16)] / 2;

    // The first seconds on a new topic are slower (replica fetchers and fetch sessions pick up the
    // new partitions): one untimed run first, so the numbers are the steady state's.
    await RunAsync(rdkperf, "latency", bootstrap, "latency", (half / 2).ToString("F0", CultureInfo.InvariantCulture), "3", "100", "all");
    JsonElement l = await RunAsync(rdkperf, "latency", bootstrap, "latency", half.ToString("F0", CultureInfo.InvariantCulture), (10 * Math.Max(scale, 0.5)).ToString(CultureInfo.InvariantCulture), "100", "all");
    Console.WriteLine($"Produce->consume latency at {half:N0} records/s (half of the acks=all RF=3 16-partition peak), acks=all, 100 B: " +
        $"p50 {l.GetProperty("p50").GetDouble():F1} ms, p99 {l.GetProperty("p99").GetDouble():F1} ms, max {l.GetProperty("max").GetDouble():F1} ms ({l.GetProperty("received")}/{l.GetProperty("sent")} received)");
    double quarter = half / 2;
    l = await RunAsync(rdkperf, "latency", bootstrap, "latency", quarter.ToString("F0", CultureInfo.InvariantCulture), (10 * Math.Max(scale, 0.5)).ToString(CultureInfo.InvariantCulture), "100", "all");
    Console.WriteLine($"Produce->consume latency at {quarter:N0} records/s (a quarter of that peak): " +
        $"p50 {l.GetProperty("p50").GetDouble():F1} ms, p99 {l.GetProperty("p99").GetDouble():F1} ms, max {l.GetProperty("max").GetDouble():F1} ms ({l.GetProperty("received")}/{l.GetProperty("sent")} received)");
}
finally
{
    if (Directory.Exists(dataDirectory))
    {
        Directory.Delete(dataDirectory, recursive: true);
    }
}

return 0;

static string BuildRdkperf()
{
    string source = Path.Combine(AppContext.BaseDirectory, "native", "rdkperf.c");
    string binary = Path.Combine(AppContext.BaseDirectory, "rdkperf");
    var info = new ProcessStartInfo("cc") { RedirectStandardError = true, UseShellExecute = false };
    foreach (string a in new[] { "-O2", "-o", binary, source, "-lrdkafka", "-lpthread" })
    {
        info.ArgumentList.Add(a);
    }

    using Process cc = Process.Start(info) ?? throw new InvalidOperationException("cannot start cc");
    string errors = cc.StandardError.ReadToEnd();
    cc.WaitForExit();
    if (cc.ExitCode != 0)
    {
        throw new InvalidOperationException($"building {source} failed (it needs librdkafka's headers: apt-get install librdkafka-dev):\n{errors}");
    }

    return binary;
}

static async Task<double> KcatProduceAsync(string bootstrap, string topic, string acks, string inputFile)
{
    var info = new ProcessStartInfo("kcat") { RedirectStandardInput = true, RedirectStandardError = true, UseShellExecute = false };
    foreach (string a in new[] { "-P", "-b", bootstrap, "-t", topic, "-X", $"acks={acks}", "-X", "linger.ms=5", "-X", "batch.num.messages=100000",
        "-X", "batch.size=1000000", "-X", "queue.buffering.max.messages=2000000", "-X", "queue.buffering.max.kbytes=2097151" })
    {
        info.ArgumentList.Add(a);
    }

    var stopwatch = Stopwatch.StartNew();
    using Process process = Process.Start(info)!;
    Task<string> stderr = process.StandardError.ReadToEndAsync();
    await using (FileStream input = File.OpenRead(inputFile))
    {
        await input.CopyToAsync(process.StandardInput.BaseStream);
    }

    process.StandardInput.Close();
    await process.WaitForExitAsync();
    double seconds = stopwatch.Elapsed.TotalSeconds;
    string errors = await stderr;
    if (process.ExitCode != 0 || errors.Contains("Delivery failed", StringComparison.Ordinal))
    {
        throw new InvalidOperationException($"kcat -P {topic} failed ({process.ExitCode}): {errors[..Math.Min(errors.Length, 2000)]}");
    }

    return seconds;
}

// Issue 16's fetch benchmark (--consume): one consumer of a 16-partition RF=3 topic against the
// acks=1 produce rate of the same run, and the brokers' CPU per consumed MB. With --before DIR the
// services of another checkout (built Release there) run in alternate rounds with this one's.
static async Task ConsumeBenchmarkAsync(string rdkperf, string[] options)
{
    int records = 4_000_000;
    int rounds = 3;
    var builds = new List<(string Name, string Root)> { ("this checkout", ServiceRoot()) };
    for (int i = 0; i < options.Length; i++)
    {
        switch (options[i])
        {
            case "--records": records = int.Parse(options[++i], CultureInfo.InvariantCulture); break;
            case "--rounds": rounds = int.Parse(options[++i], CultureInfo.InvariantCulture); break;
            case "--before": builds.Insert(0, ("before: " + options[++i], Path.GetFullPath(options[i]))); break;
            default: throw new ArgumentException($"unknown option {options[i]} (--records N, --rounds R, --before DIR)");
        }
    }

    var results = builds.ToDictionary(b => b.Name, _ => new List<(double Produce, double Consume, double CpuPerMb)>());
    for (int round = 0; round < rounds; round++)
    {
        foreach ((string name, string root) in builds)
        {
            string data = Path.Combine(Path.GetTempPath(), "aspire-consume-bench-" + Guid.NewGuid().ToString("N")[..8]);
            try
            {
                await using TestCluster cluster = await TestCluster.StartAsync(KafkaTopology.Plan([new ClusterSpec(KafkaTopology.Primary) { Controllers = 1, Brokers = 3, Coordinators = 0 }]),
                    new DistributedApplicationOptions { DataDirectory = data, RootDirectory = root, BuildProjects = false, Configuration = "Release", StopTimeout = TimeSpan.FromSeconds(10), Output = TextWriter.Null });
                string bootstrap = cluster.BootstrapServers("primary");
                await using (var admin = new KafkaClient(new KafkaClientOptions { BootstrapServers = bootstrap.Split(',') }))
                {
                    (await admin.CreateTopicsAsync([new NewTopic("warmup", 16, 3), new NewTopic("consume", 16, 3)])).ToList().ForEach(r => r.ThrowIfError());
                }

                // JIT warm-up of produce, untimed.
                await RunAsync(rdkperf, "produce", bootstrap, "warmup", "1000000", "100", "1");
                JsonElement p = await RunAsync(rdkperf, "produce", bootstrap, "consume", records.ToString(CultureInfo.InvariantCulture), "100", "1");
                double produce = p.GetProperty("records").GetInt64() / p.GetProperty("seconds").GetDouble();
                // The first read of the topic is untimed: it waits for the followers to catch up
                // (acks=1), and the brokers' fetch path is tiered up by the JIT during it (a
                // profile of a first read shows half the brokers' CPU in the JIT).
                await RunAsync(rdkperf, "consume", bootstrap, "consume", records.ToString(CultureInfo.InvariantCulture));
                int[] brokers = [.. cluster.Nodes.Where(n => n.Name.Contains("broker", StringComparison.Ordinal)).Select(n => n.ProcessId)];
                // The JIT's tier-1 backlog (the .NET Tiered Compilation thread) keeps compiling for
                // a minute or more after start on this machine; measured during it, three quarters
                // of the brokers' CPU is the JIT. Measure once the brokers are idle.
                double idleAfter = await WaitForIdleAsync(brokers);
                Console.WriteLine($"  brokers idle after {idleAfter:F0} s");
                double cpuBefore = brokers.Sum(CpuSeconds);
                JsonElement c = await RunAsync(rdkperf, "consume", bootstrap, "consume", records.ToString(CultureInfo.InvariantCulture));
                double cpu = brokers.Sum(CpuSeconds) - cpuBefore;
                double consume = c.GetProperty("records").GetInt64() / c.GetProperty("seconds").GetDouble();
                double megabytes = c.GetProperty("bytes").GetInt64() / 1e6;
                results[name].Add((produce, consume, cpu / megabytes));
                Console.WriteLine($"round {round + 1} {name}: produce acks=1 {produce:N0}/s, consume {consume:N0}/s ({consume / produce:F2}x), brokers {cpu:F2} CPU-s for {megabytes:N0} MB = {cpu / megabytes * 1000:F2} CPU-ms/MB");
            }
            finally
            {
                if (Directory.Exists(data))
                {
                    Directory.Delete(data, recursive: true);
                }
            }
        }
    }

    Console.WriteLine();
    Console.WriteLine($"{records:N0} records of 100 B, 16 partitions RF=3, one librdkafka consumer (assign, from the beginning); medians of {rounds} alternating rounds:");
    Console.WriteLine("| build | produce acks=1 records/s | consume records/s | consume / produce | broker CPU-ms per consumed MB |");
    Console.WriteLine("|---|---:|---:|---:|---:|");
    foreach ((string name, _) in builds)
    {
        List<(double Produce, double Consume, double CpuPerMb)> r = results[name];
        double Median(Func<(double Produce, double Consume, double CpuPerMb), double> f) => r.Select(f).Order().ElementAt(r.Count / 2);
        Console.WriteLine($"| {name} | {Median(x => x.Produce):N0} | {Median(x => x.Consume):N0} | {Median(x => x.Consume / x.Produce):F2}x | {Median(x => x.CpuPerMb) * 1000:F2} |");
    }
}

// Waits until the processes together use less than 5 % of a core over a 2 s window (at most
// 180 s); returns the seconds waited.
static async Task<double> WaitForIdleAsync(int[] pids)
{
    var waited = Stopwatch.StartNew();
    while (waited.Elapsed < TimeSpan.FromSeconds(180))
    {
        double before = pids.Sum(CpuSeconds);
        await Task.Delay(TimeSpan.FromSeconds(2));
        if (pids.Sum(CpuSeconds) - before < 0.1)
        {
            break;
        }
    }

    return waited.Elapsed.TotalSeconds;
}

// utime + stime of a process from /proc/<pid>/stat (fields 14 and 15, in clock ticks of 1/100 s).
static double CpuSeconds(int pid)
{
    string stat = File.ReadAllText($"/proc/{pid}/stat");
    string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
}

static string ServiceRoot() => new DistributedApplicationOptions().ResolveRoot();

static async Task<JsonElement> RunAsync(string file, params string[] arguments)
{
    var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
    foreach (string a in arguments)
    {
        info.ArgumentList.Add(a);
    }

    using Process process = Process.Start(info)!;
    Task<string> stdout = process.StandardOutput.ReadToEndAsync();
    Task<string> stderr = process.StandardError.ReadToEndAsync();
    await process.WaitForExitAsync();
    string output = await stdout;
    if (process.ExitCode != 0)
    {
        string errors = await stderr;
        throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} failed ({process.ExitCode}): {output} {errors[..Math.Min(errors.Length, 2000)]}");
    }

    return JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement.Clone();
}

static double RawAppendRecordsPerSecond(int recordSize, int records)
{
    int perBatch = Math.Max(1, 16 * 1024 / (recordSize + 10));
    var writer = new ArrayBufferWriter<byte>();
    using (var builder = new RecordBatchBuilder(CompressionType.None))
    {
        byte[] value = new byte[recordSize];
        for (int i = 0; i < perBatch; i++)
        {
            builder.Append(0, null, value);
        }

        builder.WriteTo(writer);
    }

    byte[] template = writer.WrittenSpan.ToArray();
    string dir = Path.Combine(Path.GetTempPath(), "aspire-raw-append-" + Guid.NewGuid().ToString("N")[..8]);
    Directory.CreateDirectory(dir);
    try
    {
        using UnifiedLog log = UnifiedLog.Open(Path.Combine(dir, "raw-0"), new LogConfig { RetentionMs = -1 });
        byte[] batch = new byte[template.Length];
        int batches = records / perBatch;
        // Validated once, as the broker's produce path has by the time it appends (the bytes are the same every time).
        template.CopyTo(batch, 0);
        ValidatedRecords validated = LogValidator.ValidateProduce(batch, log.Config);
        var stopwatch = Stopwatch.StartNew();
        for (int b = 0; b < batches; b++)
        {
            template.CopyTo(batch, 0);
            log.AppendAsLeader(validated, 0);
        }

        return batches * perBatch / stopwatch.Elapsed.TotalSeconds;
    }
    finally
    {
        Directory.Delete(dir, recursive: true);
    }
}
