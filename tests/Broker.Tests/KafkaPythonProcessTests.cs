using System.Diagnostics;

namespace Aspire.Kafka.Broker.Tests;

/// <summary>The seeds' kafka-python 2.0.2 flow, verbatim in spirit, against a controller and three broker processes.</summary>
[Collection(ProcessCluster.Collection)]
public sealed class KafkaPythonProcessTests
{
    [Fact]
    public async Task SeedFlowCreatesProducesWithAcksAllAndConsumesTenMessagesInOrder()
    {
        Assert.True(File.Exists("/usr/bin/python3"), "python3 is missing: apt-get install -y python3-kafka");
        await using ProcessCluster cluster = await ProcessCluster.StartAsync(3);

        var info = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "seed_flow.py"));
        info.ArgumentList.Add(cluster.Bootstrap);
        using Process process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        string error = await stderr;
        Assert.True(process.ExitCode == 0, $"seed_flow.py exited with {process.ExitCode} (kafka-python missing? apt-get install -y python3-kafka): {error}");

        string[] lines = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"{i} key-{i} message-{i}"), lines);
    }
}
