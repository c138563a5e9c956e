using System.Diagnostics;

namespace Aspire.Kafka.Broker.Tests;

/// <summary>kafkajs 2.2.4 (admin create, acks=-1 produce with and without gzip) against a controller and three broker processes; read back with kcat.</summary>
[Collection(ProcessCluster.Collection)]
public sealed class KafkajsProcessTests
{
    private static string RepositoryRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Aspire.Kafka.sln")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return dir ?? throw new InvalidOperationException("Aspire.Kafka.sln not found above the test folder.");
    }

    private static async Task<string> NodeAsync(string modules, string bootstrap, string mode)
    {
        var info = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "kafkajs_flow.js"));
        info.ArgumentList.Add(bootstrap);
        info.ArgumentList.Add(mode);
        info.Environment["NODE_PATH"] = modules;
        using Process process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"kafkajs_flow.js {mode} exited with {process.ExitCode}: {await stderr}");
        return await stdout;
    }

    [Fact]
    public async Task KafkajsCreatesATopicAndProducesWithAcksAll()
    {
        string modules = Path.Combine(RepositoryRoot(), "tests", "Compatibility.Tests", "node", "node_modules");
        Assert.True(Directory.Exists(Path.Combine(modules, "kafkajs")), $"kafkajs is missing: run npm ci in {Path.GetDirectoryName(modules)} (./test.sh does).");
        await using ProcessCluster cluster = await ProcessCluster.StartAsync(3);

        Assert.Contains("created", await NodeAsync(modules, cluster.Bootstrap, "create"), StringComparison.Ordinal);

        // Each broker learns the topic from the metadata log at its own pace; a non-idempotent
        // producer that meets UNKNOWN_TOPIC_OR_PARTITION on one broker may resend what another
        // already stored. Wait until every broker lists the leaders, as a careful application would.
        foreach (int i in new[] { 1, 2, 3 })
        {
            string address = cluster.Cluster.Node($"broker-{i}").Address("PLAINTEXT");
            DateTime deadline = DateTime.UtcNow.AddSeconds(30);
            while (!(await ProcessCluster.KcatAsync("", 30, "-b", address, "-L", "-t", "js-topic")).Contains("2 partitions", StringComparison.Ordinal))
            {
                Assert.True(DateTime.UtcNow < deadline, $"broker-{i} did not learn js-topic within 30 s");
                await Task.Delay(100);
            }
        }

        Assert.Contains("produced 20", await NodeAsync(modules, cluster.Bootstrap, "produce"), StringComparison.Ordinal);
        Assert.Contains("produced idempotent 30", await NodeAsync(modules, cluster.Bootstrap, "idempotent"), StringComparison.Ordinal);

        string consumed = await ProcessCluster.KcatAsync("", 60, "-b", cluster.Bootstrap, "-C", "-t", "js-topic", "-o", "beginning", "-e", "-f", "%p:%o:%s\n");
        string[] values = consumed.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(values.Length == 50, $"expected 50 records, got {values.Length}: {string.Join(' ', values)}");
        Assert.Equal(10, values.Count(v => v.Contains(":js-0-", StringComparison.Ordinal)));
        Assert.Equal(10, values.Count(v => v.Contains(":js-1-", StringComparison.Ordinal)));
        Assert.Equal(30, values.Count(v => v.Contains(":js-idem-", StringComparison.Ordinal)));

        // The idempotent producer's batches carry its producer id (from InitProducerId) and, per
        // partition, sequences from 0 without gap or repeat; the others carry none.
        int idempotentRecords = 0;
        foreach (int partition in new[] { 0, 1 })
        {
            string directory = Enumerable.Range(1, 3).Select(i => Path.Combine(cluster.Cluster.Node($"broker-{i}").Resource.DataDirectory!, $"js-topic-{partition}")).First(Directory.Exists);
            var withId = SegmentBatches.Read(directory).Where(b => b.ProducerId >= 0).ToList();
            Assert.True(withId.Select(b => b.ProducerId).Distinct().Count() <= 1, $"partition {partition}: several producer ids");
            int next = 0;
            foreach (Records.RecordBatchHeader b in withId)
            {
                Assert.Equal(0, b.ProducerEpoch);
                Assert.Equal(next, b.BaseSequence);
                next = b.LastSequence + 1;
                idempotentRecords += b.LastOffsetDelta + 1;
            }
        }

        Assert.Equal(30, idempotentRecords);
    }
}
