using Aspire.Kafka.Client;
using Aspire.Kafka.Coordinator.Groups;
using Aspire.Kafka.Hosting;
using Aspire.Kafka.Metadata;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Topology;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Records;
using Aspire.Kafka.Tools.ConsumerGroups;

namespace Aspire.Kafka.Coordinator.Tests;

/// <summary>
/// A coordinator that lost its partition without hearing of it (a "zombie": the controller moved
/// the partition while this node could not reach it) cannot overwrite the new owner's records: the
/// brokers refuse its appends (it writes as the partition's idempotent producer at its assignment
/// epoch; the new owner's claim carries a higher one), and it answers NOT_COORDINATOR. Its own
/// cluster: the fenced coordinator stops serving that partition for good.
/// </summary>
public sealed class FencingProcessTests
{
    private const string OffsetsTopic = CoordinatorsImage.ConsumerOffsetsTopic;

    [Fact]
    public async Task A_coordinator_fenced_by_a_newer_claim_answers_not_coordinator_and_its_commit_is_not_written()
    {
        await using TestCluster cluster = await TestCluster.StartAsync(new ClusterSpec(KafkaTopology.Primary)
        {
            Controllers = 1,
            Brokers = 1,
            Coordinators = 1,
            ControllerConfig = new Dictionary<string, string> { ["offsets.topic.num.partitions"] = "3" },
            BrokerConfig = new Dictionary<string, string> { ["broker.heartbeat.interval.ms"] = "500" },
            CoordinatorConfig = new Dictionary<string, string> { ["broker.heartbeat.interval.ms"] = "500", ["offsets.topic.num.partitions"] = "3" },
        });
        string bootstrap = cluster.BootstrapServers("primary");
        await using var client = new KafkaClient(new KafkaClientOptions { BootstrapServers = bootstrap.Split(','), ClientId = "fencing-test" });
        (await client.CreateTopicsAsync([new NewTopic("fenced-topic", 1, 1)])).Single().ThrowIfError();

        const string group = "fence-group";
        int partition = CoordinatorsImage.PartitionFor(group, 3);
        KafkaNode coordinator = await new GroupAdmin(client).FindCoordinatorAsync(group, CancellationToken.None);
        await using KafkaConnection connection = await KafkaConnection.ConnectAsync(coordinator.Host, coordinator.Port);
        short first;
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        // Retriable until the coordinator has learned its assignment and loaded the partition, as a client retries.
        while ((first = await CommitAsync(connection, group, 5)) is (short)ErrorCode.CoordinatorLoadInProgress or (short)ErrorCode.NotCoordinator
            or (short)ErrorCode.CoordinatorNotAvailable && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100); // polling interval
        }

        Assert.Equal((short)ErrorCode.None, first);

        // The coordinator writes the partition as its reserved producer at its assignment epoch.
        (long producerId, _) = CoordinatorsImage.CoordinatorProducer(partition, 0);
        ProducerStateResult owner = Assert.Single(await client.DescribeProducersAsync(OffsetsTopic, partition), p => p.ProducerId == producerId);
        Assert.True(owner.LastSequence >= 1, $"the claim and the commit: last sequence {owner.LastSequence}");

        // A newer owner claims the partition (as a coordinator given it at the next epoch does).
        (long newerId, short newerEpoch) = CoordinatorsImage.CoordinatorProducer(partition, owner.ProducerEpoch + 1);
        Assert.Equal(producerId, newerId);
        using (var claim = new RecordBatchBuilder(CompressionType.None, 0, newerId, newerEpoch, 0))
        {
            GroupLogRecord record = GroupRecords.Claim();
            claim.Append(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), record.Key, record.Value);
            await client.ProduceAsync(OffsetsTopic, partition, claim.Build(), acks: -1);
        }

        // The old owner's next commit is refused by the broker: NOT_COORDINATOR, nothing written.
        Assert.Equal((short)ErrorCode.NotCoordinator, await CommitAsync(connection, group, 6));
        ProducerStateResult after = Assert.Single(await client.DescribeProducersAsync(OffsetsTopic, partition), p => p.ProducerId == producerId);
        Assert.Equal((newerEpoch, 0), (after.ProducerEpoch, after.LastSequence));
        var committed = new List<long>();
        long offset = 0;
        long end = (await client.ListOffsetsAsync(OffsetsTopic, partition, OffsetSpec.Latest)).Offset;
        while (offset < end)
        {
            FetchResult fetched = await client.FetchAsync(OffsetsTopic, partition, offset);
            foreach (Records.Record r in fetched.Records)
            {
                if (r.Key is { } key && GroupRecords.Decode(key, r.Value) is GroupRecords.OffsetRecord { Offset: { } o })
                {
                    committed.Add(o.Offset);
                }
            }

            offset = Math.Max(offset + 1, fetched.NextOffset);
        }

        Assert.Equal([5L], committed);
    }

    /// <summary>A standalone OffsetCommit (v2) of partition 0 of fenced-topic; the partition's error.</summary>
    internal static async Task<short> CommitAsync(KafkaConnection connection, string group, long offset)
    {
        OffsetCommitResponse response = await connection.SendAsync<OffsetCommitRequest, OffsetCommitResponse>(new OffsetCommitRequest
        {
            GroupId = group,
            GenerationIdOrMemberEpoch = -1,
            MemberId = "",
            Topics = [new() { Name = "fenced-topic", Partitions = [new() { PartitionIndex = 0, CommittedOffset = offset }] }],
        }, version: 2);
        return response.Topics[0].Partitions[0].ErrorCode;
    }
}
