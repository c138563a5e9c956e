using System.Diagnostics;

namespace Aspire.Kafka.Broker.Tests;

/// <summary>The seeds' kafka-python 2.0.2 flow, verbatim in spirit, against a controller and three broker processes.</summary>
[Collection(ProcessCluster.Collection)]
public sealed class KafkaPythonProcessTests
{
    [Fact]
    public async Task SeedFlowCreatesProducesWithAcksAllAndConsumesTenMessagesInOrder()
    {
        await using ProcessCluster cluster = await ProcessCluster.StartAsync(3);
        string[] lines = await RunScriptAsync("seed_flow.py", cluster.Bootstrap);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"{i} key-{i} message-{i}"), lines);
    }

    [Fact]
    public async Task TopicStorageConfigsAreAcceptedDescribedAndHonored()
    {
        await using ProcessCluster cluster = await ProcessCluster.StartAsync(3);
        string[] lines = await RunScriptAsync("topic_configs_flow.py", cluster.Bootstrap);
        Assert.Equal("create stamped: 0", lines[0]);
        Assert.StartsWith("create bad: InvalidConfigurationError ", lines[1], StringComparison.Ordinal); // INVALID_CONFIG (40)
        Assert.Contains("Value must be no more than 1", lines[1], StringComparison.Ordinal);
        Assert.Equal(
            ["config index.interval.bytes=128", "config message.timestamp.type=LogAppendTime", "config min.cleanable.dirty.ratio=0.25", "config preallocate=false"],
            lines[2..6]);
        // The producer sent timestamp 1000 (CreateTime); the topic stamps the broker's append time.
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"record {i} type=1 broker-time=True"), lines[6..]);

        // preallocate=false: every replica's active segment ends with its last batch, no zeros written ahead.
        foreach (int broker in new[] { 1, 2, 3 })
        {
            string segment = Path.Combine(cluster.Cluster.Node($"broker-{broker}").Resource.DataDirectory!, "stamped-0", "00000000000000000000.log");
            byte[] bytes = await File.ReadAllBytesAsync(segment);
            int end = 0;
            while (end + 12 <= bytes.Length && System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(end + 8)) is > 0 and var length)
            {
                end += 12 + length;
            }

            Assert.True(bytes.Length > 0 && end == bytes.Length, $"{segment}: {bytes.Length} bytes, batches end at {end}");
        }
    }

    private static async Task<string[]> RunScriptAsync(string script, string bootstrap)
    {
        Assert.True(File.Exists("/usr/bin/python3"), "python3 is missing: apt-get install -y python3-kafka");
        var info = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, script));
        info.ArgumentList.Add(bootstrap);
        using Process process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        string error = await stderr;
        string output = await stdout;
        Assert.True(process.ExitCode == 0, $"{script} exited with {process.ExitCode} (kafka-python missing? apt-get install -y python3-kafka): {error}\n{output}");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
