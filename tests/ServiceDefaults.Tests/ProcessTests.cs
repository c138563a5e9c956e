using Aspire.Kafka.Testing;

namespace Aspire.Kafka.ServiceDefaults.Tests;

/// <summary>What a user sees when a service starts with bad configuration.</summary>
public sealed class ProcessTests
{
    private static async Task<(int ExitCode, IReadOnlyList<string> Lines)> RunEchoAsync(IEnumerable<string> args, IDictionary<string, string>? environment = null)
    {
        using var process = new ChildProcess(TestSupport.Dotnet, [TestSupport.EchoDll, .. args], environment: environment);
        int exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        return (exitCode, process.Lines);
    }

    [Fact]
    public async Task An_invalid_value_stops_the_service_with_one_sentence_and_a_non_zero_exit_code()
    {
        (int exitCode, IReadOnlyList<string> lines) = await RunEchoAsync(["--override", "socket.request.max.bytes=lots"]);
        Assert.Equal(2, exitCode);
        Assert.Equal(["echo: Invalid value lots for configuration socket.request.max.bytes (from --override): not a number of type INT."], lines);
    }

    [Fact]
    public async Task An_unknown_key_stops_the_service_but_a_foreign_KAFKA_variable_does_not_matter()
    {
        (int exitCode, IReadOnlyList<string> lines) = await RunEchoAsync(
            ["--override", "log.segment.bites=1"],
            new Dictionary<string, string> { ["KAFKA_HEAP_OPTS"] = "-Xmx1G" });
        Assert.Equal(2, exitCode);
        Assert.Equal(["echo: Unknown configuration log.segment.bites (value 1, from --override log.segment.bites=...): this service does not define it."], lines);
    }

    [Fact]
    public async Task An_ssl_listener_is_rejected_with_a_clear_message()
    {
        (int exitCode, IReadOnlyList<string> lines) = await RunEchoAsync([], new Dictionary<string, string> { ["KAFKA_LISTENERS"] = "SSL://127.0.0.1:9093" });
        Assert.Equal(2, exitCode);
        Assert.Equal(["echo: Invalid value SSL://127.0.0.1:9093 for configuration listeners: listener SSL uses security protocol SSL, but only PLAINTEXT is supported."], lines);
    }

    [Fact]
    public async Task Logs_carry_service_name_and_node_id_and_follow_log_level_and_format()
    {
        int port = TestSupport.FreePort();
        using (var text = new ChildProcess(TestSupport.Dotnet,
            [TestSupport.EchoDll, "--override", $"http.listener=127.0.0.1:{port}", "--override", "node.id=7", "--override", "log.level=DEBUG"]))
        {
            await TestSupport.Eventually(() => text.HasLine(l => l.Contains("echo started", StringComparison.Ordinal)), TimeSpan.FromSeconds(30), "the started line");
            Assert.Contains(text.Lines, l => l.Contains(" INFO  [echo node=7] Aspire.Kafka.ServiceDefaults: echo started: http 127.0.0.1:", StringComparison.Ordinal));
            await TestSupport.Eventually(() => text.HasLine(l => l.Contains(" DEBUG [echo node=7] ", StringComparison.Ordinal)), TimeSpan.FromSeconds(30), "a DEBUG line");
            text.Process.Kill();
        }

        port = TestSupport.FreePort();
        int kafkaPort = TestSupport.FreePort();
        using var json = new ChildProcess(TestSupport.Dotnet,
            [TestSupport.EchoDll, "--override", $"http.listener=127.0.0.1:{port}", "--override", $"listeners=PLAINTEXT://127.0.0.1:{kafkaPort}",
             "--override", "node.id=8", "--override", "log.format=json", "--override", "log.level=WARN"]);
        using var http = new HttpClient();
        await TestSupport.Eventually(async () =>
        {
            try
            {
                return (await http.GetAsync(new Uri($"http://127.0.0.1:{port}/alive"))).IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(30), "the json-logging service to answer /alive");

        // A frame-size violation logs a WARN line.
        using (var client = new System.Net.Sockets.TcpClient())
        {
            await client.ConnectAsync(System.Net.IPAddress.Loopback, kafkaPort);
            await client.GetStream().WriteAsync(new byte[] { 0x7F, 0xFF, 0xFF, 0xFF });
            await TestSupport.Eventually(() => json.HasLine(l => l.Contains("Closing connection from", StringComparison.Ordinal)), TimeSpan.FromSeconds(30), "the WARN line");
        }

        // SIGTERM: a graceful stop (exit code 0) that logs at WARN or above only; every line is one JSON object.
        using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", json.Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        Assert.Equal(0, await json.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.NotEmpty(json.Lines);
        Assert.Contains(json.Lines, l => l.Contains("\"level\":\"WARN\"", StringComparison.Ordinal));
        foreach (string line in json.Lines)
        {
            using var document = System.Text.Json.JsonDocument.Parse(line);
            Assert.Equal("echo", document.RootElement.GetProperty("service").GetString());
            Assert.Equal(8, document.RootElement.GetProperty("node").GetInt32());
            Assert.NotEqual("INFO", document.RootElement.GetProperty("level").GetString());
        }
    }
    [Fact]
    public async Task SIGTERM_closes_idle_Kafka_connections_instead_of_waiting_for_the_shutdown_timeout()
    {
        int port = TestSupport.FreePort();
        int kafkaPort = TestSupport.FreePort();
        using var echo = new ChildProcess(TestSupport.Dotnet,
            [TestSupport.EchoDll, "--override", $"http.listener=127.0.0.1:{port}", "--override", $"listeners=PLAINTEXT://127.0.0.1:{kafkaPort}",
             "--override", "shutdown.timeout.ms=120000"]);
        await TestSupport.Eventually(() => echo.HasLine(l => l.Contains("echo started", StringComparison.Ordinal)), TimeSpan.FromSeconds(30), "the started line");

        // A client that keeps its connection open after one request, as Kafka clients do.
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(System.Net.IPAddress.Loopback, kafkaPort);
        System.Net.Sockets.NetworkStream stream = client.GetStream();
        await stream.WriteAsync(new byte[] { 0, 0, 0, 4, (byte)'p', (byte)'i', (byte)'n', (byte)'g' });
        byte[] answer = new byte[8];
        using (var read = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            await stream.ReadExactlyAsync(answer, read.Token);
        }

        Assert.Equal("ping", System.Text.Encoding.ASCII.GetString(answer, 4, 4));
        using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", echo.Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        // Well before shutdown.timeout.ms (120 s): the server closed the idle connection itself.
        Assert.Equal(0, await echo.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        using var closed = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        int n;
        try
        {
            n = await stream.ReadAsync(new byte[16], closed.Token);
        }
        catch (IOException)
        {
            n = 0; // a reset is a close too
        }

        Assert.Equal(0, n);
    }
}
