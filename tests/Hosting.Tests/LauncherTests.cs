using System.Collections.Concurrent;
using System.Text;
using Aspire.Kafka.Storage;
using Aspire.Kafka.Testing;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Aspire.Kafka.Hosting.Tests;

/// <summary>The launcher in-process (through <see cref="TestCluster"/>): ordering, data directories, node handles.</summary>
public sealed class LauncherTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly string _data = TestSupport.TempDirectory("launcher");
    private readonly LineWriter _output = new();

    public void Dispose() => Directory.Delete(_data, recursive: true);

    private DistributedApplicationOptions Options(bool restart = false) => new()
    {
        DataDirectory = _data,
        BuildProjects = false,
        RestartOnFailure = restart,
        StopTimeout = TimeSpan.FromSeconds(10),
        Output = _output,
    };

    private static void TwoEchoes(DistributedApplicationBuilder app)
    {
        ResourceBuilder first = app.AddProject("first", TestSupport.EchoProject)
            .WithKafkaListener("PLAINTEXT", bootstrap: true)
            .WithDataDirectory("test", 1)
            .WithConfig("test.ready.delay.ms", "1500");
        app.AddProject("second", TestSupport.EchoProject)
            .WithKafkaListener("PLAINTEXT", bootstrap: true)
            .WithDataDirectory("test", 2)
            .WithReference(first);
    }

    [Fact]
    public async Task A_resource_starts_only_after_the_one_it_references_is_healthy()
    {
        await using TestCluster cluster = await TestCluster.StartAsync(TwoEchoes, Options());
        ResourceProcess first = cluster.Node("first");
        ResourceProcess second = cluster.Node("second");

        Assert.Equal(ResourceState.Healthy, first.State);
        Assert.Equal(ResourceState.Healthy, second.State);
        Assert.True(second.StartedAt >= first.HealthyAt, $"second started at {second.StartedAt:O}, before first was healthy at {first.HealthyAt:O}");
        Assert.True(first.HealthyAt - first.StartedAt >= TimeSpan.FromMilliseconds(1500), "first reported healthy before its delay");
        Assert.Equal($"{first.Address("PLAINTEXT")},{second.Address("PLAINTEXT")}", cluster.BootstrapServers("test"));
        Assert.Contains(_output.Lines, l => l.StartsWith("[apphost] ready: 2 resources healthy; test bootstrap ", StringComparison.Ordinal));
        Assert.Contains(_output.Lines, l => l.StartsWith("[second] waiting for first to be healthy", StringComparison.Ordinal));
        Assert.Contains(_output.Lines, l => l.StartsWith("[first] ", StringComparison.Ordinal) && l.Contains("[echo node=1]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Data_directories_are_formatted_once_and_reused()
    {
        string clusterId;
        await using (TestCluster cluster = await TestCluster.StartAsync(TwoEchoes, Options()))
        {
            MetaProperties first = MetaProperties.Read(Path.Combine(_data, "first"))!;
            MetaProperties second = MetaProperties.Read(Path.Combine(_data, "second"))!;
            Assert.Equal(1, first.NodeId);
            Assert.Equal(2, second.NodeId);
            Assert.Equal(first.ClusterId, second.ClusterId);
            Assert.Equal(22, first.ClusterId.Length);
            clusterId = first.ClusterId;
            Assert.Equal(Path.Combine(_data, "first"), cluster.Node("first").Resource.DataDirectory);
        }

        await using (TestCluster again = await TestCluster.StartAsync(TwoEchoes, Options()))
        {
            Assert.Equal(clusterId, MetaProperties.Read(Path.Combine(_data, "second"))!.ClusterId);
            Assert.Equal(clusterId, again.Node("first").Resource.ClusterId);
        }

        DistributedApplicationOptions clean = Options();
        clean.Clean = true;
        await using (TestCluster cleaned = await TestCluster.StartAsync(TwoEchoes, clean))
        {
            Assert.NotEqual(clusterId, MetaProperties.Read(Path.Combine(_data, "first"))!.ClusterId);
        }
    }

    [Fact]
    public async Task Node_handles_stop_kill_and_restart()
    {
        await using TestCluster cluster = await TestCluster.StartAsync(TwoEchoes, Options());
        ResourceProcess second = cluster.Node("second");

        int pid = second.ProcessId;
        await second.StopAsync();
        Assert.Equal(0, second.ExitCode);
        Assert.False(TestSupport.IsAlive(pid));
        Assert.Contains(_output.Lines, l => l == "[second] stopped (exit code 0)");

        await second.RestartAsync();
        Assert.Equal(ResourceState.Healthy, second.State);
        Assert.NotEqual(pid, second.ProcessId);

        pid = second.ProcessId;
        await second.KillAsync();
        Assert.Equal(137, second.ExitCode);
        Assert.False(TestSupport.IsAlive(pid));

        await second.RestartAsync();
        using var http = new HttpClient();
        Assert.Equal("Healthy", await http.GetStringAsync(new Uri($"http://{second.Resource.HttpEndpoint.Address}/health")));
    }

    [Fact]
    public async Task An_unexpected_exit_is_reported_with_its_code_and_last_lines_and_restarted_with_restart()
    {
        await using TestCluster cluster = await TestCluster.StartAsync(TwoEchoes, Options(restart: true));
        ResourceProcess first = cluster.Node("first");
        int pid = first.ProcessId;

        // Killed from outside the launcher, as a crash would.
        System.Diagnostics.Process.GetProcessById(pid).Kill();

        await TestSupport.Eventually(() => _output.Lines.Any(l => l == "[first] exited unexpectedly with code 137; last lines:"), Timeout, "the crash report");
        Assert.Contains(_output.Lines, l => l.StartsWith("[first]   | ", StringComparison.Ordinal) && l.Contains("echo started", StringComparison.Ordinal));
        await TestSupport.Eventually(() => first.State == ResourceState.Healthy && first.ProcessId != pid, Timeout, "first restarted and healthy");
        Assert.Equal(1, first.Restarts);
    }

    [Fact]
    public async Task A_resource_that_fails_to_start_fails_the_start_with_its_output()
    {
        DistributedApplicationOptions options = Options();
        var e = await Assert.ThrowsAsync<ResourceFailedException>(() => TestCluster.StartAsync(
            app => app.AddProject("broken", TestSupport.EchoProject).WithConfig("num.partitions", "3"), options));
        Assert.Contains("broken exited with code 2 before it was healthy", e.Message, StringComparison.Ordinal);
        Assert.Contains("Unknown configuration num.partitions", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Cycles_are_refused()
    {
        DistributedApplicationBuilder builder = DistributedApplicationBuilder.CreateBuilder(Options());
        ResourceBuilder a = builder.AddProject("a", TestSupport.EchoProject);
        ResourceBuilder b = builder.AddProject("b", TestSupport.EchoProject).WaitFor(a);
        a.WaitFor(b);
        var e = Assert.Throws<InvalidOperationException>(() => builder.Build());
        Assert.Equal("Resources wait for each other in a cycle: a -> b -> a.", e.Message);
    }

    /// <summary>Collects the launcher's lines (thread-safe: the launcher writes under its own lock).</summary>
    private sealed class LineWriter : TextWriter
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyCollection<string> Lines => _lines.ToArray();

        public override Encoding Encoding => Encoding.UTF8;

        public override void WriteLine(string? value)
        {
            _lines.Enqueue(value ?? "");
            Console.WriteLine(value);
        }
    }
}
