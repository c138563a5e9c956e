using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using Aspire.Kafka.Broker;
using Aspire.Kafka.Broker.Apis;
using Aspire.Kafka.Broker.Tests;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Records;
using Aspire.Kafka.Server;
using Aspire.Kafka.ServiceDefaults.Configuration;
using Aspire.Kafka.ServiceDefaults.Metrics;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Trace;

// dotnet run -c Release --project bench/RequestSpan.Benchmarks [-- REQUESTS]
// Produce requests (one 100-byte record, acks=1, one partition) one at a time through the real
// connection loop (over in-memory pipes), the dispatcher and a ReplicaManager, with the /metrics
// exporter listening as in a service. Modes alternate, 5 rounds each; median µs per request and
// bytes allocated per request.
int requests = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100_000;
using var prometheus = new PrometheusExporter();
await using var cluster = new ClusterHarness(null, 1);
ReplicaManager broker = await cluster.StartBrokerAsync(1);
cluster.CreateTopic("bench", 1, [1], null, null, ("retention.bytes", "104857600"), ("segment.bytes", "33554432"));

var services = new ServiceCollection();
services.AddLogging();
services.AddMetrics();
services.AddSingleton(KafkaConfigLoader.Load(ServiceDefaultsConfig.Create(), []));
services.AddKafkaApiDispatcher();
services.AddSingleton(broker);
services.AddSingleton<IKafkaApi, ProduceApi>();
services.AddSingleton<KafkaNetworkMetrics>();
services.AddSingleton<KafkaConnectionHandler>();
await using ServiceProvider provider = services.BuildServiceProvider();

byte[] plain = Frame(null);
byte[] traced = Frame("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
static TracerProvider NewTracerProvider() => Sdk.CreateTracerProviderBuilder()
    .AddSource("Aspire.Kafka.*")
    .AddProcessor(new BatchActivityExportProcessor(new NullExporter()))
    .Build();
var modes = new (string Name, byte[] Request, Func<IDisposable?> Tracing)[]
{
    ("tracing off (no listener)", plain, () => null),
    ("OpenTelemetry SDK sampling every span (batch processor, no-op exporter)", plain, NewTracerProvider),
    ("the same, a traceparent header on the record (one link)", traced, NewTracerProvider),
};
var results = modes.ToDictionary(m => m.Name, _ => (Micros: new List<double>(), Bytes: new List<double>()));
await RunAsync(plain, Math.Max(1000, requests / 5)); // warm-up
for (int round = 0; round < 5; round++)
{
    foreach ((string name, byte[] request, Func<IDisposable?> tracing) in modes)
    {
        using IDisposable? tracingScope = tracing();
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        double micros = await RunAsync(request, requests);
        results[name].Micros.Add(micros);
        results[name].Bytes.Add((GC.GetTotalAllocatedBytes(precise: true) - allocated) / (double)requests);
    }
}

Console.WriteLine($"{requests:N0} produce requests per run, 5 runs per mode, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
foreach ((string name, (List<double> micros, List<double> bytes)) in results)
{
    micros.Sort();
    bytes.Sort();
    Console.WriteLine($"{name}: median {micros[2]:F2} µs/request (min {micros[0]:F2}, max {micros[^1]:F2}), {bytes[2]:F0} B allocated/request");
}

async Task<double> RunAsync(byte[] request, int count)
{
    var toServer = new Pipe();
    var toClient = new Pipe();
    var context = new DefaultConnectionContext("bench", new Pipes(toServer.Reader, toClient.Writer), new Pipes(toClient.Reader, toServer.Writer));
    context.Items[KafkaConnectionHandler.ListenerNameItem] = "PLAINTEXT";
    Task loop = provider.GetRequiredService<KafkaConnectionHandler>().OnConnectedAsync(context);
    var stopwatch = Stopwatch.StartNew();
    for (int i = 0; i < count; i++)
    {
        await toServer.Writer.WriteAsync(request);
        while (true)
        {
            ReadResult result = await toClient.Reader.ReadAsync();
            ReadOnlySequence<byte> buffer = result.Buffer;
            if (buffer.Length >= 4)
            {
                int length = BinaryPrimitives.ReadInt32BigEndian(buffer.Slice(0, 4).ToArray());
                if (buffer.Length >= 4 + length)
                {
                    toClient.Reader.AdvanceTo(buffer.GetPosition(4 + length));
                    break;
                }
            }

            toClient.Reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    stopwatch.Stop();
    await toServer.Writer.CompleteAsync();
    await loop;
    return stopwatch.Elapsed.TotalMicroseconds / count;
}

static byte[] Frame(string? traceparent)
{
    using var builder = new RecordBatchBuilder(CompressionType.None);
    IReadOnlyList<RecordHeader>? headers = traceparent is null ? null : [new RecordHeader("traceparent", System.Text.Encoding.UTF8.GetBytes(traceparent))];
    builder.Append(1_700_000_000_000, null, new byte[100], headers);
    using var writer = new KafkaWriter();
    writer.WriteInt32(0);
    new RequestHeader { RequestApiKey = ApiKeys.Produce, RequestApiVersion = 9, CorrelationId = 1, ClientId = "bench" }.Write(writer, 2);
    ClusterHarness.Produce("bench", 0, builder.Build(), acks: 1).Write(writer, 9);
    byte[] frame = writer.ToArray();
    BinaryPrimitives.WriteInt32BigEndian(frame, frame.Length - 4);
    return frame;
}

internal sealed class Pipes(PipeReader input, PipeWriter output) : IDuplexPipe
{
    public PipeReader Input { get; } = input;

    public PipeWriter Output { get; } = output;
}

internal sealed class NullExporter : BaseExporter<Activity>
{
    public override ExportResult Export(in Batch<Activity> batch) => ExportResult.Success;
}
