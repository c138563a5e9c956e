using System.Text;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Records;

namespace Aspire.Kafka.Client.Tests;

public sealed class KafkaClientTests
{
    private static KafkaClientOptions Options(FakeCluster cluster, int retries = 5) => new()
    {
        BootstrapServers = cluster.Bootstrap.Take(1).ToList(),
        Retries = retries,
        RetryBackoff = TimeSpan.FromMilliseconds(1),
        RetryBackoffMax = TimeSpan.FromMilliseconds(5),
        ReconnectBackoff = TimeSpan.FromMilliseconds(1),
        ReconnectBackoffMax = TimeSpan.FromMilliseconds(5),
    };

    private static ProducerRecord Rec(string key, string value) =>
        new(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value), [new RecordHeader("source", Encoding.UTF8.GetBytes("test"))]);

    [Fact]
    public async Task Produce_then_fetch_and_list_offsets_round_trip_through_the_leader()
    {
        await using var cluster = new FakeCluster(brokers: 2);
        cluster.AddTopic("orders", partitions: 2, leader: 2);
        await using var client = new KafkaClient(Options(cluster));

        ProduceResult first = await client.ProduceAsync("orders", 1, [Rec("a", "1"), Rec("b", "2"), Rec("c", "3")]);
        ProduceResult second = await client.ProduceAsync("orders", 1, [Rec("d", "4")], acks: 1, compression: CompressionType.Gzip);
        Assert.Equal(0, first.BaseOffset);
        Assert.Equal(3, second.BaseOffset);
        Assert.All(cluster.Servers[2].ReceivedOf(ApiKeys.Produce), r => Assert.InRange(r.ApiVersion, 3, 11));
        Assert.Empty(cluster.Servers[1].ReceivedOf(ApiKeys.Produce));

        FetchResult fetched = await client.FetchAsync("orders", 1, offset: 1);
        Assert.Equal(["b", "c", "d"], fetched.Records.Select(r => Encoding.UTF8.GetString(r.Key!.Value.Span)));
        Assert.Equal([1L, 2L, 3L], fetched.Records.Select(r => r.Offset));
        Assert.Equal("test", Encoding.UTF8.GetString(fetched.Records[0].Headers[0].Value!.Value.Span));
        Assert.Equal(4, fetched.HighWatermark);
        Assert.Equal(0, fetched.LogStartOffset);
        Assert.Equal(4, fetched.NextOffset);
        // Metadata gave a topic id, so the fetch names the topic by id (v13+).
        Assert.True(cluster.Servers[2].ReceivedOf(ApiKeys.Fetch).Single().ApiVersion >= 13);

        Assert.Equal(0, (await client.ListOffsetsAsync("orders", 1, OffsetSpec.Earliest)).Offset);
        Assert.Equal(4, (await client.ListOffsetsAsync("orders", 1, OffsetSpec.Latest)).Offset);
        Assert.Equal(0, (await client.ListOffsetsAsync("orders", 0, OffsetSpec.Latest)).Offset);
    }

    [Fact]
    public async Task Fetch_past_the_end_is_OFFSET_OUT_OF_RANGE()
    {
        await using var cluster = new FakeCluster();
        cluster.AddTopic("t");
        await using var client = new KafkaClient(Options(cluster));
        var e = await Assert.ThrowsAsync<KafkaErrorException>(() => client.FetchAsync("t", 0, offset: 10));
        Assert.Equal(ErrorCode.OffsetOutOfRange, e.ErrorCode);
        Assert.False(e.IsRetriable);
        Assert.Contains("OFFSET_OUT_OF_RANGE for t-0", e.Message);
    }

    [Fact]
    public async Task NOT_LEADER_OR_FOLLOWER_refreshes_metadata_and_retries_on_the_new_leader()
    {
        await using var cluster = new FakeCluster(brokers: 2);
        FakeCluster.Topic topic = cluster.AddTopic("moving", leader: 1);
        await using var client = new KafkaClient(Options(cluster));
        await client.RefreshMetadataAsync(["moving"]);
        Assert.Equal(1, client.Metadata.LeaderFor("moving", 0)!.Id);

        // Leadership moves to broker 2; the client still thinks broker 1 leads.
        topic.Leaders[0] = 2;
        int metadataBefore = cluster.Servers.Values.Sum(s => s.ReceivedOf(ApiKeys.Metadata).Count());
        ProduceResult result = await client.ProduceAsync("moving", 0, [Rec("k", "v")]);

        Assert.Equal(0, result.BaseOffset);
        Assert.Single(cluster.Servers[1].ReceivedOf(ApiKeys.Produce)); // answered NOT_LEADER_OR_FOLLOWER
        Assert.Single(cluster.Servers[2].ReceivedOf(ApiKeys.Produce));
        Assert.True(cluster.Servers.Values.Sum(s => s.ReceivedOf(ApiKeys.Metadata).Count()) > metadataBefore);
        Assert.Equal(2, client.Metadata.LeaderFor("moving", 0)!.Id);
        Assert.Single(topic.Logs[0]);
    }

    [Fact]
    public async Task Batches_of_several_partitions_waiting_for_one_leader_go_in_one_produce()
    {
        await using var cluster = new FakeCluster(brokers: 2);
        cluster.AddTopic("many", leader: 1, partitions: 4);
        var firstArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int produces = 0;
        cluster.Intercept = async (broker, request) =>
        {
            if (request.ApiKey == ApiKeys.Produce && Interlocked.Increment(ref produces) == 1)
            {
                firstArrived.SetResult();
                await release.Task; // the first request stays in flight until the others have queued
            }

            return false;
        };
        await using var client = new KafkaClient(Options(cluster));

        Task<ProduceResult> first = client.ProduceAsync("many", 0, [Rec("k", "0")]);
        await firstArrived.Task;
        Task<ProduceResult>[] waiting = [.. Enumerable.Range(1, 3).Select(p => client.ProduceAsync("many", p, [Rec("k", $"{p}")]))];
        await Poll.UntilAsync(() => client.Produces.Queued == 3, "three batches queued behind the request in flight");
        release.SetResult();
        await first;
        await Task.WhenAll(waiting);

        List<ProduceRequest> sent = [.. cluster.Servers[1].ReceivedOf(ApiKeys.Produce).Select(r => r.Read<ProduceRequest>())];
        Assert.Equal(2, sent.Count);
        Assert.Equal([0], sent[0].TopicData.Single().PartitionData.Select(p => p.Index));
        Assert.Equal([1, 2, 3], sent[1].TopicData.Single().PartitionData.Select(p => p.Index).Order());
        Assert.All(waiting, t => Assert.Equal(0, t.Result.BaseOffset)); // each partition got its own answer
    }

    [Fact]
    public async Task Retries_stop_after_the_configured_count()
    {
        await using var cluster = new FakeCluster(brokers: 2);
        cluster.AddTopic("stuck", leader: 1);
        // Broker 1 refuses every produce although Metadata keeps naming it.
        cluster.Intercept = async (broker, request) =>
        {
            if (request.ApiKey != ApiKeys.Produce)
            {
                return false;
            }

            await request.RespondAsync(new ProduceResponse
            {
                Responses = [new() { Name = "stuck", PartitionResponses = [new() { Index = 0, ErrorCode = (short)ErrorCode.NotLeaderOrFollower }] }],
            });
            return true;
        };
        await using var client = new KafkaClient(Options(cluster, retries: 2));

        var e = await Assert.ThrowsAsync<KafkaErrorException>(() => client.ProduceAsync("stuck", 0, [Rec("k", "v")]));
        Assert.Equal(ErrorCode.NotLeaderOrFollower, e.ErrorCode);
        Assert.True(e.IsRetriable);
        Assert.Equal(3, cluster.Servers[1].ReceivedOf(ApiKeys.Produce).Count()); // 1 try + 2 retries
    }

    [Fact]
    public async Task Produce_with_acks_0_returns_without_a_response()
    {
        await using var cluster = new FakeCluster();
        FakeCluster.Topic topic = cluster.AddTopic("fire-and-forget");
        await using var client = new KafkaClient(Options(cluster));

        ProduceResult result = await client.ProduceAsync("fire-and-forget", 0, [Rec("k", "v")], acks: 0);
        Assert.Equal(-1, result.BaseOffset);
        await Poll.UntilAsync(() => topic.Logs[0].Count == 1, "the record reaches the broker");
        Assert.Equal(0, cluster.Servers[1].ReceivedOf(ApiKeys.Produce).Single().Read<ProduceRequest>().Acks);
    }

    [Fact]
    public async Task Create_and_delete_topics_go_to_the_controller_named_in_metadata()
    {
        await using var cluster = new FakeCluster(brokers: 2);
        cluster.ControllerId = 2;
        await using var client = new KafkaClient(Options(cluster));

        IReadOnlyList<TopicResult> created = await client.CreateTopicsAsync([new NewTopic("fresh", 3, 1), new NewTopic("fresh2")]);
        Assert.All(created, r => Assert.Equal(ErrorCode.None, r.Error));
        Assert.Equal(3, cluster.Topics["fresh"].Leaders.Length);
        Assert.Single(cluster.Servers[2].ReceivedOf(ApiKeys.CreateTopics));
        Assert.Empty(cluster.Servers[1].ReceivedOf(ApiKeys.CreateTopics));

        IReadOnlyList<TopicResult> again = await client.CreateTopicsAsync([new NewTopic("fresh", 1, 1)]);
        Assert.Equal(ErrorCode.TopicAlreadyExists, again.Single().Error);
        Assert.Throws<KafkaErrorException>(() => again.Single().ThrowIfError());

        IReadOnlyList<TopicResult> deleted = await client.DeleteTopicsAsync(["fresh", "missing"]);
        Assert.Equal(ErrorCode.None, deleted.Single(r => r.Name == "fresh").Error);
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, deleted.Single(r => r.Name == "missing").Error);
        Assert.False(cluster.Topics.ContainsKey("fresh"));
    }

    [Fact]
    public async Task An_unknown_topic_fails_after_retries_with_UNKNOWN_TOPIC_OR_PARTITION()
    {
        await using var cluster = new FakeCluster();
        await using var client = new KafkaClient(Options(cluster, retries: 1));
        var e = await Assert.ThrowsAsync<KafkaErrorException>(() => client.FetchAsync("nope", 0, 0));
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, e.ErrorCode);
    }

    [Fact]
    public void Options_read_kafka_names_and_reject_unknown_ones()
    {
        KafkaClientOptions options = KafkaClientOptions.FromProperties(new Dictionary<string, string>
        {
            ["bootstrap.servers"] = "a:9092, b:9093",
            ["client.id"] = "coordinator-1",
            ["request.timeout.ms"] = "5000",
            ["reconnect.backoff.ms"] = "20",
            ["reconnect.backoff.max.ms"] = "2000",
            ["max.in.flight.requests.per.connection"] = "1",
            ["metadata.max.age.ms"] = "1000",
            ["retries"] = "0",
            ["retry.backoff.ms"] = "10",
            ["socket.connection.setup.timeout.ms"] = "3000",
        });
        Assert.Equal(["a:9092", "b:9093"], options.BootstrapServers);
        Assert.Equal("coordinator-1", options.ClientId);
        Assert.Equal(TimeSpan.FromSeconds(5), options.RequestTimeout);
        Assert.Equal(1, options.MaxInFlightRequestsPerConnection);
        Assert.Equal(0, options.Retries);
        Assert.Equal(TimeSpan.FromSeconds(3), options.SocketConnectionSetupTimeout);

        var unknown = Assert.Throws<ArgumentException>(() => KafkaClientOptions.FromProperties([new("linger.ms", "5")]));
        Assert.Contains("linger.ms", unknown.Message);
        Assert.Throws<ArgumentException>(() => KafkaClientOptions.FromProperties([new("request.timeout.ms", "soon")]));
        Assert.Throws<ArgumentException>(() => KafkaClientOptions.FromProperties([new("max.in.flight.requests.per.connection", "0")]));
    }

    [Fact]
    public async Task A_bootstrap_entry_may_be_a_comma_separated_list()
    {
        await using var client = new KafkaClient(new KafkaClientOptions { BootstrapServers = ["a:9092, b:9093", "c:9094"] });
        Assert.Equal([new KafkaNode(-1, "a", 9092), new KafkaNode(-2, "b", 9093), new KafkaNode(-3, "c", 9094)], client.BootstrapNodes);
        Assert.Throws<ArgumentException>(() => new KafkaClient(new KafkaClientOptions { BootstrapServers = [" , "] }));
    }

    [Fact]
    public void Node_addresses_parse_like_bootstrap_servers_and_quorum_voters()
    {
        Assert.Equal(new KafkaNode(-1, "localhost", 9092), KafkaNode.Parse("localhost:9092"));
        Assert.Equal(new KafkaNode(-1, "::1", 9093), KafkaNode.Parse("[::1]:9093"));
        Assert.Equal(new KafkaNode(2, "10.0.0.2", 9093), KafkaNode.ParseVoter("2@10.0.0.2:9093"));
        Assert.Throws<ArgumentException>(() => KafkaNode.Parse("no-port"));
    }
}
