using System.Buffers.Binary;
using System.Collections.Concurrent;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Records;

namespace Aspire.Kafka.Client.Tests;

public sealed class KafkaConnectionTests
{
    private static MetadataRequest MetadataFor(string topic) =>
        new() { Topics = [new() { Name = topic }], AllowAutoTopicCreation = false };

    private static MetadataResponse MetadataAnswer(TestRequest request) =>
        new() { Topics = request.Read<MetadataRequest>().Topics!.Select(t => new MetadataResponse.MetadataResponseTopic { Name = t.Name }).ToList() };

    private static Task<KafkaConnection> Connect(TestKafkaServer server, KafkaClientOptions? options = null, TimeProvider? time = null) =>
        KafkaConnection.ConnectAsync("127.0.0.1", server.Port, options ?? new KafkaClientOptions(), time);

    [Fact]
    public async Task Hundred_pipelined_requests_are_all_in_flight_and_answered_in_order()
    {
        var held = new ConcurrentQueue<TestRequest>();
        await using var server = new TestKafkaServer(async request =>
        {
            if (request.ApiKey != ApiKeys.Metadata)
            {
                return false;
            }

            held.Enqueue(request);
            if (held.Count == 100)
            {
                // All 100 arrived before any answer: they were pipelined.
                foreach (TestRequest r in held)
                {
                    await r.RespondAsync(MetadataAnswer(r));
                }
            }

            return true;
        });
        await using KafkaConnection connection = await Connect(server, new KafkaClientOptions { MaxInFlightRequestsPerConnection = 100 });

        Task<MetadataResponse>[] sends = Enumerable.Range(0, 100)
            .Select(i => connection.SendAsync<MetadataRequest, MetadataResponse>(MetadataFor($"topic-{i}")))
            .ToArray();
        MetadataResponse[] responses = await Task.WhenAll(sends).WaitAsync(TimeSpan.FromSeconds(30));

        for (int i = 0; i < 100; i++)
        {
            Assert.Equal($"topic-{i}", Assert.Single(responses[i].Topics).Name);
        }

        int[] ids = server.ReceivedOf(ApiKeys.Metadata).Select(r => r.CorrelationId).ToArray();
        Assert.Equal(100, ids.Length);
        Assert.Equal(ids.Order(), ids);
        Assert.Equal(100, ids.Distinct().Count());
        Assert.Equal(0, connection.InFlightCount);
    }

    [Fact]
    public async Task Max_in_flight_limits_requests_written_before_an_answer()
    {
        int answered = 0;
        int received = 0;
        int maxOutstanding = 0;
        var held = new ConcurrentQueue<TestRequest>();
        await using var server = new TestKafkaServer(request =>
        {
            if (request.ApiKey != ApiKeys.Metadata)
            {
                return Task.FromResult(false);
            }

            held.Enqueue(request);
            int outstanding = Interlocked.Increment(ref received) - Volatile.Read(ref answered);
            InterlockedMax(ref maxOutstanding, outstanding);
            return Task.FromResult(true);
        });
        await using KafkaConnection connection = await Connect(server, new KafkaClientOptions { MaxInFlightRequestsPerConnection = 3 });

        Task<MetadataResponse>[] sends = Enumerable.Range(0, 9).Select(i => connection.SendAsync<MetadataRequest, MetadataResponse>(MetadataFor($"t{i}"))).ToArray();
        for (int i = 0; i < 9; i++)
        {
            await Poll.UntilAsync(() => !held.IsEmpty, $"request {i} reaches the server");
            Assert.True(held.TryDequeue(out TestRequest? r));
            Interlocked.Increment(ref answered);
            await r!.RespondAsync(MetadataAnswer(r));
        }

        await Task.WhenAll(sends).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.InRange(maxOutstanding, 1, 3);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    [Fact]
    public async Task Many_concurrent_senders_each_get_their_own_response()
    {
        await using var server = new TestKafkaServer(async request =>
        {
            if (request.ApiKey != ApiKeys.Metadata)
            {
                return false;
            }

            await request.RespondAsync(MetadataAnswer(request));
            return true;
        });
        await using KafkaConnection connection = await Connect(server, new KafkaClientOptions { MaxInFlightRequestsPerConnection = 5 });

        await Task.WhenAll(Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            for (int i = 0; i < 250; i++)
            {
                string topic = $"w{worker}-{i}";
                MetadataResponse response = await connection.SendAsync<MetadataRequest, MetadataResponse>(MetadataFor(topic));
                Assert.Equal(topic, Assert.Single(response.Topics).Name);
            }
        }))).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2000, server.ReceivedOf(ApiKeys.Metadata).Count());
        Assert.True(connection.IsConnected);
    }

    [Fact]
    public async Task A_response_size_over_the_limit_is_a_protocol_violation()
    {
        await using var server = new TestKafkaServer(async request =>
        {
            if (request.ApiKey != ApiKeys.Metadata)
            {
                return false;
            }

            await request.Connection.WriteRawAsync([0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1]);
            return true;
        });
        await using KafkaConnection connection = await Connect(server, new KafkaClientOptions { MaxResponseSize = 1024 * 1024 });
        var e = await Poll.FailureOf<KafkaProtocolViolationException>(connection.SendAsync<MetadataRequest, MetadataResponse>(MetadataFor("x")));
        Assert.Contains("exceeds the maximum", e.Message);
        Assert.False(connection.IsConnected);
    }

    [Fact]
    public async Task A_mismatched_correlation_id_fails_every_request_in_flight_and_closes_the_connection()
    {
        var held = new ConcurrentQueue<TestRequest>();
        await using var server = new TestKafkaServer(request =>
        {
            if (request.ApiKey != ApiKeys.Metadata)
            {
                return Task.FromResult(false);
            }

            held.Enqueue(request);
            return Task.FromResult(true);
        });
        await using KafkaConnection connection = await Connect(server);
        Task<MetadataResponse>[] sends = Enumerable.Range(0, 3).Select(i => connection.SendAsync<MetadataRequest, MetadataResponse>(MetadataFor($"t{i}"))).ToArray();
        await Poll.UntilAsync(() => held.Count == 3, "three requests in flight");

        TestRequest first = held.First();
        await first.RespondAsync(MetadataAnswer(first), correlationId: first.CorrelationId + 7);

        foreach (Task<MetadataResponse> send in sends)
        {
            var e = await Poll.FailureOf<CorrelationIdMismatchException>(send);
            Assert.Equal(first.CorrelationId, e.Expected);
            Assert.Equal(first.CorrelationId + 7, e.Received);
            Assert.False(e.IsRetriable);
        }

        Assert.False(connection.IsConnected);
        await Assert.ThrowsAsync<KafkaDisconnectedException>(() => connection.SendAsync<MetadataRequest, MetadataResponse>(MetadataFor("after")));
    }

    [Fact]
    public async Task A_request_timeout_fails_that_request_with_a_timeout_and_closes_the_connection()
    {
        var time = new ManualTimeProvider();
        await using var server = new TestKafkaServer(request => Task.FromResult(request.ApiKey == ApiKeys.Metadata)); // never answers Metadata
        await using KafkaConnection connection = await Connect(server, new KafkaClientOptions { RequestTimeout = TimeSpan.FromSeconds(30) }, time);

        Task<MetadataResponse> first = connection.SendAsync<MetadataRequest, MetadataResponse>(MetadataFor("first"));
        await Poll.UntilAsync(() => server.ReceivedOf(ApiKeys.Metadata).Count() == 1, "first request written");
        time.Advance(TimeSpan.FromSeconds(10));
        Task<MetadataResponse> second = connection.SendAsync<MetadataRequest, MetadataResponse>(MetadataFor("second"));
        await Poll.UntilAsync(() => server.ReceivedOf(ApiKeys.Metadata).Count() == 2, "second request written");

        time.Advance(TimeSpan.FromSeconds(19.999));
        Assert.False(first.IsCompleted);
        Assert.True(connection.IsConnected);

        time.Advance(TimeSpan.FromMilliseconds(1));
        var timeout = await Poll.FailureOf<KafkaRequestTimeoutException>(first);
        Assert.Equal(TimeSpan.FromSeconds(30), timeout.Timeout);
        Assert.True(timeout.IsRetriable);
        // The connection is unusable afterwards: the other request fails as disconnected, not timed out.
        await Poll.FailureOf<KafkaDisconnectedException>(second);
        Assert.False(connection.IsConnected);
        Assert.IsType<KafkaRequestTimeoutException>(connection.CloseReason);
        await Assert.ThrowsAsync<KafkaDisconnectedException>(() => connection.SendAsync<MetadataRequest, MetadataResponse>(MetadataFor("after")));
    }

    [Fact]
    public async Task The_node_closing_mid_response_fails_requests_in_flight_as_disconnected()
    {
        var held = new ConcurrentQueue<TestRequest>();
        await using var server = new TestKafkaServer(async request =>
        {
            if (request.ApiKey != ApiKeys.Metadata)
            {
                return false;
            }

            held.Enqueue(request);
            if (held.Count == 2)
            {
                // Half of a response frame, then the connection goes away.
                await request.Connection.WriteRawAsync([0, 0, 0, 100, .. BitConverter.GetBytes(request.CorrelationId), 1, 2, 3]);
                request.Connection.Abort();
            }

            return true;
        });
        await using KafkaConnection connection = await Connect(server);
        Task<MetadataResponse> a = connection.SendAsync<MetadataRequest, MetadataResponse>(MetadataFor("a"));
        Task<MetadataResponse> b = connection.SendAsync<MetadataRequest, MetadataResponse>(MetadataFor("b"));

        var ea = await Poll.FailureOf<KafkaDisconnectedException>(a);
        await Poll.FailureOf<KafkaDisconnectedException>(b);
        Assert.True(ea.IsRetriable);
        Assert.Equal($"127.0.0.1:{server.Port}", ea.Endpoint);
        Assert.False(connection.IsConnected);
        Assert.Equal(0, connection.InFlightCount);
    }

    [Fact]
    public async Task Negotiation_picks_the_highest_common_version_per_api_and_refuses_without_overlap()
    {
        await using var server = new TestKafkaServer(async request =>
        {
            if (request.ApiKey == ApiKeys.Metadata)
            {
                await request.RespondAsync(MetadataAnswer(request));
                return true;
            }

            return false;
        })
        {
            AdvertisedVersions =
            [
                new() { ApiKey = ApiKeys.ApiVersions, MinVersion = 0, MaxVersion = 4 },
                new() { ApiKey = ApiKeys.Metadata, MinVersion = 1, MaxVersion = 5 },
                new() { ApiKey = ApiKeys.Produce, MinVersion = 3, MaxVersion = 99 },
                new() { ApiKey = ApiKeys.Fetch, MinVersion = 40, MaxVersion = 45 },
                new() { ApiKey = 999, MinVersion = 0, MaxVersion = 3 },
            ],
        };
        await using KafkaConnection connection = await Connect(server);

        NodeApiVersions versions = connection.ApiVersions!;
        Assert.Equal(new VersionRange(1, 5), versions.Usable[ApiKeys.Metadata]);
        Assert.Equal(new VersionRange(3, 11), versions.Usable[ApiKeys.Produce]);
        Assert.False(versions.TryGetUsable(ApiKeys.Fetch, out _));
        Assert.Equal(new VersionRange(0, 3), versions.NodeVersions[999]);

        MetadataResponse answer = await connection.SendAsync<MetadataRequest, MetadataResponse>(MetadataFor("x"));
        Assert.Equal("x", answer.Topics[0].Name);
        Assert.Equal(5, server.ReceivedOf(ApiKeys.Metadata).Single().ApiVersion);

        var tooHigh = await Assert.ThrowsAsync<UnsupportedApiVersionException>(() => connection.SendAsync<MetadataRequest, MetadataResponse>(MetadataFor("x"), version: 9));
        Assert.Contains("Metadata v9", tooHigh.Message);
        var noOverlap = await Assert.ThrowsAsync<UnsupportedApiVersionException>(() => connection.SendAsync<FetchRequest, FetchResponse>(new FetchRequest()));
        Assert.Contains("supports Fetch versions 40-45", noOverlap.Message);
        Assert.Equal(new VersionRange(40, 45), noOverlap.NodeVersions);
        var absent = await Assert.ThrowsAsync<UnsupportedApiVersionException>(() => connection.SendAsync<CreateTopicsRequest, CreateTopicsResponse>(new CreateTopicsRequest()));
        Assert.Contains("does not serve CreateTopics", absent.Message);
        Assert.Null(absent.NodeVersions);
        Assert.True(connection.IsConnected); // refusing a version sends nothing
    }

    [Theory]
    [InlineData(0, new short[] { 3, 0 })]
    [InlineData(2, new short[] { 3, 2 })]
    [InlineData(3, new short[] { 3 })]
    public async Task ApiVersions_falls_back_when_the_node_answers_UNSUPPORTED_VERSION_in_v0(short nodeMax, short[] expectedVersions)
    {
        await using var server = new TestKafkaServer { MaxApiVersionsVersion = nodeMax };
        await using KafkaConnection connection = await Connect(server);

        Assert.Equal(expectedVersions, server.ReceivedOf(ApiKeys.ApiVersions).Select(r => r.ApiVersion).ToArray());
        Assert.True(connection.ApiVersions!.TryGetUsable(ApiKeys.Metadata, out VersionRange metadata));
        Assert.Equal(12, metadata.Highest);
        TestRequest last = server.ReceivedOf(ApiKeys.ApiVersions).Last();
        if (last.ApiVersion >= 3)
        {
            ApiVersionsRequest body = last.Read<ApiVersionsRequest>();
            Assert.Equal("aspire-kafka-client", body.ClientSoftwareName);
        }
    }

    [Fact]
    public async Task Produce_with_acks_0_completes_when_written_and_gets_no_response_slot()
    {
        await using var server = new TestKafkaServer(async request =>
        {
            if (request.ApiKey == ApiKeys.Metadata)
            {
                await request.RespondAsync(MetadataAnswer(request));
                return true;
            }

            return request.ApiKey == ApiKeys.Produce; // never answered, as a broker with acks=0
        });
        await using KafkaConnection connection = await Connect(server);
        using var batch = new RecordBatchBuilder(CompressionType.None);
        batch.Append(1, "k"u8.ToArray(), "v"u8.ToArray());
        var produce = new ProduceRequest { Acks = 0, TimeoutMs = 1000, TopicData = [new() { Name = "t", PartitionData = [new() { Index = 0, Records = batch.Build() }] }] };

        await connection.SendWithoutResponseAsync(produce).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, connection.InFlightCount);
        // The next request's response is matched to it (the acks=0 request took no place in the queue).
        MetadataResponse after = await connection.SendAsync<MetadataRequest, MetadataResponse>(MetadataFor("after")).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("after", after.Topics[0].Name);
        TestRequest received = server.ReceivedOf(ApiKeys.Produce).Single();
        Assert.Equal(0, received.Read<ProduceRequest>().Acks);

        await Assert.ThrowsAsync<ArgumentException>(() => connection.SendAsync<ProduceRequest, ProduceResponse>(produce));
    }

    [Fact]
    public async Task A_cancelled_request_keeps_the_connection_in_step()
    {
        var held = new ConcurrentQueue<TestRequest>();
        await using var server = new TestKafkaServer(request =>
        {
            if (request.ApiKey != ApiKeys.Metadata)
            {
                return Task.FromResult(false);
            }

            held.Enqueue(request);
            return Task.FromResult(true);
        });
        await using KafkaConnection connection = await Connect(server);
        using var cts = new CancellationTokenSource();
        Task<MetadataResponse> cancelled = connection.SendAsync<MetadataRequest, MetadataResponse>(MetadataFor("cancelled"), null, cts.Token);
        Task<MetadataResponse> kept = connection.SendAsync<MetadataRequest, MetadataResponse>(MetadataFor("kept"));
        await Poll.UntilAsync(() => held.Count == 2, "both requests written");

        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        foreach (TestRequest r in held)
        {
            await r.RespondAsync(MetadataAnswer(r));
        }

        Assert.Equal("kept", (await kept.WaitAsync(TimeSpan.FromSeconds(10))).Topics[0].Name);
        Assert.True(connection.IsConnected);
        Assert.Equal(0, connection.InFlightCount);
    }

    public static TheoryData<string, IApiMessage, short> WireCases() => new()
    {
        { "Metadata v12 (flexible, header v2)", new MetadataRequest { Topics = [new() { Name = "orders" }], AllowAutoTopicCreation = false }, 12 },
        { "Metadata v4 (header v1)", new MetadataRequest { Topics = [new() { Name = "orders" }] }, 4 },
        { "ApiVersions v3 (header v2)", new ApiVersionsRequest { ClientSoftwareName = "x", ClientSoftwareVersion = "1" }, 3 },
        { "Produce v3 with a batch", new ProduceRequest { Acks = -1, TimeoutMs = 5000, TopicData = [new() { Name = "t", PartitionData = [new() { Index = 2, Records = SampleBatch() }] }] }, 3 },
        { "Produce v9 (flexible)", new ProduceRequest { Acks = 1, TimeoutMs = 5000, TopicData = [new() { Name = "t", PartitionData = [new() { Index = 0, Records = SampleBatch() }] }] }, 9 },
        { "Fetch v12", new FetchRequest { MaxWaitMs = 100, MinBytes = 1, SessionEpoch = -1, Topics = [new() { Topic = "t", Partitions = [new() { Partition = 0, FetchOffset = 42, PartitionMaxBytes = 1000 }] }] }, 12 },
        { "Fetch v4", new FetchRequest { MaxWaitMs = 100, MinBytes = 1, Topics = [new() { Topic = "t", Partitions = [new() { Partition = 0, FetchOffset = 42, PartitionMaxBytes = 1000 }] }] }, 4 },
        { "ListOffsets v1", new ListOffsetsRequest { ReplicaId = -1, Topics = [new() { Name = "t", Partitions = [new() { PartitionIndex = 0, Timestamp = -1 }] }] }, 1 },
    };

    private static byte[] SampleBatch()
    {
        using var builder = new RecordBatchBuilder(CompressionType.None);
        builder.Append(1700000000000, "key"u8.ToArray(), "value"u8.ToArray(), [new RecordHeader("h", "v"u8.ToArray())]);
        return builder.Build();
    }

    /// <summary>
    /// The bytes on the wire, decoded independently of the client: size prefix, the request
    /// header at the version the API requires, client id, increasing correlation ids, and a body
    /// equal to what was sent — what a real Kafka broker parses.
    /// </summary>
    [Theory]
    [MemberData(nameof(WireCases))]
    public async Task Bytes_on_the_wire_decode_as_the_request_sent(string name, IApiMessage request, short version)
    {
        var raw = new ConcurrentQueue<byte[]>();
        await using var server = new TestKafkaServer(async r =>
        {
            // The server keeps the exact bytes it received; only ApiVersions is answered.
            raw.Enqueue(r.Frame);
            return r.ApiKey != ApiKeys.ApiVersions;
        });
        await using KafkaConnection connection = await Connect(server, new KafkaClientOptions { ClientId = "wire-test", RequestTimeout = TimeSpan.FromSeconds(5) });
        ApiMessageType type = ApiMessageTypes.Find(request.ApiKey)!;

        Task send = request switch
        {
            MetadataRequest m => connection.SendAsync<MetadataRequest, MetadataResponse>(m, version),
            ApiVersionsRequest a => connection.SendAsync<ApiVersionsRequest, ApiVersionsResponse>(a, version),
            ProduceRequest p => connection.SendAsync<ProduceRequest, ProduceResponse>(p, version),
            FetchRequest f => connection.SendAsync<FetchRequest, FetchResponse>(f, version),
            ListOffsetsRequest l => connection.SendAsync<ListOffsetsRequest, ListOffsetsResponse>(l, version),
            _ => throw new InvalidOperationException(name),
        };
        await Poll.UntilAsync(() => raw.Count == 2, $"{name} reaches the server");
        byte[][] frames = [.. raw];

        byte[] frame = frames[1];
        // The header decoded by hand, as Kafka's RequestHeader schema lays it out.
        short headerVersion = type.RequestHeaderVersion(version);
        Assert.Equal(type.RequestFlexibleVersions.Contains(version) ? 2 : 1, headerVersion);
        Assert.Equal(request.ApiKey, BinaryPrimitives.ReadInt16BigEndian(frame));
        Assert.Equal(version, BinaryPrimitives.ReadInt16BigEndian(frame.AsSpan(2)));
        Assert.Equal(BinaryPrimitives.ReadInt32BigEndian(frames[0].AsSpan(4)) + 1, BinaryPrimitives.ReadInt32BigEndian(frame.AsSpan(4)));
        short clientIdLength = BinaryPrimitives.ReadInt16BigEndian(frame.AsSpan(8)); // int16 length in v1 and v2 alike
        Assert.Equal("wire-test", System.Text.Encoding.UTF8.GetString(frame, 10, clientIdLength));
        int bodyStart = 10 + clientIdLength;
        if (headerVersion == 2)
        {
            Assert.Equal(0, frame[bodyStart]); // no tagged fields
            bodyStart++;
        }

        var reader = new KafkaReader(frame.AsMemory(bodyStart));
        IKafkaMessage decoded = type.ReadRequest(ref reader, version);
        Assert.True(reader.End, $"{reader.Remaining} bytes left after the {name} body");
        Assert.Equal(request, decoded);
        await connection.DisposeAsync();
        try
        {
            await send; // unanswered: fails as disconnected; ApiVersions was answered
        }
        catch (KafkaDisconnectedException)
        {
        }
    }
}
