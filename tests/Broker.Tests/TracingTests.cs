using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Text;
using Aspire.Kafka.Broker.Apis;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Records;
using Aspire.Kafka.Server;
using Aspire.Kafka.ServiceDefaults.Configuration;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using static Aspire.Kafka.Broker.Tests.ClusterHarness;

namespace Aspire.Kafka.Broker.Tests;

/// <summary>Tracing tests run alone: an ActivityListener sees every span of the process.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TracingCollection
{
    public const string Name = "tracing";
}

/// <summary>
/// The broker's spans, in process, seen by an <see cref="ActivityListener"/> as an OpenTelemetry
/// SDK would see them: requests go through the real connection loop (over in-memory pipes) and
/// the real dispatcher into a real ReplicaManager.
/// </summary>
[Collection(TracingCollection.Name)]
public sealed class TracingTests : IDisposable
{
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly ActivityListener _listener;

    public TracingTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is KafkaNetworkMetrics.MeterName or BrokerTelemetry.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose() => _listener.Dispose();

    private sealed class Pipes(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    /// <summary>One client connection to <paramref name="broker"/> through the connection loop.</summary>
    private sealed class Connection : IAsyncDisposable
    {
        private readonly Pipe _toServer = new();
        private readonly Pipe _toClient = new();
        private readonly Task _loop;
        private int _correlationId;

        public Connection(ReplicaManager broker)
        {
            var services = new ServiceCollection();
            services.AddLogging();
            services.AddMetrics();
            services.AddSingleton(KafkaConfigLoader.Load(ServiceDefaultsConfig.Create(), []));
            services.AddKafkaApiDispatcher();
            services.AddSingleton(broker);
            services.AddSingleton<IKafkaApi, ProduceApi>();
            services.AddSingleton<KafkaNetworkMetrics>();
            services.AddSingleton<KafkaConnectionHandler>();
            Provider = services.BuildServiceProvider();
            var context = new DefaultConnectionContext("tracing-test", new Pipes(_toServer.Reader, _toClient.Writer), new Pipes(_toClient.Reader, _toServer.Writer));
            context.Items[KafkaConnectionHandler.ListenerNameItem] = "PLAINTEXT";
            _loop = Provider.GetRequiredService<KafkaConnectionHandler>().OnConnectedAsync(context);
        }

        public ServiceProvider Provider { get; }

        public async Task<TResponse> SendAsync<TResponse>(IApiMessage request, short version, string clientId)
            where TResponse : IKafkaMessage<TResponse>
        {
            ApiMessageType type = ApiMessageTypes.Find(request.ApiKey)!;
            using var writer = new KafkaWriter();
            writer.WriteInt32(0);
            new RequestHeader { RequestApiKey = request.ApiKey, RequestApiVersion = version, CorrelationId = ++_correlationId, ClientId = clientId }
                .Write(writer, type.RequestHeaderVersion(version));
            request.Write(writer, version);
            byte[] frame = writer.ToArray();
            BinaryPrimitives.WriteInt32BigEndian(frame, frame.Length - 4);
            await _toServer.Writer.WriteAsync(frame);

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            while (true)
            {
                ReadResult result = await _toClient.Reader.ReadAsync(timeout.Token);
                ReadOnlySequence<byte> buffer = result.Buffer;
                if (buffer.Length >= 4)
                {
                    byte[] size = buffer.Slice(0, 4).ToArray();
                    int length = BinaryPrimitives.ReadInt32BigEndian(size);
                    if (buffer.Length >= 4 + length)
                    {
                        byte[] body = buffer.Slice(4, length).ToArray();
                        _toClient.Reader.AdvanceTo(buffer.GetPosition(4 + length));
                        var reader = new KafkaReader(body);
                        ResponseHeader.Read(ref reader, type.ResponseHeaderVersion(version));
                        return TResponse.Read(ref reader, version);
                    }
                }

                _toClient.Reader.AdvanceTo(buffer.Start, buffer.End);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _toServer.Writer.CompleteAsync();
            await _loop.WaitAsync(TimeSpan.FromSeconds(15));
            await Provider.DisposeAsync();
        }
    }

    private static byte[] BatchWithHeaders(CompressionType codec, params string?[] traceparents)
    {
        using var builder = new RecordBatchBuilder(codec);
        long ts = 1_700_000_000_000;
        foreach (string? traceparent in traceparents)
        {
            IReadOnlyList<RecordHeader>? headers = traceparent is null ? null : [new RecordHeader("traceparent", Encoding.UTF8.GetBytes(traceparent))];
            builder.Append(ts++, Encoding.UTF8.GetBytes("k"), Encoding.UTF8.GetBytes("v"), headers);
        }

        return builder.Build();
    }

    private Activity RequestSpan(string clientId) =>
        Assert.Single(_stopped, a => a.OperationName == KafkaConnectionHandler.RequestSpanName && (a.GetTagItem("kafka.client.id") as string) == clientId);

    [Fact]
    public async Task A_produce_span_names_the_API_and_links_to_the_traceparent_of_its_records()
    {
        await using var cluster = new ClusterHarness(null, 1);
        ReplicaManager broker = await cluster.StartBrokerAsync(1);
        cluster.CreateTopic("traced", 1, [1]);
        const string producerTrace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        const string otherTrace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";

        await using (var connection = new Connection(broker))
        {
            // Two records of one trace, one of another, one without: two links.
            ProduceResponse response = await connection.SendAsync<ProduceResponse>(
                Produce("traced", 0, BatchWithHeaders(CompressionType.None, producerTrace, producerTrace, otherTrace, null)), 9, "tracing-produce");
            Assert.Equal(0, response.Responses[0].PartitionResponses[0].ErrorCode);
        }

        Activity span = RequestSpan("tracing-produce");
        Assert.Equal(ActivityKind.Server, span.Kind);
        Assert.Equal("Produce", span.DisplayName);
        Assert.Equal("Produce", span.GetTagItem("kafka.api.name"));
        Assert.Equal(0, span.GetTagItem("kafka.api.key"));
        Assert.Equal(9, span.GetTagItem("kafka.api.version"));
        Assert.Equal("PLAINTEXT", span.GetTagItem("kafka.listener"));
        Assert.Equal(1, span.GetTagItem("kafka.partitions"));
        Assert.Equal(0, span.GetTagItem("kafka.error.code"));
        Assert.True((int)span.GetTagItem("kafka.request.size")! > 100);
        Assert.True((int)span.GetTagItem("kafka.response.size")! > 10);
        Assert.Equal(ActivityStatusCode.Unset, span.Status);
        Assert.Equal(2, span.GetTagItem("kafka.produce.trace_links"));
        Assert.Collection(span.Links,
            link =>
            {
                Assert.Equal("0af7651916cd43dd8448eb211c80319c", link.Context.TraceId.ToHexString());
                Assert.Equal("b7ad6b7169203331", link.Context.SpanId.ToHexString());
                Assert.Equal(ActivityTraceFlags.Recorded, link.Context.TraceFlags);
                Assert.True(link.Context.IsRemote);
                Assert.Equal("traced", link.Tags!.Single(t => t.Key == "messaging.destination.name").Value);
            },
            link => Assert.Equal("4bf92f3577b34da6a3ce929d0e0e4736", link.Context.TraceId.ToHexString()));
        // The request span is a new trace, not the producer's: the link is the relation.
        Assert.NotEqual("0af7651916cd43dd8448eb211c80319c", span.TraceId.ToHexString());
    }

    [Fact]
    public async Task A_compressed_batch_is_not_decompressed_for_links_unless_the_topic_recompresses_it()
    {
        await using var cluster = new ClusterHarness(null, 1);
        ReplicaManager broker = await cluster.StartBrokerAsync(1);
        cluster.CreateTopic("zipped-as-sent", 1, [1]);
        cluster.CreateTopic("recompressed", 1, [1], null, null, ("compression.type", "lz4"));
        const string trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

        await using (var connection = new Connection(broker))
        {
            await connection.SendAsync<ProduceResponse>(Produce("zipped-as-sent", 0, BatchWithHeaders(CompressionType.Gzip, trace)), 9, "tracing-gzip");
            await connection.SendAsync<ProduceResponse>(Produce("recompressed", 0, BatchWithHeaders(CompressionType.Gzip, trace)), 9, "tracing-recompressed");
        }

        Assert.Empty(RequestSpan("tracing-gzip").Links);
        Assert.Equal("0af7651916cd43dd8448eb211c80319c", Assert.Single(RequestSpan("tracing-recompressed").Links).Context.TraceId.ToHexString());
    }

    [Fact]
    public async Task A_failed_produce_carries_the_partition_error_and_an_error_status()
    {
        await using var cluster = new ClusterHarness(null, 1);
        ReplicaManager broker = await cluster.StartBrokerAsync(1);

        await using (var connection = new Connection(broker))
        {
            ProduceResponse response = await connection.SendAsync<ProduceResponse>(Produce("missing", 0, BatchWithHeaders(CompressionType.None, [null])), 9, "tracing-error");
            Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, response.Responses[0].PartitionResponses[0].ErrorCode);
        }

        Activity span = RequestSpan("tracing-error");
        Assert.Equal((int)ErrorCode.UnknownTopicOrPartition, span.GetTagItem("kafka.error.code"));
        Assert.Equal("UNKNOWN_TOPIC_OR_PARTITION", span.GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Error, span.Status);
    }

    [Fact]
    public async Task No_span_and_no_tags_when_the_listener_does_not_record()
    {
        await using var cluster = new ClusterHarness(null, 1);
        ReplicaManager broker = await cluster.StartBrokerAsync(1);
        cluster.CreateTopic("untraced", 1, [1]);
        using var quiet = new ActivityListener
        {
            ShouldListenTo = s => s.Name == KafkaNetworkMetrics.MeterName,
            // Propagation only: the span exists for context but nobody wants its data.
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.PropagationData,
        };
        _listener.Dispose(); // this test's own listener records everything: take it away
        ActivitySource.AddActivityListener(quiet);

        var seen = new ConcurrentQueue<Activity>();
        using var observer = new ActivityListener
        {
            ShouldListenTo = s => s.Name == KafkaNetworkMetrics.MeterName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.PropagationData,
            ActivityStopped = seen.Enqueue,
        };
        ActivitySource.AddActivityListener(observer);
        await using (var connection = new Connection(broker))
        {
            await connection.SendAsync<ProduceResponse>(Produce("untraced", 0, BatchWithHeaders(CompressionType.None, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")), 9, "tracing-quiet");
        }

        // Other tests of this assembly may record spans meanwhile; ours carry no tags at all.
        Assert.All(seen.Where(a => !a.IsAllDataRequested), a =>
        {
            Assert.Empty(a.TagObjects);
            Assert.Empty(a.Links);
            Assert.Equal(KafkaConnectionHandler.RequestSpanName, a.DisplayName);
        });
        Assert.Contains(seen, a => !a.IsAllDataRequested);
    }

    [Fact]
    public async Task Replica_fetch_rounds_that_move_records_are_spans_and_idle_ones_are_not_exported()
    {
        await using var cluster = new ClusterHarness(null, 1, 2);
        ReplicaManager leader = await cluster.StartBrokerAsync(1);
        ReplicaManager follower = await cluster.StartBrokerAsync(2);
        cluster.CreateTopic("replicated-traced", 1, [1, 2]);
        await leader.HandleProduceAsync(Produce("replicated-traced", 0, Batch(CompressionType.None, "a", "b", "c")), 9, null, default);
        await WaitUntilAsync(() => follower.GetPartition(new("replicated-traced", 0))?.LogEndOffset == 3, "the follower replicates");

        List<Activity> fetches = [.. _stopped.Where(a => a.OperationName == "kafka.replica.fetch" && a.GetTagItem("kafka.replica.id") is 2)];
        Activity? moving = fetches.FirstOrDefault(a => a.Recorded && (long)a.GetTagItem("kafka.fetch.bytes")! > 0);
        Assert.NotNull(moving);
        Assert.Equal(ActivityKind.Client, moving.Kind);
        Assert.Equal(1, moving.GetTagItem("kafka.leader.id"));
        Assert.Equal(1, moving.GetTagItem("kafka.fetch.partitions_with_records"));
        Assert.Equal(0, moving.GetTagItem("kafka.error.code"));
        Assert.Null(moving.ParentId);
        await WaitUntilAsync(() => _stopped.Any(a => a.OperationName == "kafka.replica.fetch" && a.GetTagItem("kafka.replica.id") is 2 && !a.Recorded),
            "an idle long poll that is not exported");
    }
}
