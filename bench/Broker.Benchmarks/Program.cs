// The broker benchmark of issue 6 (see README.md): librdkafka through confluent-kafka-python
// against a real cluster (1 controller, 3 brokers, real processes through the launcher), and
// the storage engine's raw in-process append rate for the same record sizes in the same run.
using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Aspire.Kafka.Client;
using Aspire.Kafka.Hosting;
using Aspire.Kafka.Records;
using Aspire.Kafka.Storage;

double scale = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 1.0;
const string Python = "/usr/bin/python3";
string perf = Path.Combine(AppContext.BaseDirectory, "perf.py");

Console.WriteLine("Storage engine raw append (in-process UnifiedLog.AppendAsLeader, 16 KiB batches, pre-validated):");
var raw = new Dictionary<int, double>();
foreach (int size in new[] { 100, 1024 })
{
    raw[size] = RawAppendRecordsPerSecond(size, (int)(1_000_000 * scale));
    Console.WriteLine($"  {size,5} B records: {raw[size],12:N0} records/s");
}

var controllers = new List<ResourceBuilder>();
await using TestCluster cluster = await TestCluster.StartAsync(app =>
{
    ResourceBuilder controller = app.AddProject("controller-1", "services/controller/Aspire.Kafka.ControllerService.csproj")
        .WithKafkaListener("CONTROLLER").WithDataDirectory("primary", 1);
    controller.WithConfig("controller.quorum.voters", () => $"1@{controller.Resource.GetEndpoint("CONTROLLER")!.Address}");
    for (int i = 1; i <= 3; i++)
    {
        app.AddProject($"broker-{i}", "services/broker/Aspire.Kafka.Broker.csproj")
            .WithKafkaListener("PLAINTEXT", bootstrap: true).WithDataDirectory("primary", 100 + i)
            .WithConfig("controller.quorum.voters", () => $"1@{controller.Resource.GetEndpoint("CONTROLLER")!.Address}")
            .WithReference(controller);
    }
}, new DistributedApplicationOptions
{
    DataDirectory = Path.Combine(Path.GetTempPath(), "aspire-broker-bench-" + Guid.NewGuid().ToString("N")[..8]),
    BuildProjects = false,
    Configuration = "Release",
    StopTimeout = TimeSpan.FromSeconds(10),
    Output = TextWriter.Null,
});
string bootstrap = cluster.BootstrapServers("primary");
await using (var admin = new KafkaClient(new KafkaClientOptions { BootstrapServers = bootstrap.Split(',') }))
{
    foreach ((string name, int partitions, short rf) in new[] { ("p1-rf1", 1, (short)1), ("p16-rf1", 16, (short)1), ("p1-rf3", 1, (short)3), ("p16-rf3", 16, (short)3), ("latency", 16, (short)3) })
    {
        (await admin.CreateTopicsAsync([new NewTopic(name, partitions, rf)])).Single().ThrowIfError();
    }
}

Console.WriteLine();
Console.WriteLine("Produce (librdkafka 2.0.2 via confluent-kafka-python, one producer process):");
Console.WriteLine("  size  acks RF partitions      records/s      MB/s   vs raw append");
double peak = 0;
foreach (int size in new[] { 100, 1024 })
{
    int records = (int)((size == 100 ? 2_000_000 : 500_000) * scale);
    foreach ((string acks, short rf) in new[] { ("1", (short)1), ("all", (short)3) })
    {
        foreach (int partitions in new[] { 1, 16 })
        {
            string topic = $"p{partitions}-rf{rf}";
            JsonElement r = await RunAsync(Python, perf, "produce", bootstrap, topic, records.ToString(CultureInfo.InvariantCulture), size.ToString(CultureInfo.InvariantCulture), acks);
            double rate = r.GetProperty("records").GetInt32() / r.GetProperty("seconds").GetDouble();
            int failed = r.GetProperty("failed").GetInt32();
            if (size == 100 && acks == "all" && partitions == 16)
            {
                peak = rate;
            }

            Console.WriteLine($"  {size,4}  {acks,4} {rf,2} {partitions,10} {rate,14:N0} {rate * size / 1e6,9:N1} {rate / raw[size],14:P0}{(failed > 0 ? $"  ({failed} failed)" : "")}");
        }
    }
}

// The same 100-byte acks=1 runs through kcat (librdkafka's C producer reading lines from a file),
// to tell the Python client's per-record cost from the broker's.
Console.WriteLine();
Console.WriteLine("Produce 100-byte records through kcat -P from a file (librdkafka's C producer):");
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
    foreach ((string acks, string topic) in new[] { ("1", "p1-rf1"), ("1", "p16-rf1"), ("all", "p16-rf3") })
    {
        double seconds = await KcatProduceAsync(bootstrap, topic, acks, lines);
        Console.WriteLine($"  acks={acks,-3} {topic,-8} {kcatRecords / seconds,14:N0} records/s  {kcatRecords / seconds / raw[100],8:P0} of raw append");
    }
}
finally
{
    File.Delete(lines);
}

Console.WriteLine();
int consumeRecords = (int)(2_000_000 * scale);
JsonElement c = await RunAsync(Python, perf, "consume", bootstrap, "p16-rf3", consumeRecords.ToString(CultureInfo.InvariantCulture));
double consumeRate = c.GetProperty("records").GetInt32() / c.GetProperty("seconds").GetDouble();
Console.WriteLine($"Consume p16-rf3 (100 B records, from the beginning): {consumeRate:N0} records/s ({c.GetProperty("records").GetInt32():N0} records)");

double half = Math.Max(1000, peak / 2);
JsonElement l = await RunAsync(Python, perf, "latency", bootstrap, "latency", half.ToString("F0", CultureInfo.InvariantCulture), (10 * Math.Max(scale, 0.5)).ToString(CultureInfo.InvariantCulture), "100");
Console.WriteLine($"Produce->consume latency at {half:N0} records/s (half of the acks=all RF=3 16-partition peak), acks=all: p50 {l.GetProperty("p50").GetDouble():F1} ms, p99 {l.GetProperty("p99").GetDouble():F1} ms ({l.GetProperty("received")}/{l.GetProperty("sent")} received)");
return 0;

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
        throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} failed ({process.ExitCode}): {await stderr}");
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
        var stopwatch = Stopwatch.StartNew();
        for (int b = 0; b < batches; b++)
        {
            template.CopyTo(batch, 0);
            log.AppendAsLeader(batch, 0, recordsValidated: true);
        }

        return batches * perBatch / stopwatch.Elapsed.TotalSeconds;
    }
    finally
    {
        Directory.Delete(dir, recursive: true);
    }
}
