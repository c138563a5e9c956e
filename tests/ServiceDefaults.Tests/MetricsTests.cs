using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using Aspire.Kafka.ServiceDefaults.Metrics;
using Aspire.Kafka.Testing;

namespace Aspire.Kafka.ServiceDefaults.Tests;

/// <summary>/metrics of a real service, checked by the real promtool and scraped by a real Prometheus.</summary>
public sealed class MetricsTests(EchoServiceFixture fixture) : IClassFixture<EchoServiceFixture>, IDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly List<string> _temporary = [];

    public void Dispose()
    {
        foreach (string path in _temporary)
        {
            Directory.Delete(path, recursive: true);
        }
    }

    private async Task<string> ScrapeAsync()
    {
        using HttpResponseMessage response = await Http.GetAsync(new Uri($"http://{fixture.HttpAddress}/metrics"));
        response.EnsureSuccessStatusCode();
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        return await response.Content.ReadAsStringAsync();
    }

    private async Task SendKafkaTrafficAsync()
    {
        using var client = new TcpClient();
        await client.ConnectAsync(fixture.KafkaEndPoint);
        NetworkStream stream = client.GetStream();
        await stream.WriteAsync(new byte[] { 0, 0, 0, 3, 1, 2, 3 });
        byte[] reply = new byte[7];
        await stream.ReadExactlyAsync(reply);
    }

    private static async Task<(int ExitCode, string Output)> PromtoolCheckAsync(string text)
    {
        string promtool = TestSupport.RequireTool("promtool", "prometheus");
        var info = new ProcessStartInfo(promtool, ["check", "metrics"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using Process process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(text);
        process.StandardInput.Close();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }

    [Fact]
    public async Task Health_and_alive_answer_200()
    {
        foreach (string path in (string[])["/health", "/alive"])
        {
            using HttpResponseMessage response = await Http.GetAsync(new Uri($"http://{fixture.HttpAddress}{path}"));
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task Metrics_cover_our_runtime_and_kestrel_instruments_and_pass_promtool()
    {
        await SendKafkaTrafficAsync();
        await Http.GetStringAsync(new Uri($"http://{fixture.HttpAddress}/alive"));
        string text = await ScrapeAsync();

        Assert.Contains("# TYPE aspire_kafka_test_known_total counter", text, StringComparison.Ordinal);
        Assert.Contains($"aspire_kafka_test_known_total{{source=\"config\"}} {EchoServiceFixture.KnownCounterValue}", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE aspire_kafka_network_requests_total counter", text, StringComparison.Ordinal);
        // Per-API latency (Kafka's RequestMetrics TotalTimeMs); the echo's bytes are no Kafka API.
        Assert.Contains("# TYPE kafka_network_requestmetrics_totaltime_seconds histogram", text, StringComparison.Ordinal);
        Assert.Contains("kafka_network_requestmetrics_totaltime_seconds_bucket{listener=\"PLAINTEXT\",request=\"unknown\",le=\"+Inf\"}", text, StringComparison.Ordinal);
        Assert.Contains("aspire_kafka_network_received_bytes_total{listener=\"PLAINTEXT\"}", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE aspire_kafka_network_connections_active gauge", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE dotnet_gc_collections_total counter", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE kestrel_active_connections gauge", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE http_server_request_duration_seconds histogram", text, StringComparison.Ordinal);

        (int exitCode, string output) = await PromtoolCheckAsync(text);
        Assert.True(exitCode == 0, $"promtool check metrics failed ({exitCode}):\n{output}\n--- scraped ---\n{text}");
    }

    [Fact]
    public async Task Exporter_names_units_labels_and_buckets_the_OpenTelemetry_way_and_promtool_agrees()
    {
        using var exporter = new PrometheusExporter();
        using var meter = new Meter("Test.Exporter." + Guid.NewGuid().ToString("N"));
        meter.CreateCounter<long>("test.exporter.requests", "{request}", "Requests.").Add(3, new KeyValuePair<string, object?>("path", "a\"b\\c\nd"));
        meter.CreateCounter<double>("test.exporter.cpu.time", "ms", "CPU time.").Add(1500);
        meter.CreateUpDownCounter<int>("test.exporter.queue.count", "{item}", "Items queued.").Add(-2);
        meter.CreateGauge<double>("test.exporter.temperature", "Cel", "Last reading.").Record(21.5);
        meter.CreateObservableGauge("test.exporter.ratio", () => new Measurement<double>(0.25, new KeyValuePair<string, object?>("0kind", "x")), "1", "A ratio.");
        meter.CreateObservableCounter("test.exporter.ticks", () => 42L, null, "Ticks.");
        Histogram<double> latency = meter.CreateHistogram<double>("test.exporter.latency", "s", "Latency.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 1] });
        latency.Record(0.05);
        latency.Record(0.1);
        latency.Record(5);
        meter.CreateHistogram<long>("test.exporter.size", "By", "Sizes.").Record(100);
        meter.CreateCounter<long>("test.exporter.bytesin", "By", "A last word that names its unit already (Kafka's BytesIn).").Add(7);

        string text = await exporter.ScrapeAsync();

        Assert.Contains("test_exporter_requests_total{path=\"a\\\"b\\\\c\\nd\"} 3\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE test_exporter_cpu_time_seconds_total counter\ntest_exporter_cpu_time_seconds_total 1.5\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE test_exporter_queue_count_value gauge\ntest_exporter_queue_count_value -2\n", text, StringComparison.Ordinal);
        Assert.Contains("test_exporter_temperature_celsius 21.5\n", text, StringComparison.Ordinal);
        Assert.Contains("test_exporter_ratio{key_0kind=\"x\"} 0.25\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE test_exporter_ticks_total counter\ntest_exporter_ticks_total 42\n", text, StringComparison.Ordinal);
        Assert.Contains(
            "test_exporter_latency_seconds_bucket{le=\"0.1\"} 2\ntest_exporter_latency_seconds_bucket{le=\"1\"} 2\ntest_exporter_latency_seconds_bucket{le=\"+Inf\"} 3\ntest_exporter_latency_seconds_sum 5.15\ntest_exporter_latency_seconds_count 3\n",
            text, StringComparison.Ordinal);
        Assert.Contains("test_exporter_size_bytes_bucket{le=\"256\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("# HELP test_exporter_requests_total Requests.\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE test_exporter_bytesin_total counter\ntest_exporter_bytesin_total 7\n", text, StringComparison.Ordinal);

        (int exitCode, string output) = await PromtoolCheckAsync(text);
        Assert.True(exitCode == 0, $"promtool check metrics failed ({exitCode}):\n{output}\n--- text ---\n{text}");
    }

    [Fact]
    public async Task A_tagged_measurement_allocates_nothing_once_its_series_exists_and_tag_order_does_not_split_series()
    {
        using var exporter = new PrometheusExporter();
        using var meter = new Meter("Test.Exporter." + Guid.NewGuid().ToString("N"));
        Counter<long> bytes = meter.CreateCounter<long>("test.exporter.topic.bytes", "By", "Bytes by topic.");
        Histogram<double> latency = meter.CreateHistogram<double>("test.exporter.api.latency", "s", "Latency by API.");
        var topic = new KeyValuePair<string, object?>("topic", "orders");
        var listener = new KeyValuePair<string, object?>("listener", "PLAINTEXT");
        var api = new KeyValuePair<string, object?>("request", "Produce");
        void Measure(int times)
        {
            for (int i = 0; i < times; i++)
            {
                bytes.Add(1, topic, listener);
                bytes.Add(1, listener, topic); // the same set in another order
                latency.Record(0.001, api, listener);
            }
        }

        Measure(1000); // series created, code paths warm
        long before = GC.GetAllocatedBytesForCurrentThread();
        Measure(10_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1000, $"{allocated} bytes allocated by 30,000 tagged measurements"); // was ~100 B per measurement
        string text = await exporter.ScrapeAsync();
        Assert.Contains("test_exporter_topic_bytes_total{listener=\"PLAINTEXT\",topic=\"orders\"} 22000\n", text, StringComparison.Ordinal);
        Assert.Contains("test_exporter_api_latency_seconds_count{listener=\"PLAINTEXT\",request=\"Produce\"} 11000\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_real_Prometheus_scrapes_the_known_counter()
    {
        string prometheus = TestSupport.RequireTool("prometheus", "prometheus");
        string directory = TestSupport.TempDirectory("prom");
        _temporary.Add(directory);
        int port = TestSupport.FreePort();
        string configFile = Path.Combine(directory, "prometheus.yml");
        await File.WriteAllTextAsync(configFile, $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: echo
                static_configs:
                  - targets: ['{fixture.HttpAddress}']
            """);
        using var server = new ChildProcess(prometheus,
        [
            $"--config.file={configFile}",
            $"--storage.tsdb.path={Path.Combine(directory, "data")}",
            $"--web.listen-address=127.0.0.1:{port}",
        ], directory);

        double? value = null;
        string last = "";
        await TestSupport.Eventually(async () =>
        {
            if (server.Process.HasExited)
            {
                Assert.Fail($"prometheus exited with {server.Process.ExitCode}:\n{server.Output}");
            }

            try
            {
                last = await Http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/api/v1/query?query=aspire_kafka_test_known_total"));
            }
            catch (HttpRequestException)
            {
                return false;
            }

            using JsonDocument json = JsonDocument.Parse(last);
            JsonElement result = json.RootElement.GetProperty("data").GetProperty("result");
            if (result.GetArrayLength() == 0)
            {
                return false;
            }

            value = double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
            return true;
        }, TimeSpan.FromSeconds(60), "Prometheus to return aspire_kafka_test_known_total; last answer: " + last);

        Assert.Equal(EchoServiceFixture.KnownCounterValue, value);
    }
}
