using System.Diagnostics;
using Aspire.Kafka.Hosting;
using Aspire.Kafka.Topology;

namespace Aspire.Kafka.Broker.Tests;

/// <summary>One controller and three broker processes (ids 101..103) on loopback: the topology of libs/Topology through the test harness.</summary>
internal sealed class ProcessCluster : IAsyncDisposable
{
    /// <summary>Process tests run one cluster at a time (each is four processes on a small machine).</summary>
    public const string Collection = "processes";

    private ProcessCluster(TestCluster cluster) => Cluster = cluster;

    public TestCluster Cluster { get; }

    public string Bootstrap => Cluster.BootstrapServers("primary");

    public static async Task<ProcessCluster> StartAsync(int brokers = 3, IReadOnlyDictionary<string, string>? brokerConfig = null)
    {
        var config = new Dictionary<string, string>
        {
            ["broker.heartbeat.interval.ms"] = "500",
            ["replica.fetch.wait.max.ms"] = "100",
            ["replica.fetch.backoff.ms"] = "100",
        };
        foreach ((string key, string value) in brokerConfig ?? new Dictionary<string, string>())
        {
            config[key] = value;
        }

        TestCluster cluster = await TestCluster.StartAsync(new ClusterSpec(KafkaTopology.Primary)
        {
            Controllers = 1,
            Brokers = brokers,
            Coordinators = 0,
            ControllerConfig = new Dictionary<string, string> { ["broker.session.timeout.ms"] = "4000" },
            BrokerConfig = config,
        });
        return new ProcessCluster(cluster);
    }

    public ValueTask DisposeAsync() => Cluster.DisposeAsync();

    /// <summary>Runs kcat with <paramref name="stdin"/>; returns stdout, fails with stderr on a non-zero exit.</summary>
    public static async Task<string> KcatAsync(string stdin, int timeoutSeconds, params string[] args)
    {
        var info = new ProcessStartInfo("kcat")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
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
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"kcat {string.Join(' ', args)} did not finish within {timeoutSeconds} s; stderr: {await stderr}");
            }

            string output = await stdout;
            return process.ExitCode == 0
                ? output
                : throw new InvalidOperationException($"kcat {string.Join(' ', args)} exited with {process.ExitCode}: {await stderr}");
        }
    }
}
