using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Records;
using Aspire.Kafka.Storage;
using static Aspire.Kafka.Broker.Tests.ClusterHarness;

namespace Aspire.Kafka.Broker.Tests;

/// <summary>
/// Idempotent producers on the produce path: sequence numbers per producer id and partition,
/// retries answered with the original offsets, gaps and stale epochs refused with Kafka's error
/// codes, and the same producer state on a follower that becomes leader.
/// </summary>
public sealed class IdempotentProduceTests
{
    private static readonly TopicPartition Orders0 = new("orders", 0);

    private static byte[] IdempotentBatch(long producerId, short epoch, int firstSequence, bool transactional = false, params string[] values)
    {
        using var builder = new RecordBatchBuilder(CompressionType.None, 0, producerId, epoch, firstSequence, -1, TimestampType.CreateTime, transactional);
        long ts = 1_700_000_000_000;
        foreach (string v in values)
        {
            builder.Append(ts++, System.Text.Encoding.UTF8.GetBytes("k-" + v), System.Text.Encoding.UTF8.GetBytes(v));
        }

        return builder.Build();
    }

    private static async Task<ProduceResponse.PartitionProduceResponse> ProduceAsync(ReplicaManager rm, byte[] batch, short acks = 1)
    {
        ProduceResponse? response = await rm.HandleProduceAsync(Produce("orders", 0, batch, acks, timeoutMs: 10_000), 9, null, default).AsTask().WaitAsync(TimeSpan.FromSeconds(15));
        return response!.Responses[0].PartitionResponses[0];
    }

    private static List<string> LogValues(ReplicaManager rm)
    {
        UnifiedLog log = rm.GetPartition(Orders0)!.Log;
        return Values(log.Read(log.LogStartOffset, int.MaxValue, null, minOneMessage: true).Records.ToArray());
    }

    [Fact]
    public async Task RetriesAreAnsweredWithTheOriginalOffsetsAndGapsAndStaleEpochsAreRefused()
    {
        await using var cluster = new ClusterHarness();
        ReplicaManager rm = await cluster.StartBrokerAsync(1);
        cluster.CreateTopic("orders", 1, [1]);

        byte[] first = IdempotentBatch(1000, 0, 0, false, "a", "b", "c");
        ProduceResponse.PartitionProduceResponse answer = await ProduceAsync(rm, (byte[])first.Clone());
        Assert.Equal(((short)ErrorCode.None, 0L), (answer.ErrorCode, answer.BaseOffset));
        Assert.Equal(3, (await ProduceAsync(rm, IdempotentBatch(1000, 0, 3, false, "d"))).BaseOffset);

        // The first batch again (a retry after a lost response; not the latest one): no error, the original offset, nothing written.
        ProduceResponse.PartitionProduceResponse retry = await ProduceAsync(rm, (byte[])first.Clone());
        Assert.Equal((short)ErrorCode.None, retry.ErrorCode);
        Assert.Equal(0, retry.BaseOffset);
        Assert.Equal(["a", "b", "c", "d"], LogValues(rm));

        // A gap in the sequence: OUT_OF_ORDER_SEQUENCE_NUMBER, nothing written, other producers unaffected.
        ProduceResponse.PartitionProduceResponse gap = await ProduceAsync(rm, IdempotentBatch(1000, 0, 7, false, "lost"));
        Assert.Equal((short)ErrorCode.OutOfOrderSequenceNumber, gap.ErrorCode);
        Assert.Contains("1000", gap.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal((short)ErrorCode.None, (await ProduceAsync(rm, IdempotentBatch(2000, 0, 0, false, "other"))).ErrorCode);
        Assert.Equal((short)ErrorCode.None, (await ProduceAsync(rm, IdempotentBatch(1000, 0, 4, false, "e"))).ErrorCode);

        // A new epoch starts at sequence 0; after it, the old epoch is fenced.
        Assert.Equal((short)ErrorCode.OutOfOrderSequenceNumber, (await ProduceAsync(rm, IdempotentBatch(1000, 1, 5, false, "no"))).ErrorCode);
        Assert.Equal((short)ErrorCode.None, (await ProduceAsync(rm, IdempotentBatch(1000, 1, 0, false, "f"))).ErrorCode);
        Assert.Equal((short)ErrorCode.InvalidProducerEpoch, (await ProduceAsync(rm, IdempotentBatch(1000, 0, 5, false, "zombie"))).ErrorCode);

        // No transactions here: a transactional batch is INVALID_TXN_STATE.
        Assert.Equal((short)ErrorCode.InvalidTxnState, (await ProduceAsync(rm, IdempotentBatch(3000, 0, 0, true, "tx"))).ErrorCode);

        // Batches without a producer id are untouched by all of this.
        Assert.Equal((short)ErrorCode.None, (await ProduceAsync(rm, Batch(CompressionType.None, "plain"))).ErrorCode);
        Assert.Equal(["a", "b", "c", "d", "other", "e", "f", "plain"], LogValues(rm));

        // DescribeProducers shows each producer's epoch and last sequence; another partition is not hosted.
        DescribeProducersResponse described = rm.HandleDescribeProducers(new DescribeProducersRequest
        {
            Topics = [new DescribeProducersRequest.TopicRequest { Name = "orders", PartitionIndexes = [0, 5] }],
        });
        DescribeProducersResponse.PartitionResponse[] partitions = [.. described.Topics.Single().Partitions];
        Assert.Equal((short)ErrorCode.None, partitions[0].ErrorCode);
        Assert.Equal([(1000L, 1, 0), (2000L, 0, 0)], partitions[0].ActiveProducers.Select(p => (p.ProducerId, p.ProducerEpoch, p.LastSequence)));
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, partitions[1].ErrorCode);
    }

    [Fact]
    public async Task AFollowerThatBecomesLeaderRecognisesARetryOfWhatItReplicated()
    {
        await using var cluster = new ClusterHarness(null, 1, 2);
        ReplicaManager one = await cluster.StartBrokerAsync(1);
        ReplicaManager two = await cluster.StartBrokerAsync(2);
        cluster.CreateTopic("orders", 1, [1, 2], isr: [1, 2], leader: 1);

        Assert.Equal((short)ErrorCode.None, (await ProduceAsync(one, IdempotentBatch(5000, 0, 0, false, "a", "b"), acks: -1)).ErrorCode);
        byte[] second = IdempotentBatch(5000, 0, 2, false, "c");
        Assert.Equal(2, (await ProduceAsync(one, (byte[])second.Clone(), acks: -1)).BaseOffset);
        await WaitUntilAsync(() => two.GetPartition(Orders0)!.LogEndOffset == 3, "broker 2 replicated both batches");

        // Broker 1 fails before its answer reaches the producer; the producer retries on the new leader.
        cluster.Isolated[1] = true;
        cluster.ChangeLeader("orders", 0, 2, [2]);
        await WaitUntilAsync(() => two.GetPartition(Orders0)!.IsLeader, "broker 2 leads");
        ProduceResponse.PartitionProduceResponse retry = await ProduceAsync(two, (byte[])second.Clone());
        Assert.Equal((short)ErrorCode.None, retry.ErrorCode);
        Assert.Equal(2, retry.BaseOffset);
        Assert.Equal((short)ErrorCode.None, (await ProduceAsync(two, IdempotentBatch(5000, 0, 3, false, "d"))).ErrorCode);
        Assert.Equal(["a", "b", "c", "d"], LogValues(two));
    }
}
