using System.Globalization;
using System.Text.RegularExpressions;

namespace Aspire.Kafka.Broker.Tests;

/// <summary>acks=all against min.insync.replicas=2 with RF 3 as brokers go away (kcat / librdkafka).</summary>
[Collection(ProcessCluster.Collection)]
public sealed partial class AcksProcessTests
{
    [GeneratedRegex(@"partition 0, leader (-?\d+), replicas: [\d,]+, isrs: ([\d,]*)")]
    private static partial Regex PartitionLine();

    [Fact]
    public async Task AcksAllSucceedsWithOneBrokerDownAndFailsWithNotEnoughReplicasWithTwoDown()
    {
        await using ProcessCluster cluster = await ProcessCluster.StartAsync(3, new Dictionary<string, string>
        {
            ["num.partitions"] = "1",
            ["default.replication.factor"] = "3",
            ["min.insync.replicas"] = "2",
        });
        string[] produce = ["-b", cluster.Bootstrap, "-P", "-t", "acks", "-X", "acks=all", "-X", "message.timeout.ms=8000"];
        await ProcessCluster.KcatAsync("first\n", 60, produce);
        Match m = PartitionLine().Match(await ProcessCluster.KcatAsync("", 30, "-b", cluster.Bootstrap, "-L", "-t", "acks"));
        Assert.True(m.Success);
        int leader = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        int[] others = [.. new[] { 101, 102, 103 }.Where(id => id != leader)];

        async Task WaitForIsrAsync(int size)
        {
            DateTime deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                Match now = PartitionLine().Match(await ProcessCluster.KcatAsync("", 30, "-b", cluster.Cluster.Node($"broker-{leader - 100}").Address("PLAINTEXT"), "-L", "-t", "acks"));
                if (now.Success && now.Groups[2].Value.Split(',', StringSplitOptions.RemoveEmptyEntries).Length == size)
                {
                    return;
                }

                Assert.True(DateTime.UtcNow < deadline, $"the ISR did not reach {size} replicas within 60 s");
                await Task.Delay(200);
            }
        }

        await cluster.Cluster.Node($"broker-{others[0] - 100}").KillAsync();
        await WaitForIsrAsync(2);
        await ProcessCluster.KcatAsync("second\n", 60, produce);

        await cluster.Cluster.Node($"broker-{others[1] - 100}").KillAsync();
        await WaitForIsrAsync(1);
        // Without retries librdkafka reports the broker's error instead of retrying until the message times out.
        InvalidOperationException refused = await Assert.ThrowsAsync<InvalidOperationException>(() => ProcessCluster.KcatAsync("third\n", 60, [.. produce, "-X", "retries=0"]));
        Assert.True(refused.Message.Contains("Not enough in-sync replicas", StringComparison.Ordinal), refused.Message);

        string consumed = await ProcessCluster.KcatAsync("", 60, "-b", cluster.Bootstrap, "-C", "-t", "acks", "-o", "beginning", "-e", "-f", "%s\n");
        Assert.Equal(["first", "second"], consumed.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
