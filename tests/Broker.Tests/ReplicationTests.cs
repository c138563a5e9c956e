using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Records;
using Aspire.Kafka.Storage;
using static Aspire.Kafka.Broker.Tests.ClusterHarness;

namespace Aspire.Kafka.Broker.Tests;

public sealed class ReplicationTests
{
    private static readonly TopicPartition Orders0 = new("orders", 0);

    private static List<string> LogValues(ReplicaManager rm, TopicPartition tp)
    {
        UnifiedLog log = rm.GetPartition(tp)!.Log;
        FetchDataInfo info = log.Read(log.LogStartOffset, int.MaxValue, null, minOneMessage: true);
        return Values(info.Records.ToArray());
    }

    [Fact]
    public async Task AcksAllCompletesOnceTheFollowerHasTheBatchAndBothLogsMatch()
    {
        await using var cluster = new ClusterHarness(null, 1, 2);
        ReplicaManager leader = await cluster.StartBrokerAsync(1);
        ReplicaManager follower = await cluster.StartBrokerAsync(2);
        cluster.CreateTopic("orders", 1, [1, 2]);

        ProduceResponse? response = await leader.HandleProduceAsync(Produce("orders", 0, Batch(CompressionType.None, "a", "b"), acks: -1, timeoutMs: 10_000), 7, null, default)
            .AsTask().WaitAsync(TimeSpan.FromSeconds(15));

        Assert.Equal(0, response!.Responses[0].PartitionResponses[0].ErrorCode);
        Assert.True(leader.GetPartition(Orders0)!.HighWatermark >= 2);
        Assert.True(follower.GetPartition(Orders0)!.LogEndOffset >= 2);
        await WaitUntilAsync(() => follower.GetPartition(Orders0)!.HighWatermark == 2, "the follower learns the high watermark");
        Assert.Equal(["a", "b"], LogValues(follower, Orders0));
        Assert.Equal(0, follower.GetPartition(Orders0)!.Log.LeaderEpochCache.LatestEpoch);
    }

    [Fact]
    public async Task AcksAllTimesOutWhenTheIsrCannotReachTheBatch()
    {
        await using var cluster = new ClusterHarness(null, 1, 2);
        ReplicaManager leader = await cluster.StartBrokerAsync(1);
        cluster.CreateTopic("orders", 1, [1, 2]);

        ProduceResponse? response = await leader.HandleProduceAsync(Produce("orders", 0, Batch(CompressionType.None, "a"), acks: -1, timeoutMs: 200), 7, null, default)
            .AsTask().WaitAsync(TimeSpan.FromSeconds(15));

        Assert.Equal((short)ErrorCode.RequestTimedOut, response!.Responses[0].PartitionResponses[0].ErrorCode);
        Assert.Equal(0, leader.GetPartition(Orders0)!.HighWatermark);
        Assert.Equal(0, leader.ProducePurgatory.Watched);
    }

    [Fact]
    public async Task ConsumersOnlySeeRecordsBelowTheHighWatermark()
    {
        await using var cluster = new ClusterHarness(null, 1, 2);
        ReplicaManager leader = await cluster.StartBrokerAsync(1);
        cluster.CreateTopic("orders", 1, [1, 2]);

        await leader.HandleProduceAsync(Produce("orders", 0, Batch(CompressionType.None, "uncommitted")), 7, null, default);
        FetchResponse consumer = await leader.HandleFetchAsync(Fetch("orders", 0, 0), 11, null, default);

        Assert.Equal(0, consumer.Responses[0].Partitions[0].HighWatermark);
        Assert.Empty(Values(consumer.Responses[0].Partitions[0].Records));
        Assert.Equal(1, leader.GetPartition(Orders0)!.LogEndOffset);
    }

    [Fact]
    public async Task LaggingFollowerIsShrunkOutOfTheIsrThroughAlterPartition()
    {
        await using var cluster = new ClusterHarness(s => s with { ReplicaLagTimeMaxMs = 100 }, 1, 2);
        ReplicaManager leader = await cluster.StartBrokerAsync(1);
        cluster.CreateTopic("orders", 1, [1, 2]);
        Partition partition = leader.GetPartition(Orders0)!;
        await leader.HandleProduceAsync(Produce("orders", 0, Batch(CompressionType.None, "a")), 7, null, default);

        await WaitUntilAsync(() => partition.Isr.SequenceEqual([1]), "the ISR shrinks to the leader");

        Assert.Equal([1], cluster.Image.Topics.GetTopic("orders")!.Partition(0)!.Isr);
        Assert.Equal(1, partition.HighWatermark);
        ProduceResponse? response = await leader.HandleProduceAsync(Produce("orders", 0, Batch(CompressionType.None, "b"), acks: -1), 7, null, default)
            .AsTask().WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(0, response!.Responses[0].PartitionResponses[0].ErrorCode);
    }

    [Fact]
    public async Task FollowerThatCatchesUpIsAddedToTheIsr()
    {
        await using var cluster = new ClusterHarness(null, 1, 2);
        ReplicaManager leader = await cluster.StartBrokerAsync(1);
        cluster.CreateTopic("orders", 1, [1, 2], isr: [1]);
        await leader.HandleProduceAsync(Produce("orders", 0, Batch(CompressionType.None, "a", "b", "c")), 7, null, default);
        Assert.Equal(3, leader.GetPartition(Orders0)!.HighWatermark);

        ReplicaManager follower = await cluster.StartBrokerAsync(2);

        await WaitUntilAsync(() => leader.GetPartition(Orders0)!.Isr.SequenceEqual([1, 2]), "the follower joins the ISR");
        Assert.Equal([1, 2], cluster.Image.Topics.GetTopic("orders")!.Partition(0)!.Isr);
        Assert.Equal(["a", "b", "c"], LogValues(follower, Orders0));
    }

    [Fact]
    public async Task FollowerTruncatesItsDivergentTailWhenTheLeaderChanges()
    {
        await using var cluster = new ClusterHarness(null, 1, 2);
        ReplicaManager one = await cluster.StartBrokerAsync(1);
        ReplicaManager two = await cluster.StartBrokerAsync(2);
        cluster.CreateTopic("orders", 1, [2, 1], isr: [2, 1], leader: 2);

        // Epoch 0, leader 2: "a","b" reach broker 1; then broker 1 is cut off and "x","y","z" stay on broker 2 only.
        await two.HandleProduceAsync(Produce("orders", 0, Batch(CompressionType.None, "a", "b"), acks: -1), 7, null, default).AsTask().WaitAsync(TimeSpan.FromSeconds(15));
        await WaitUntilAsync(() => one.GetPartition(Orders0)!.LogEndOffset == 2, "broker 1 has a and b");
        cluster.Isolated[1] = true;
        await two.HandleProduceAsync(Produce("orders", 0, Batch(CompressionType.None, "x", "y", "z")), 7, null, default);
        Assert.Equal(5, two.GetPartition(Orders0)!.LogEndOffset);

        // Epoch 1, leader 1 (as after broker 2 failed): it writes "c"; broker 2 comes back as follower.
        cluster.Isolated[2] = true;
        cluster.ChangeLeader("orders", 0, 1, [1]);
        cluster.Isolated.TryRemove(1, out _);
        await one.HandleProduceAsync(Produce("orders", 0, Batch(CompressionType.None, "c")), 7, null, default);
        cluster.Isolated.TryRemove(2, out _);

        Assert.Equal(["a", "b", "c"], LogValues(one, Orders0));
        await WaitUntilAsync(() => LogValues(two, Orders0).SequenceEqual(["a", "b", "c"]), "broker 2 truncated x,y,z and replicated c");
        Assert.Equal(3, two.GetPartition(Orders0)!.LogEndOffset);
        Assert.Equal(1, two.GetPartition(Orders0)!.Log.LeaderEpochCache.LatestEpoch);
    }

    [Fact]
    public async Task LeaderEpochsAreFencedOnFetch()
    {
        await using var cluster = new ClusterHarness();
        ReplicaManager rm = await cluster.StartBrokerAsync(1);
        cluster.CreateTopic("orders", 1, [1]);
        cluster.ChangeLeader("orders", 0, 1, [1]);
        cluster.Publish(Aspire.Kafka.Metadata.RecordVersions.Of(new Aspire.Kafka.Protocol.MetadataRecords.PartitionChangeRecord
        {
            TopicId = TopicId("orders"), PartitionId = 0, Leader = -1,
        }));
        cluster.ChangeLeader("orders", 0, 1, [1]);
        int epoch = rm.GetPartition(Orders0)!.LeaderEpoch;
        Assert.True(epoch >= 1);

        FetchRequest old = Fetch("orders", 0, 0);
        old.Topics[0].Partitions[0].CurrentLeaderEpoch = epoch - 1;
        FetchRequest future = Fetch("orders", 0, 0);
        future.Topics[0].Partitions[0].CurrentLeaderEpoch = epoch + 1;

        Assert.Equal((short)ErrorCode.FencedLeaderEpoch, (await rm.HandleFetchAsync(old, 11, null, default)).Responses[0].Partitions[0].ErrorCode);
        Assert.Equal((short)ErrorCode.UnknownLeaderEpoch, (await rm.HandleFetchAsync(future, 11, null, default)).Responses[0].Partitions[0].ErrorCode);
    }

    [Fact]
    public async Task HighWatermarkSurvivesARestartThroughTheCheckpoint()
    {
        await using var cluster = new ClusterHarness(null, 1, 2);
        await cluster.StartBrokerAsync(1);
        await cluster.StartBrokerAsync(2);
        cluster.CreateTopic("orders", 1, [1, 2]);
        ProduceResponse? response = await cluster.Brokers[1].HandleProduceAsync(Produce("orders", 0, Batch(CompressionType.None, "a", "b", "c"), acks: -1), 7, null, default)
            .AsTask().WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(0, response!.Responses[0].PartitionResponses[0].ErrorCode);

        await cluster.StopBrokerAsync(2);
        await cluster.StopBrokerAsync(1);
        ReplicaManager restarted = await cluster.StartBrokerAsync(1);

        Assert.Equal(3, restarted.GetPartition(Orders0)!.HighWatermark);
        FetchResponse fetched = await restarted.HandleFetchAsync(Fetch("orders", 0, 0), 11, null, default);
        Assert.Equal(["a", "b", "c"], Values(fetched.Responses[0].Partitions[0].Records));
    }
}
