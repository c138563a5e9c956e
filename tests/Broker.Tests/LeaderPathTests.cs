using System.Buffers;
using System.Runtime.InteropServices;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Records;
using Aspire.Kafka.Storage;
using static Aspire.Kafka.Broker.Tests.ClusterHarness;

namespace Aspire.Kafka.Broker.Tests;

public sealed class LeaderPathTests
{
    [Fact]
    public async Task ProducedRecordsAreFetchedBackInOrderWithOffsets()
    {
        await using var cluster = new ClusterHarness();
        ReplicaManager rm = await cluster.StartBrokerAsync(1);
        cluster.CreateTopic("orders", 1, [1]);

        ProduceResponse? first = await rm.HandleProduceAsync(Produce("orders", 0, Batch(CompressionType.None, "a", "b", "c")), 7, "PLAINTEXT", default);
        ProduceResponse? second = await rm.HandleProduceAsync(Produce("orders", 0, Batch(CompressionType.None, "d")), 7, "PLAINTEXT", default);

        Assert.Equal(0, first!.Responses[0].PartitionResponses[0].ErrorCode);
        Assert.Equal(0, first.Responses[0].PartitionResponses[0].BaseOffset);
        Assert.Equal(3, second!.Responses[0].PartitionResponses[0].BaseOffset);
        FetchResponse fetched = await rm.HandleFetchAsync(Fetch("orders", 0, 0), 11, "PLAINTEXT", default);
        FetchResponse.PartitionData data = fetched.Responses[0].Partitions[0];
        Assert.Equal(0, data.ErrorCode);
        Assert.Equal(4, data.HighWatermark);
        Assert.Equal(["a", "b", "c", "d"], Values(data.Records));
        FetchResponse fromTwo = await rm.HandleFetchAsync(Fetch("orders", 0, 3), 11, "PLAINTEXT", default);
        Assert.Equal(["d"], Values(fromTwo.Responses[0].Partitions[0].Records));

        // At the end of the log: an empty record set, never a null one (librdkafka refuses size -1).
        FetchResponse atEnd = await rm.HandleFetchAsync(Fetch("orders", 0, 4), 11, "PLAINTEXT", default, spliceRecords: true);
        Assert.Equal(0, Assert.NotNull(atEnd.Responses[0].Partitions[0].Records).Length);

        // As on the wire: the records stay in the segment file and the writer splices them in;
        // the bytes sent are exactly those of the same response with the records read into memory.
        FetchResponse spliced = await rm.HandleFetchAsync(Fetch("orders", 0, 0), 11, "PLAINTEXT", default, spliceRecords: true);
        Assert.True(MemoryMarshal.TryGetMemoryManager(Assert.NotNull(spliced.Responses[0].Partitions[0].Records), out SplicedBytes? _, out int _, out int _));
        using var splicedWriter = new KafkaWriter();
        spliced.Write(splicedWriter, 11);
        Assert.True(splicedWriter.HasSplices);
        var sent = new ArrayBufferWriter<byte>();
        splicedWriter.WriteTo(sent);
        using var copiedWriter = new KafkaWriter();
        fetched.Write(copiedWriter, 11);
        Assert.False(copiedWriter.HasSplices);
        Assert.Equal(copiedWriter.WrittenSpan.ToArray(), sent.WrittenSpan.ToArray());
        Assert.Equal(copiedWriter.Position, splicedWriter.Length);
        Assert.Equal(["a", "b", "c", "d"], Values(spliced.Responses[0].Partitions[0].Records));
    }

    [Fact]
    public async Task ProduceToUnknownTopicOrOtherLeaderIsRefusedWithTheLeaderHint()
    {
        await using var cluster = new ClusterHarness(null, 1, 2);
        ReplicaManager rm = await cluster.StartBrokerAsync(1);
        cluster.CreateTopic("elsewhere", 1, [2]);

        ProduceResponse? unknown = await rm.HandleProduceAsync(Produce("nope", 0, Batch(CompressionType.None, "x")), 10, "PLAINTEXT", default);
        ProduceResponse? notLeader = await rm.HandleProduceAsync(Produce("elsewhere", 0, Batch(CompressionType.None, "x")), 10, "PLAINTEXT", default);

        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, unknown!.Responses[0].PartitionResponses[0].ErrorCode);
        ProduceResponse.PartitionProduceResponse p = notLeader!.Responses[0].PartitionResponses[0];
        Assert.Equal((short)ErrorCode.NotLeaderOrFollower, p.ErrorCode);
        Assert.Equal(2, p.CurrentLeader.LeaderId);
        Assert.Equal(0, p.CurrentLeader.LeaderEpoch);
        Assert.Equal(9092, Assert.Single(notLeader.NodeEndpoints).Port);
    }

    [Fact]
    public async Task CorruptBatchFailsOnlyItsPartition()
    {
        await using var cluster = new ClusterHarness();
        ReplicaManager rm = await cluster.StartBrokerAsync(1);
        cluster.CreateTopic("orders", 2, [1]);
        byte[] corrupt = Batch(CompressionType.None, "bad");
        corrupt[^1] ^= 0xFF;
        var request = new ProduceRequest
        {
            Acks = 1,
            TimeoutMs = 1000,
            TopicData =
            [
                new ProduceRequest.TopicProduceData
                {
                    Name = "orders",
                    PartitionData =
                    [
                        new ProduceRequest.PartitionProduceData { Index = 0, Records = corrupt },
                        new ProduceRequest.PartitionProduceData { Index = 1, Records = Batch(CompressionType.None, "good") },
                    ],
                },
            ],
        };

        ProduceResponse? response = await rm.HandleProduceAsync(request, 8, "PLAINTEXT", default);

        Assert.Equal((short)ErrorCode.CorruptMessage, response!.Responses[0].PartitionResponses[0].ErrorCode);
        Assert.Contains("CRC", response.Responses[0].PartitionResponses[0].ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(0, response.Responses[0].PartitionResponses[1].ErrorCode);
        Assert.Equal(0, rm.GetPartition(new TopicPartition("orders", 0))!.LogEndOffset);
        Assert.Equal(1, rm.GetPartition(new TopicPartition("orders", 1))!.LogEndOffset);
    }

    [Fact]
    public async Task TopicMaxMessageBytesAppliesAtRuntime()
    {
        await using var cluster = new ClusterHarness();
        ReplicaManager rm = await cluster.StartBrokerAsync(1);
        cluster.CreateTopic("orders", 1, [1]);
        byte[] big = Batch(CompressionType.None, new string('x', 2000));

        ProduceResponse? before = await rm.HandleProduceAsync(Produce("orders", 0, big.ToArray()), 7, null, default);
        cluster.SetTopicConfig("orders", "max.message.bytes", "1000");
        ProduceResponse? after = await rm.HandleProduceAsync(Produce("orders", 0, big.ToArray()), 7, null, default);

        Assert.Equal(0, before!.Responses[0].PartitionResponses[0].ErrorCode);
        Assert.Equal((short)ErrorCode.MessageTooLarge, after!.Responses[0].PartitionResponses[0].ErrorCode);
        Assert.Equal(1, rm.GetPartition(new TopicPartition("orders", 0))!.LogEndOffset);
    }

    [Fact]
    public async Task AcksZeroHasNoResponseButAppends()
    {
        await using var cluster = new ClusterHarness();
        ReplicaManager rm = await cluster.StartBrokerAsync(1);
        cluster.CreateTopic("orders", 1, [1]);

        ProduceResponse? response = await rm.HandleProduceAsync(Produce("orders", 0, Batch(CompressionType.None, "a"), acks: 0), 7, null, default);

        Assert.Null(response);
        Assert.Equal(1, rm.GetPartition(new TopicPartition("orders", 0))!.LogEndOffset);
    }

    [Fact]
    public async Task InvalidAcksIsRefused()
    {
        await using var cluster = new ClusterHarness();
        ReplicaManager rm = await cluster.StartBrokerAsync(1);
        cluster.CreateTopic("orders", 1, [1]);

        ProduceResponse? response = await rm.HandleProduceAsync(Produce("orders", 0, Batch(CompressionType.None, "a"), acks: 2), 7, null, default);

        Assert.Equal((short)ErrorCode.InvalidRequiredAcks, response!.Responses[0].PartitionResponses[0].ErrorCode);
        Assert.Equal(0, rm.GetPartition(new TopicPartition("orders", 0))!.LogEndOffset);
    }

    [Fact]
    public async Task AcksAllBelowMinInsyncReplicasIsNotEnoughReplicas()
    {
        await using var cluster = new ClusterHarness(null, 1, 2);
        ReplicaManager rm = await cluster.StartBrokerAsync(1);
        cluster.CreateTopic("orders", 1, [1, 2], isr: [1], leader: 1, ("min.insync.replicas", "2"));

        ProduceResponse? all = await rm.HandleProduceAsync(Produce("orders", 0, Batch(CompressionType.None, "a"), acks: -1), 7, null, default);
        ProduceResponse? one = await rm.HandleProduceAsync(Produce("orders", 0, Batch(CompressionType.None, "b"), acks: 1), 7, null, default);

        Assert.Equal((short)ErrorCode.NotEnoughReplicas, all!.Responses[0].PartitionResponses[0].ErrorCode);
        Assert.Equal(0, one!.Responses[0].PartitionResponses[0].ErrorCode);
        Assert.Equal(1, rm.GetPartition(new TopicPartition("orders", 0))!.LogEndOffset);
    }

    [Fact]
    public async Task TopicCompressionTypeRecompressesBatches()
    {
        await using var cluster = new ClusterHarness();
        ReplicaManager rm = await cluster.StartBrokerAsync(1);
        cluster.CreateTopic("zipped", 1, [1], null, null, ("compression.type", "gzip"));

        ProduceResponse? response = await rm.HandleProduceAsync(Produce("zipped", 0, Batch(CompressionType.None, "a", "b")), 7, null, default);
        FetchResponse fetched = await rm.HandleFetchAsync(Fetch("zipped", 0, 0), 11, null, default);

        Assert.Equal(0, response!.Responses[0].PartitionResponses[0].ErrorCode);
        ReadOnlyMemory<byte> records = fetched.Responses[0].Partitions[0].Records!.Value;
        Assert.Equal(CompressionType.Gzip, RecordBatchHeader.Read(records.Span).CompressionType);
        Assert.Equal(["a", "b"], Values(records));
    }

    [Fact]
    public async Task LogAppendTimeTopicsStampTheBrokerTime()
    {
        await using var cluster = new ClusterHarness();
        ReplicaManager rm = await cluster.StartBrokerAsync(1);
        cluster.CreateTopic("stamped", 1, [1], null, null, ("message.timestamp.type", "LogAppendTime"));
        long before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        ProduceResponse? response = await rm.HandleProduceAsync(Produce("stamped", 0, Batch(CompressionType.None, "a")), 7, null, default);

        long stamped = response!.Responses[0].PartitionResponses[0].LogAppendTimeMs;
        Assert.InRange(stamped, before, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task FetchOutOfRangeIsOffsetOutOfRange()
    {
        await using var cluster = new ClusterHarness();
        ReplicaManager rm = await cluster.StartBrokerAsync(1);
        cluster.CreateTopic("orders", 1, [1]);
        await rm.HandleProduceAsync(Produce("orders", 0, Batch(CompressionType.None, "a")), 7, null, default);

        FetchResponse response = await rm.HandleFetchAsync(Fetch("orders", 0, 5), 11, null, default);

        Assert.Equal((short)ErrorCode.OffsetOutOfRange, response.Responses[0].Partitions[0].ErrorCode);
        Assert.Equal(1, response.Responses[0].Partitions[0].HighWatermark);
    }

    [Fact]
    public async Task FetchReturnsAWholeFirstBatchEvenAbovePartitionMaxBytes()
    {
        await using var cluster = new ClusterHarness();
        ReplicaManager rm = await cluster.StartBrokerAsync(1);
        cluster.CreateTopic("orders", 1, [1]);
        await rm.HandleProduceAsync(Produce("orders", 0, Batch(CompressionType.None, new string('a', 500))), 7, null, default);
        await rm.HandleProduceAsync(Produce("orders", 0, Batch(CompressionType.None, "b")), 7, null, default);

        FetchResponse response = await rm.HandleFetchAsync(Fetch("orders", 0, 0, partitionMaxBytes: 100), 11, null, default);

        Assert.Equal([new string('a', 500)], Values(response.Responses[0].Partitions[0].Records));
    }

    [Fact]
    public async Task LongPollCompletesWhenDataArrives()
    {
        await using var cluster = new ClusterHarness();
        ReplicaManager rm = await cluster.StartBrokerAsync(1);
        cluster.CreateTopic("orders", 1, [1]);

        Task<FetchResponse> waiting = rm.HandleFetchAsync(Fetch("orders", 0, 0, maxWaitMs: 30_000), 11, null, default).AsTask();
        Assert.False(waiting.IsCompleted);
        await rm.HandleProduceAsync(Produce("orders", 0, Batch(CompressionType.None, "late")), 7, null, default);
        FetchResponse response = await waiting.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["late"], Values(response.Responses[0].Partitions[0].Records));
    }

    [Fact]
    public async Task LongPollWithoutDataAnswersEmptyAfterMaxWait()
    {
        await using var cluster = new ClusterHarness();
        ReplicaManager rm = await cluster.StartBrokerAsync(1);
        cluster.CreateTopic("orders", 1, [1]);

        FetchResponse response = await rm.HandleFetchAsync(Fetch("orders", 0, 0, maxWaitMs: 100), 11, null, default).AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(0, response.Responses[0].Partitions[0].ErrorCode);
        Assert.Empty(Values(response.Responses[0].Partitions[0].Records));
        Assert.Equal(0, rm.FetchPurgatory.Watched);
    }

    [Fact]
    public async Task FetchSessionsAnswerOnlyChangedPartitionsAndCheckEpochs()
    {
        await using var cluster = new ClusterHarness();
        ReplicaManager rm = await cluster.StartBrokerAsync(1);
        cluster.CreateTopic("orders", 2, [1]);
        await rm.HandleProduceAsync(Produce("orders", 0, Batch(CompressionType.None, "p0")), 7, null, default);
        FetchRequest full = Fetch("orders", 0, 0, sessionId: 0, sessionEpoch: 0);
        full.Topics[0].Partitions.Add(new FetchRequest.FetchPartition { Partition = 1, FetchOffset = 0, PartitionMaxBytes = 1 << 20 });

        FetchResponse first = await rm.HandleFetchAsync(full, 11, null, default);
        Assert.NotEqual(0, first.SessionId);
        Assert.Equal(2, first.Responses[0].Partitions.Count);

        await rm.HandleProduceAsync(Produce("orders", 1, Batch(CompressionType.None, "p1")), 7, null, default);
        var incremental = new FetchRequest { ReplicaId = -1, MaxBytes = 1 << 20, SessionId = first.SessionId, SessionEpoch = 1 };
        incremental.Topics.Add(new FetchRequest.FetchTopic { Topic = "orders", Partitions = [new FetchRequest.FetchPartition { Partition = 0, FetchOffset = 1, PartitionMaxBytes = 1 << 20 }] });
        FetchResponse second = await rm.HandleFetchAsync(incremental, 11, null, default);

        Assert.Equal(first.SessionId, second.SessionId);
        FetchResponse.PartitionData only = Assert.Single(second.Responses[0].Partitions);
        Assert.Equal(1, only.PartitionIndex);
        Assert.Equal(["p1"], Values(only.Records));

        var stale = new FetchRequest { ReplicaId = -1, MaxBytes = 1 << 20, SessionId = first.SessionId, SessionEpoch = 1 };
        Assert.Equal((short)ErrorCode.InvalidFetchSessionEpoch, (await rm.HandleFetchAsync(stale, 11, null, default)).ErrorCode);
        var unknown = new FetchRequest { ReplicaId = -1, MaxBytes = 1 << 20, SessionId = first.SessionId + 1, SessionEpoch = 1 };
        Assert.Equal((short)ErrorCode.FetchSessionIdNotFound, (await rm.HandleFetchAsync(unknown, 11, null, default)).ErrorCode);
    }

    [Fact]
    public async Task ListOffsetsAndDeleteRecords()
    {
        await using var cluster = new ClusterHarness();
        ReplicaManager rm = await cluster.StartBrokerAsync(1);
        cluster.CreateTopic("orders", 1, [1]);
        await rm.HandleProduceAsync(Produce("orders", 0, Batch(CompressionType.None, "a", "b", "c", "d")), 7, null, default);

        long Offset(long timestamp)
        {
            var request = new ListOffsetsRequest
            {
                ReplicaId = -1,
                Topics = [new ListOffsetsRequest.ListOffsetsTopic { Name = "orders", Partitions = [new ListOffsetsRequest.ListOffsetsPartition { PartitionIndex = 0, Timestamp = timestamp }] }],
            };
            ListOffsetsResponse.ListOffsetsPartitionResponse p = rm.HandleListOffsets(request, 7).Topics[0].Partitions[0];
            Assert.Equal(0, p.ErrorCode);
            return p.Offset;
        }

        Assert.Equal(0, Offset(-2));
        Assert.Equal(4, Offset(-1));
        Assert.Equal(3, Offset(-3));
        Assert.Equal(2, Offset(1_700_000_000_002));
        Assert.Equal(-1, Offset(1_800_000_000_000));

        DeleteRecordsResponse deleted = rm.HandleDeleteRecords(new DeleteRecordsRequest
        {
            Topics = [new DeleteRecordsRequest.DeleteRecordsTopic { Name = "orders", Partitions = [new DeleteRecordsRequest.DeleteRecordsPartition { PartitionIndex = 0, Offset = 2 }] }],
        });
        Assert.Equal(2, deleted.Topics[0].Partitions[0].LowWatermark);
        Assert.Equal(2, Offset(-2));
        DeleteRecordsResponse tooFar = rm.HandleDeleteRecords(new DeleteRecordsRequest
        {
            Topics = [new DeleteRecordsRequest.DeleteRecordsTopic { Name = "orders", Partitions = [new DeleteRecordsRequest.DeleteRecordsPartition { PartitionIndex = 0, Offset = 10 }] }],
        });
        Assert.Equal((short)ErrorCode.OffsetOutOfRange, tooFar.Topics[0].Partitions[0].ErrorCode);
    }

    [Fact]
    public async Task DescribeLogDirsListsHostedPartitions()
    {
        await using var cluster = new ClusterHarness();
        ReplicaManager rm = await cluster.StartBrokerAsync(1);
        cluster.CreateTopic("orders", 2, [1]);
        await rm.HandleProduceAsync(Produce("orders", 1, Batch(CompressionType.None, "a")), 7, null, default);

        DescribeLogDirsResponse response = rm.HandleDescribeLogDirs(new DescribeLogDirsRequest { Topics = null }, 4);

        DescribeLogDirsResponse.DescribeLogDirsResult dir = Assert.Single(response.Results);
        DescribeLogDirsResponse.DescribeLogDirsTopic topic = Assert.Single(dir.Topics);
        Assert.Equal("orders", topic.Name);
        Assert.Equal([0, 1], topic.Partitions.Select(p => p.PartitionIndex));
        Assert.True(topic.Partitions[1].PartitionSize > 0);
        Assert.True(dir.TotalBytes > 0);
    }

    [Fact]
    public async Task DeletedTopicRemovesTheLog()
    {
        await using var cluster = new ClusterHarness();
        ReplicaManager rm = await cluster.StartBrokerAsync(1);
        cluster.CreateTopic("doomed", 1, [1]);
        string dir = rm.GetPartition(new TopicPartition("doomed", 0))!.Log.Dir;
        Assert.True(Directory.Exists(dir));

        cluster.Publish(Aspire.Kafka.Metadata.RecordVersions.Of(new Aspire.Kafka.Protocol.MetadataRecords.RemoveTopicRecord { TopicId = TopicId("doomed") }));

        Assert.Null(rm.GetPartition(new TopicPartition("doomed", 0)));
        await WaitUntilAsync(() => !Directory.Exists(dir), "the log directory is deleted");
    }

    [Fact]
    public async Task TruncatedBatchIsCorruptMessageAndWritesNothing()
    {
        await using var cluster = new ClusterHarness();
        ReplicaManager rm = await cluster.StartBrokerAsync(1);
        cluster.CreateTopic("orders", 1, [1]);
        byte[] whole = Batch(CompressionType.None, "a", "b");

        ProduceResponse? response = await rm.HandleProduceAsync(Produce("orders", 0, whole[..^5]), 8, null, default);

        Assert.Equal((short)ErrorCode.CorruptMessage, response!.Responses[0].PartitionResponses[0].ErrorCode);
        Assert.Contains("truncated", response.Responses[0].PartitionResponses[0].ErrorMessage, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, rm.GetPartition(new TopicPartition("orders", 0))!.LogEndOffset);
    }

    [Fact]
    public async Task FetchAtVersionThirteenUsesTopicIds()
    {
        await using var cluster = new ClusterHarness();
        ReplicaManager rm = await cluster.StartBrokerAsync(1);
        cluster.CreateTopic("orders", 1, [1]);
        await rm.HandleProduceAsync(Produce("orders", 0, Batch(CompressionType.None, "a")), 7, null, default);
        FetchRequest request = Fetch("orders", 0, 0);
        request.Topics[0].Topic = "";
        request.Topics[0].TopicId = TopicId("orders");
        request.Topics.Add(new FetchRequest.FetchTopic { TopicId = new KafkaUuid(7, 7), Partitions = [new FetchRequest.FetchPartition { Partition = 0 }] });

        FetchResponse response = await rm.HandleFetchAsync(request, 13, null, default);

        Assert.Equal(TopicId("orders"), response.Responses[0].TopicId);
        Assert.Equal(["a"], Values(response.Responses[0].Partitions[0].Records));
        Assert.Equal((short)ErrorCode.UnknownTopicId, response.Responses[1].Partitions[0].ErrorCode);
    }

    [Fact]
    public async Task DynamicBrokerConfigsApplyUnderTopicConfigs()
    {
        await using var cluster = new ClusterHarness();
        ReplicaManager rm = await cluster.StartBrokerAsync(1);
        cluster.CreateTopic("plain", 1, [1]);
        cluster.CreateTopic("own", 1, [1], null, null, ("retention.ms", "1000"));

        cluster.Publish(Aspire.Kafka.Metadata.RecordVersions.Of(new Aspire.Kafka.Protocol.MetadataRecords.ConfigRecord
        {
            ResourceType = 4, ResourceName = "", Name = "log.retention.ms", Value = "60000",
        }));

        Assert.Equal(60_000, rm.GetPartition(new TopicPartition("plain", 0))!.Log.Config.RetentionMs);
        Assert.Equal(1000, rm.GetPartition(new TopicPartition("own", 0))!.Log.Config.RetentionMs);
    }
}
