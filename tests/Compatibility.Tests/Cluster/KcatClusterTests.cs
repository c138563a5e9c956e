using System.Text;
using System.Text.Json;
using Aspire.Kafka.Client;
using Aspire.Kafka.Compatibility.Tests.Flows;
using Aspire.Kafka.Protocol;
using Xunit.Abstractions;

namespace Aspire.Kafka.Compatibility.Tests.Cluster;

/// <summary>kcat (librdkafka 2.0.2) against the live cluster: metadata, and 100,000 keyed records per codec there and back.</summary>
[Collection(LiveClusterCollection.Name)]
public sealed class KcatClusterTests(LiveClusterFixture fixture, ITestOutputHelper output)
{
    private const int Records = 100_000;
    private const int Partitions = 4;
    private const int DistinctKeys = 1_000;

    [Fact]
    public async Task Kcat_metadata_lists_the_brokers_and_each_partitions_leader_and_ISR()
    {
        await using var admin = new KafkaClient(new KafkaClientOptions { BootstrapServers = fixture.Cluster.BootstrapList });
        (await admin.CreateTopicsAsync([new NewTopic("kcat-metadata", 3, 3)])).Single().ThrowIfError();

        using JsonDocument metadata = await WaitForMetadataAsync("kcat-metadata", p => p.GetProperty("isrs").GetArrayLength() == 3);
        int[] brokers = [.. metadata.RootElement.GetProperty("brokers").EnumerateArray().Select(b => b.GetProperty("id").GetInt32())];
        Assert.Equal([101, 102, 103], brokers.Order().ToArray());
        JsonElement topic = metadata.RootElement.GetProperty("topics").EnumerateArray().Single(t => t.GetProperty("topic").GetString() == "kcat-metadata");
        JsonElement[] partitions = [.. topic.GetProperty("partitions").EnumerateArray()];
        Assert.Equal(3, partitions.Length);
        foreach (JsonElement p in partitions)
        {
            int leader = p.GetProperty("leader").GetInt32();
            int[] replicas = [.. p.GetProperty("replicas").EnumerateArray().Select(r => r.GetProperty("id").GetInt32())];
            int[] isr = [.. p.GetProperty("isrs").EnumerateArray().Select(r => r.GetProperty("id").GetInt32())];
            Assert.Equal([101, 102, 103], replicas.Order().ToArray());
            Assert.Equal(replicas.Order().ToArray(), isr.Order().ToArray());
            Assert.Contains(leader, replicas);
        }

        // Preferred leaders are spread: not every partition on one broker.
        Assert.True(partitions.Select(p => p.GetProperty("leader").GetInt32()).Distinct().Count() > 1, "every partition has the same leader");
    }

    /// <summary>Per codec; two of them as an idempotent producer (InitProducerId from any node, coordinators included; sequences per partition).</summary>
    [Theory]
    [InlineData("none", false)]
    [InlineData("gzip", true)]
    [InlineData("snappy", false)]
    [InlineData("lz4", false)]
    [InlineData("zstd", true)]
    public async Task Kcat_produces_100000_keyed_records_with_murmur2_and_consumes_them_all_back(string codec, bool idempotent)
    {
        string kcat = ClientTools.Kcat();
        string topic = $"kcat-{codec}";
        await using var admin = new KafkaClient(new KafkaClientOptions { BootstrapServers = fixture.Cluster.BootstrapList });
        (await admin.CreateTopicsAsync([new NewTopic(topic, Partitions, 3)])).Single().ThrowIfError();
        await WaitForMetadataAsync(topic, p => p.GetProperty("leader").GetInt32() > 0);

        var input = new StringBuilder();
        for (int i = 0; i < Records; i++)
        {
            input.Append("key-").Append(i % DistinctKeys).Append(':').Append("value-").Append(i).Append('\n');
        }

        ClientRun produce = await ClientProcess.RunAsync(kcat,
            ["-P", "-b", fixture.Cluster.Bootstrap, "-t", topic, "-K:", "-z", codec, "-X", "partitioner=murmur2_random", "-X", "acks=all",
             "-X", "linger.ms=20", "-X", "batch.num.messages=10000", "-X", $"enable.idempotence={(idempotent ? "true" : "false")}"],
            standardInput: input.ToString(), timeout: TimeSpan.FromSeconds(120));
        output.WriteLine(produce.Describe()[..Math.Min(4000, produce.Describe().Length)]);
        Assert.True(produce.Succeeded, produce.Describe());
        Assert.DoesNotContain("Delivery failed", produce.StdErr, StringComparison.Ordinal);

        ClientRun consume = await ClientProcess.RunAsync(kcat,
            ["-C", "-b", fixture.Cluster.Bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%p %o %k %s\\n"],
            timeout: TimeSpan.FromSeconds(120));
        Assert.True(consume.Succeeded, consume.Describe()[..Math.Min(4000, consume.Describe().Length)]);

        var seen = new HashSet<int>();
        var lastOffset = new Dictionary<int, long>();
        foreach (string line in consume.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] f = line.Split(' ');
            int partition = int.Parse(f[0], System.Globalization.CultureInfo.InvariantCulture);
            long offset = long.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(Murmur2Partition(f[2], Partitions), partition);
            Assert.True(offset > lastOffset.GetValueOrDefault(partition, -1), $"offsets in partition {partition} go back: {offset}");
            lastOffset[partition] = offset;
            int value = int.Parse(f[3]["value-".Length..], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal($"key-{value % DistinctKeys}", f[2]);
            Assert.True(seen.Add(value), $"value-{value} consumed twice");
        }

        Assert.Equal(Records, seen.Count);
    }

    private async Task<JsonDocument> WaitForMetadataAsync(string topic, Func<JsonElement, bool> partitionReady)
    {
        string kcat = ClientTools.Kcat();
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            ClientRun run = await ClientProcess.RunAsync(kcat, ["-L", "-J", "-b", fixture.Cluster.Bootstrap, "-t", topic], timeout: TimeSpan.FromSeconds(15));
            if (run.Succeeded)
            {
                JsonDocument json = JsonDocument.Parse(run.StdOut);
                JsonElement? t = json.RootElement.GetProperty("topics").EnumerateArray().Cast<JsonElement?>().FirstOrDefault(e => e!.Value.GetProperty("topic").GetString() == topic);
                if (t is { } found && !found.TryGetProperty("error", out _) && found.GetProperty("partitions").GetArrayLength() > 0
                    && found.GetProperty("partitions").EnumerateArray().All(partitionReady))
                {
                    return json;
                }

                json.Dispose();
            }

            Assert.True(DateTime.UtcNow < deadline, $"{topic} never became ready in kcat -L: {run.Describe()}");
            await Task.Delay(200);
        }
    }

    /// <summary>The Java client's and librdkafka's murmur2 partitioner: toPositive(murmur2(key)) % partitions.</summary>
    internal static int Murmur2Partition(string key, int partitions)
    {
        byte[] data = Encoding.UTF8.GetBytes(key);
        const uint m = 0x5bd1e995;
        const int r = 24;
        uint h = 0x9747b28c ^ (uint)data.Length;
        int length4 = data.Length / 4;
        for (int i = 0; i < length4; i++)
        {
            int i4 = i * 4;
            uint k = (uint)(data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) | (data[i4 + 3] << 24));
            k *= m;
            k ^= k >> r;
            k *= m;
            h *= m;
            h ^= k;
        }

        int rest = data.Length % 4;
        int tail = data.Length & ~3;
        if (rest == 3)
        {
            h ^= (uint)data[tail + 2] << 16;
        }

        if (rest >= 2)
        {
            h ^= (uint)data[tail + 1] << 8;
        }

        if (rest >= 1)
        {
            h ^= data[tail];
            h *= m;
        }

        h ^= h >> 13;
        h *= m;
        h ^= h >> 15;
        return (int)((h & 0x7fffffff) % (uint)partitions);
    }
}
