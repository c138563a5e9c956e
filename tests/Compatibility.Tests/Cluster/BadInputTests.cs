using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using Aspire.Kafka.Client;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Records;

namespace Aspire.Kafka.Compatibility.Tests.Cluster;

/// <summary>
/// Bad input to a broker: a garbage frame, a frame claiming 2 GiB and an unknown API key close
/// only that client's connection; a truncated batch gets CORRUPT_MESSAGE. Other clients keep
/// being served and nothing is written.
/// </summary>
[Collection(LiveClusterCollection.Name)]
public sealed class BadInputTests(LiveClusterFixture fixture)
{
    [Fact]
    public async Task Bad_frames_close_only_their_connection_and_a_truncated_batch_is_refused_without_writing()
    {
        const string topic = "bad-input";
        await using var client = new KafkaClient(new KafkaClientOptions { BootstrapServers = fixture.Cluster.BootstrapList });
        (await client.CreateTopicsAsync([new NewTopic(topic, 1, 3)])).Single().ThrowIfError();
        KafkaNode leader = await LeaderAsync(client, topic);

        // A bystander connection that must keep working throughout.
        await using KafkaConnection bystander = await KafkaConnection.ConnectAsync(leader.Host, leader.Port);

        byte[] garbage = new byte[4 + 10];
        BinaryPrimitives.WriteInt32BigEndian(garbage, 10);
        new Random(7).NextBytes(garbage.AsSpan(4));
        await AssertClosedAsync(leader, garbage);

        byte[] huge = new byte[4 + 16];
        BinaryPrimitives.WriteInt32BigEndian(huge, int.MaxValue - 8);
        await AssertClosedAsync(leader, huge);

        byte[] unknownApi = new byte[4 + 10];
        BinaryPrimitives.WriteInt32BigEndian(unknownApi, 10);
        BinaryPrimitives.WriteInt16BigEndian(unknownApi.AsSpan(4), 9999);  // api key
        BinaryPrimitives.WriteInt16BigEndian(unknownApi.AsSpan(6), 0);     // version
        BinaryPrimitives.WriteInt32BigEndian(unknownApi.AsSpan(8), 1);     // correlation id
        BinaryPrimitives.WriteInt16BigEndian(unknownApi.AsSpan(12), -1);   // null client id
        await AssertClosedAsync(leader, unknownApi);

        // A batch cut in the middle: CORRUPT_MESSAGE, nothing appended.
        var writer = new ArrayBufferWriter<byte>();
        using (var builder = new RecordBatchBuilder(CompressionType.None))
        {
            for (int i = 0; i < 10; i++)
            {
                builder.Append(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), "k"u8.ToArray(), new byte[100]);
            }

            builder.WriteTo(writer);
        }

        ReadOnlyMemory<byte> truncated = writer.WrittenMemory[..(writer.WrittenCount / 2)];
        ProduceResponse response = await bystander.SendAsync<ProduceRequest, ProduceResponse>(new ProduceRequest
        {
            Acks = -1,
            TimeoutMs = 10_000,
            TopicData = [new ProduceRequest.TopicProduceData { Name = topic, PartitionData = [new ProduceRequest.PartitionProduceData { Index = 0, Records = truncated }] }],
        });
        Assert.Equal((short)ErrorCode.CorruptMessage, response.Responses.Single().PartitionResponses.Single().ErrorCode);

        // The bystander and new clients are still served; the log is empty.
        MetadataResponse metadata = await bystander.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [new MetadataRequest.MetadataRequestTopic { Name = topic }] });
        Assert.Equal(0, metadata.Topics.Single().ErrorCode);
        Assert.Equal(0, (await client.ListOffsetsAsync(topic, 0, OffsetSpec.Latest)).Offset);
        ProduceResult ok = await client.ProduceAsync(topic, 0, [new ProducerRecord("k"u8.ToArray(), "v"u8.ToArray())], acks: -1);
        Assert.Equal(0, ok.BaseOffset);
    }

    private static async Task<KafkaNode> LeaderAsync(KafkaClient client, string topic)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            ClusterMetadata metadata = await client.RefreshMetadataAsync([topic]);
            if (metadata.LeaderFor(topic, 0) is { } leader)
            {
                return leader;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{topic} has no leader");
            await Task.Delay(100);
        }
    }

    /// <summary>Sends raw bytes on a fresh connection and expects the broker to close it (EOF) without answering.</summary>
    private static async Task AssertClosedAsync(KafkaNode node, byte[] bytes)
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync(node.Host, node.Port);
        NetworkStream stream = socket.GetStream();
        await stream.WriteAsync(bytes);
        var buffer = new byte[64];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        int read;
        try
        {
            read = await stream.ReadAsync(buffer, timeout.Token);
        }
        catch (IOException)
        {
            read = 0; // reset by the broker: closed as well
        }

        Assert.Equal(0, read);
    }
}
