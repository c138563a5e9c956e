using System.Buffers.Binary;
using System.Net.Sockets;
using Aspire.Kafka.Compatibility.Tests.Capture;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Framing;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Compatibility.Tests;

/// <summary>The capture broker itself, driven over a raw socket with frames we build (no real client needed).</summary>
public sealed class CaptureBrokerTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [Fact]
    public void Advertised_ranges_are_generated_versions_and_keep_old_clients_working()
    {
        foreach ((short apiKey, VersionRange versions) in CaptureBroker.AdvertisedVersions)
        {
            ApiMessageType type = ApiMessageTypes.Find(apiKey)!;
            Assert.True(type.ValidVersions.Contains(versions.Lowest) && type.ValidVersions.Contains(versions.Highest),
                $"{type.Name}: advertised {versions}, generated {type.ValidVersions}");
        }

        VersionRange Advertised(short key) => CaptureBroker.AdvertisedVersions.Single(a => a.ApiKey == key).Versions;
        Assert.Equal(0, Advertised(ApiKeys.Produce).Lowest); // librdkafka turns compression off otherwise
        Assert.True(Advertised(ApiKeys.Produce).Highest >= 8); // kafka-python's probe: Produce v8 => 2.4+
        Assert.Equal(0, Advertised(ApiKeys.Metadata).Lowest); // kafka-python's probe sends Metadata v0
        Assert.Contains(CaptureBroker.AdvertisedVersions, a => a.ApiKey == ApiKeys.DescribeClientQuotas); // => 2.6+
        Assert.Equal(new VersionRange(0, 3), Advertised(ApiKeys.ApiVersions));
        Assert.All(CaptureBroker.AnsweredApis, key => Assert.Contains(CaptureBroker.AdvertisedVersions, a => a.ApiKey == key));
    }

    [Fact]
    public async Task Pipelined_ApiVersions_v0_and_Metadata_v0_are_answered_in_order()
    {
        await using var broker = new CaptureBroker(new CaptureBrokerOptions { Topics = ["t"], PartitionsPerTopic = 2 });
        using var client = await ConnectAsync(broker);

        // Both requests in one write, before reading anything (as kafka-python's version probe).
        byte[] both = [.. Request(new ApiVersionsRequest(), 0, correlationId: 7), .. Request(new MetadataRequest { Topics = [] }, 0, correlationId: 8)];
        await client.GetStream().WriteAsync(both);

        (int correlation1, byte[] body1) = await ReadResponseAsync(client, headerVersion: 0);
        Assert.Equal(7, correlation1);
        var versions = Read(body1, static (ref KafkaReader r) => ApiVersionsResponse.Read(ref r, 0));
        Assert.Equal(0, versions.ErrorCode);
        Assert.Contains(versions.ApiKeys, k => k.ApiKey == ApiKeys.Produce && k.MinVersion == 0 && k.MaxVersion == 9);

        (int correlation2, byte[] body2) = await ReadResponseAsync(client, headerVersion: 0);
        Assert.Equal(8, correlation2);
        var metadata = Read(body2, static (ref KafkaReader r) => MetadataResponse.Read(ref r, 0));
        var brokerEntry = Assert.Single(metadata.Brokers);
        Assert.Equal((broker.NodeId, "127.0.0.1", broker.Port), (brokerEntry.NodeId, brokerEntry.Host, brokerEntry.Port));
        var topic = Assert.Single(metadata.Topics); // v0: an empty list means every topic
        Assert.Equal("t", topic.Name);
        Assert.Equal([0, 1], topic.Partitions.Select(p => p.PartitionIndex));
        Assert.All(topic.Partitions, p => Assert.Equal(broker.NodeId, p.LeaderId));

        Assert.Equal([7, 8], broker.Frames.Select(f => f.CorrelationId));
        Assert.Empty(broker.Problems);
    }

    [Fact]
    public async Task ApiVersions_of_an_unsupported_version_gets_UNSUPPORTED_VERSION_and_our_range_in_a_v0_response()
    {
        await using var broker = new CaptureBroker();
        using var client = await ConnectAsync(broker);

        await client.GetStream().WriteAsync(Request(new ApiVersionsRequest { ClientSoftwareName = "future", ClientSoftwareVersion = "9" }, 4, correlationId: 42));

        (int correlation, byte[] body) = await ReadResponseAsync(client, headerVersion: 0);
        Assert.Equal(42, correlation);
        var response = Read(body, static (ref KafkaReader r) => ApiVersionsResponse.Read(ref r, 0));
        Assert.Equal(CaptureBroker.UnsupportedVersion, response.ErrorCode);
        var range = Assert.Single(response.ApiKeys);
        Assert.Equal((ApiKeys.ApiVersions, (short)0, (short)3), (range.ApiKey, range.MinVersion, range.MaxVersion));
    }

    [Fact]
    public async Task A_request_it_does_not_answer_is_recorded_and_the_connection_closed()
    {
        await using var broker = new CaptureBroker();
        using var client = await ConnectAsync(broker);

        await client.GetStream().WriteAsync(Request(new FindCoordinatorRequest { Key = "group" }, 1, correlationId: 3));

        using var deadline = new CancellationTokenSource(Deadline);
        int read = await client.GetStream().ReadAsync(new byte[16], deadline.Token);
        Assert.Equal(0, read); // closed without an answer
        CapturedFrame frame = Assert.Single(broker.Frames);
        Assert.Equal((ApiKeys.FindCoordinator, (short)1, 3), (frame.ApiKey, frame.ApiVersion, frame.CorrelationId));
        Assert.Contains(broker.Problems, p => p.Contains("FindCoordinator", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Produce_is_acknowledged_with_base_offsets_per_partition_and_a_corrupt_batch_is_refused()
    {
        await using var broker = new CaptureBroker(new CaptureBrokerOptions { Topics = ["t"] });
        using var client = await ConnectAsync(broker);
        byte[] batch = Batch(3);
        byte[] corrupt = (byte[])batch.Clone();
        corrupt[^1] ^= 0xFF;

        for (int round = 0; round < 2; round++)
        {
            var produce = new ProduceRequest
            {
                Acks = -1,
                TimeoutMs = 1000,
                TopicData = [new ProduceRequest.TopicProduceData
                {
                    Name = "t",
                    PartitionData = [new() { Index = 0, Records = batch }, new() { Index = 1, Records = corrupt }],
                }],
            };
            await client.GetStream().WriteAsync(Request(produce, 7, correlationId: round));
            (int correlation, byte[] body) = await ReadResponseAsync(client, headerVersion: 0);
            Assert.Equal(round, correlation);
            var response = Read(body, static (ref KafkaReader r) => ProduceResponse.Read(ref r, 7));
            var partitions = Assert.Single(response.Responses).PartitionResponses;
            Assert.Equal((0, (short)0, round * 3L), (partitions[0].Index, partitions[0].ErrorCode, partitions[0].BaseOffset));
            Assert.Equal((1, (short)2), (partitions[1].Index, partitions[1].ErrorCode)); // CORRUPT_MESSAGE
        }

        Assert.Equal(6, broker.NextOffset("t", 0));
        Assert.Contains(broker.Problems, p => p.Contains("CRC-32C mismatch", StringComparison.Ordinal));
    }

    private static byte[] Batch(int records)
    {
        using var builder = new Records.RecordBatchBuilder(Records.CompressionType.None);
        for (int i = 0; i < records; i++)
        {
            builder.Append(1_700_000_000_000 + i, new byte[] { (byte)i }, new byte[] { 1, 2, 3 });
        }

        return builder.Build();
    }

    private static async Task<TcpClient> ConnectAsync(CaptureBroker broker)
    {
        var client = new TcpClient { NoDelay = true };
        using var deadline = new CancellationTokenSource(Deadline);
        await client.ConnectAsync(broker.Host, broker.Port, deadline.Token);
        return client;
    }

    private static byte[] Request(IApiMessage body, short version, int correlationId)
    {
        ApiMessageType type = ApiMessageTypes.Find(body.ApiKey)!;
        using var writer = new KafkaWriter();
        int size = KafkaFrame.BeginFrame(writer);
        new RequestHeader { RequestApiKey = body.ApiKey, RequestApiVersion = version, CorrelationId = correlationId, ClientId = "test" }
            .Write(writer, type.RequestHeaderVersion(version));
        body.Write(writer, version);
        KafkaFrame.EndFrame(writer, size);
        return writer.ToArray();
    }

    private delegate T BodyReader<T>(ref KafkaReader reader);

    private static T Read<T>(byte[] body, BodyReader<T> read)
    {
        var reader = new KafkaReader(body);
        T result = read(ref reader);
        Assert.True(reader.End, $"{reader.Remaining} bytes left after the {typeof(T).Name}");
        return result;
    }

    /// <summary>Reads one response frame; returns its correlation id and the body bytes after the header.</summary>
    private static async Task<(int CorrelationId, byte[] Body)> ReadResponseAsync(TcpClient client, short headerVersion)
    {
        using var deadline = new CancellationTokenSource(Deadline);
        NetworkStream stream = client.GetStream();
        byte[] prefix = new byte[4];
        await stream.ReadExactlyAsync(prefix, deadline.Token);
        byte[] frame = new byte[BinaryPrimitives.ReadInt32BigEndian(prefix)];
        await stream.ReadExactlyAsync(frame, deadline.Token);
        var reader = new KafkaReader(frame);
        ResponseHeader header = ResponseHeader.Read(ref reader, headerVersion);
        return (header.CorrelationId, frame[reader.Position..]);
    }
}
