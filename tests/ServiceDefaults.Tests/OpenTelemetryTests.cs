using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Aspire.Kafka.Hosting;
using Aspire.Kafka.Testing;

namespace Aspire.Kafka.ServiceDefaults.Tests;

/// <summary>OTLP export (logs, traces, metrics) when OTEL_EXPORTER_OTLP_ENDPOINT is set, received by a small OTLP/HTTP sink in the test.</summary>
public sealed class OpenTelemetryTests
{
    [Fact]
    public async Task Logs_traces_and_metrics_are_exported_by_OTLP_with_the_resource_name()
    {
        int port = TestSupport.FreePort();
        var received = new ConcurrentDictionary<string, string>();
        using var sink = new HttpListener();
        sink.Prefixes.Add($"http://127.0.0.1:{port}/");
        sink.Start();
        _ = Task.Run(async () =>
        {
            while (sink.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await sink.GetContextAsync();
                }
                catch (HttpListenerException)
                {
                    return;
                }
                catch (ObjectDisposedException)
                {
                    return;
                }

                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                // OTLP/protobuf: the strings we look for appear as raw UTF-8 bytes.
                string text = Encoding.UTF8.GetString(body.ToArray());
                received.AddOrUpdate(context.Request.Url!.AbsolutePath, text, (_, old) => old + text);
                context.Response.StatusCode = 200;
                context.Response.Close();
            }
        });

        await using TestCluster cluster = await TestCluster.StartAsync(app => app.AddProject("otel-echo", TestSupport.EchoProject)
            .WithKafkaListener("PLAINTEXT")
            .WithConfig("test.counter.value", "7")
            .WithEnvironment("OTEL_EXPORTER_OTLP_ENDPOINT", $"http://127.0.0.1:{port}")
            .WithEnvironment("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
            .WithEnvironment("OTEL_SERVICE_NAME", "echo-resource-7")
            .WithEnvironment("OTEL_BLRP_SCHEDULE_DELAY", "200")
            .WithEnvironment("OTEL_METRIC_EXPORT_INTERVAL", "500")
            .WithEnvironment("OTEL_BSP_SCHEDULE_DELAY", "200"));

        using (var client = new TcpClient())
        {
            await client.ConnectAsync(IPEndPoint.Parse(cluster.Node("otel-echo").Address("PLAINTEXT")));
            NetworkStream stream = client.GetStream();
            await stream.WriteAsync(new byte[] { 0, 0, 0, 2, 42, 43 });
            await stream.ReadExactlyAsync(new byte[6]);
        }

        // service.name is OTEL_SERVICE_NAME (the AppHost sets the resource name there).
        await TestSupport.Eventually(
            () => received.TryGetValue("/v1/traces", out string? traces) && traces.Contains("kafka.request", StringComparison.Ordinal) && traces.Contains("echo-resource-7", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), "a kafka.request span at /v1/traces with service.name echo-resource-7");
        // Structured logs with the formatted message (what the Aspire dashboard shows).
        await TestSupport.Eventually(
            () => received.TryGetValue("/v1/logs", out string? logs) && logs.Contains("echo started: http", StringComparison.Ordinal) && logs.Contains("echo-resource-7", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), "the start log line at /v1/logs with service.name echo-resource-7");
        await TestSupport.Eventually(
            () => received.TryGetValue("/v1/metrics", out string? metrics) && metrics.Contains("aspire.kafka.test.known", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), "aspire.kafka.test.known at /v1/metrics");
        sink.Stop();
    }
}
