using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Aspire.Kafka.Broker.Tests;

/// <summary>kill -9 of a partition leader: the controller elects another, acknowledged records survive, the killed broker truncates and rejoins.</summary>
[Collection(ProcessCluster.Collection)]
public sealed partial class FailoverProcessTests
{
    [GeneratedRegex(@"partition (\d+), leader (-?\d+), replicas: ([\d,]+), isrs: ([\d,]*)")]
    private static partial Regex PartitionLine();

    private static async Task<(int Leader, int[] Isr)> DescribeAsync(ProcessCluster cluster, string topic)
    {
        string metadata = await ProcessCluster.KcatAsync("", 30, "-b", cluster.Bootstrap, "-L", "-t", topic);
        Match m = PartitionLine().Match(metadata);
        Assert.True(m.Success, $"no partition line in kcat -L output: {metadata}");
        int[] isr = m.Groups[4].Value.Length == 0 ? [] : [.. m.Groups[4].Value.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))];
        return (int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), isr);
    }

    private static string Records(int from, int count)
    {
        var sb = new StringBuilder();
        for (int i = from; i < from + count; i++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"k{i}:v{i}\n");
        }

        return sb.ToString();
    }

    [Fact]
    public async Task KillingTheLeaderLosesNoAcknowledgedRecordAndTheBrokerRejoinsTheIsr()
    {
        await using ProcessCluster cluster = await ProcessCluster.StartAsync(3, new Dictionary<string, string>
        {
            ["num.partitions"] = "1",
            ["default.replication.factor"] = "3",
            ["min.insync.replicas"] = "2",
            ["replica.lag.time.max.ms"] = "3000",
        });
        string[] produce = ["-b", cluster.Bootstrap, "-P", "-t", "failover", "-K:", "-X", "acks=all", "-X", "message.timeout.ms=60000"];

        await ProcessCluster.KcatAsync(Records(0, 500), 90, produce);
        (int leader, _) = await DescribeAsync(cluster, "failover");
        string leaderName = $"broker-{leader - 100}";
        await cluster.Cluster.Node(leaderName).KillAsync();

        // librdkafka refreshes metadata and sends to the new leader once the controller fences the dead one.
        await ProcessCluster.KcatAsync(Records(500, 500), 90, produce);
        (int newLeader, int[] isrAfterKill) = await DescribeAsync(cluster, "failover");
        Assert.NotEqual(leader, newLeader);
        Assert.DoesNotContain(leader, isrAfterKill);

        await cluster.Cluster.Node(leaderName).RestartAsync();
        DateTime deadline = DateTime.UtcNow.AddSeconds(60);
        int[] isr;
        while (!(isr = (await DescribeAsync(cluster, "failover")).Isr).Contains(leader))
        {
            Assert.True(DateTime.UtcNow < deadline, $"broker {leader} did not rejoin the ISR [{string.Join(',', isr)}] within 60 s");
            await Task.Delay(250);
        }

        string consumed = await ProcessCluster.KcatAsync("", 60, "-b", cluster.Bootstrap, "-C", "-t", "failover", "-o", "beginning", "-e", "-f", "%s\n");
        string[] values = consumed.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => $"v{i}"), values);
    }

    [Fact]
    public async Task SigtermMovesLeadershipAwayAndClosesTheLogsCleanly()
    {
        await using ProcessCluster cluster = await ProcessCluster.StartAsync(3, new Dictionary<string, string>
        {
            ["num.partitions"] = "1",
            ["default.replication.factor"] = "3",
        });
        await ProcessCluster.KcatAsync(Records(0, 100), 90, "-b", cluster.Bootstrap, "-P", "-t", "graceful", "-K:", "-X", "acks=all");
        (int leader, _) = await DescribeAsync(cluster, "graceful");
        Hosting.ResourceProcess node = cluster.Cluster.Node($"broker-{leader - 100}");
        string dataDirectory = node.Resource.DataDirectory!;

        await node.StopAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(0, node.ExitCode);
        Assert.True(File.Exists(Path.Combine(dataDirectory, ".kafka_cleanshutdown")), "no clean-shutdown marker after SIGTERM");
        Assert.True(File.Exists(Path.Combine(dataDirectory, "replication-offset-checkpoint")), "no high watermark checkpoint after SIGTERM");
        (int newLeader, _) = await DescribeAsync(cluster, "graceful");
        Assert.NotEqual(leader, newLeader);
        Assert.NotEqual(-1, newLeader);
        await ProcessCluster.KcatAsync(Records(100, 100), 90, "-b", cluster.Bootstrap, "-P", "-t", "graceful", "-K:", "-X", "acks=all");
        string consumed = await ProcessCluster.KcatAsync("", 60, "-b", cluster.Bootstrap, "-C", "-t", "graceful", "-o", "beginning", "-e", "-f", "%s\n");
        Assert.Equal(Enumerable.Range(0, 200).Select(i => $"v{i}"), consumed.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
