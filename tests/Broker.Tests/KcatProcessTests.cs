using System.Globalization;
using System.Text;

namespace Aspire.Kafka.Broker.Tests;

/// <summary>Real librdkafka (kcat) against a controller and three broker processes.</summary>
[Collection(ProcessCluster.Collection)]
public sealed class KcatProcessTests
{
    [Fact]
    public async Task KcatProducesWithAcksAllAndConsumesEverythingBackWithReplicationFactorThree()
    {
        await using ProcessCluster cluster = await ProcessCluster.StartAsync(3, new Dictionary<string, string>
        {
            ["num.partitions"] = "3",
            ["default.replication.factor"] = "3",
            ["min.insync.replicas"] = "2",
        });

        // Every broker is unfenced once the cluster is healthy; the one answering may learn the last unfencing a moment later.
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        string metadata;
        while (!(metadata = await ProcessCluster.KcatAsync("", 30, "-b", cluster.Bootstrap, "-L")).Contains("3 brokers:", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"kcat -L did not list 3 brokers within 30 s: {metadata}");
            await Task.Delay(100);
        }

        var input = new StringBuilder();
        for (int i = 0; i < 1000; i++)
        {
            input.Append(CultureInfo.InvariantCulture, $"key{i % 37}:value{i}\n");
        }

        // The first produce auto-creates the topic (3 partitions, RF 3); librdkafka retries until leaders exist.
        await ProcessCluster.KcatAsync(input.ToString(), 90, "-b", cluster.Bootstrap, "-P", "-t", "replicated", "-K:",
            "-X", "acks=all", "-X", "partitioner=murmur2_random", "-X", "compression.codec=lz4", "-X", "message.timeout.ms=60000");

        string consumed = await ProcessCluster.KcatAsync("", 90, "-b", cluster.Bootstrap, "-C", "-t", "replicated", "-o", "beginning", "-e",
            "-f", "%p %k %s\n");
        string[] lines = consumed.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(1000, lines.Length);
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => $"value{i}").Order(), lines.Select(l => l.Split(' ')[2]).Order());
        // The same key always lands in the same partition.
        foreach (IGrouping<string, string[]> key in lines.Select(l => l.Split(' ')).GroupBy(p => p[1]))
        {
            Assert.Single(key.Select(p => p[0]).Distinct());
        }

        // The leaders counted what they appended (exported at /metrics in Prometheus format).
        using var http = new HttpClient();
        long appended = 0;
        foreach (int i in new[] { 1, 2, 3 })
        {
            string metrics = await http.GetStringAsync(new Uri($"http://{cluster.Cluster.Node($"broker-{i}").Address("http")}/metrics"));
            foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(metrics,
                @"^kafka_server_brokertopicmetrics_messagesin_total\{topic=""replicated""\} (\d+)", System.Text.RegularExpressions.RegexOptions.Multiline))
            {
                appended += long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            }
        }

        Assert.True(appended >= 1000, $"the brokers' /metrics count {appended} records appended as leader");

        string described = await ProcessCluster.KcatAsync("", 30, "-b", cluster.Bootstrap, "-L", "-t", "replicated");
        Assert.Contains("3 partitions:", described, StringComparison.Ordinal);
        Assert.Contains("isrs: ", described, StringComparison.Ordinal);
    }
}
