using System.Net;
using System.Net.Sockets;
using Aspire.Kafka.Client;
using Aspire.Kafka.Hosting;
using Aspire.Kafka.Metadata;
using Aspire.Kafka.Node.Apis;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Raft;
using Microsoft.Extensions.Hosting;
using Aspire.Kafka.Storage;
using ClusterSpec = Aspire.Kafka.Topology.ClusterSpec;
using KafkaTopology = Aspire.Kafka.Topology.KafkaTopology;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Aspire.Kafka.Node.Tests;

/// <summary>
/// The node plumbing against a real controller process: a node hosted in this test process with
/// only libs/Node (no data plane) registers, follows the metadata log as an observer, is
/// unfenced, answers Metadata / DescribeCluster / FindCoordinator from its image and forwards
/// CreateTopics to the controller; at stop it completes a controlled shutdown.
/// </summary>
public sealed class ClusterNodeTests
{
    private const int NodeId = 101;

    [Fact]
    public async Task A_node_registers_follows_the_log_forwards_admin_requests_and_shuts_down_in_a_controlled_way()
    {
        // Snapshot often and keep small segments, so a node started later must fetch the snapshot.
        (TestCluster started, string clusterId, string voters) = await StartControllerAsync(
            ("metadata.log.max.record.bytes.between.snapshots", "4096"), ("metadata.log.segment.bytes", "8192"));
        await using TestCluster cluster = started;
        string logDir = NewLogDir(clusterId, NodeId);
        int port = FreePort();
        int httpPort = FreePort();
        try
        {
            await using WebApplication app = BuildNode(NodeId, port, httpPort, logDir, voters, clusterId);
            await app.StartAsync();
            NodeLifecycleManager lifecycle = app.Services.GetRequiredService<NodeLifecycleManager>();
            ClusterMetadataFollower follower = app.Services.GetRequiredService<ClusterMetadataFollower>();

            await lifecycle.Unfenced.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(lifecycle.BrokerEpoch >= 0);
            await follower.WaitForAsync(i => i.Cluster.IsActiveBroker(NodeId), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

            await using var client = new KafkaClient(new KafkaClientOptions { BootstrapServers = [$"127.0.0.1:{port}"], RequestTimeout = TimeSpan.FromSeconds(15) });
            ClusterMetadata metadata = await client.RefreshMetadataAsync();
            Assert.Equal(port, metadata.Brokers[NodeId].Port);

            // Forwarded to the controller; the node's image then shows the topic led by the node.
            IReadOnlyList<TopicResult> created = await client.CreateTopicsAsync([new NewTopic("orders", 3, 1)]);
            Assert.Equal(ErrorCode.None, Assert.Single(created).Error);
            MetadataImage image = await follower.WaitForAsync(i => i.Topics.GetTopic("orders") is not null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
            Assert.All(image.Topics.GetTopic("orders")!.Partitions.Values, p => Assert.Equal(NodeId, p.Leader));
            IReadOnlyList<TopicResult> again = await client.CreateTopicsAsync([new NewTopic("orders", 3, 1)]);
            Assert.Equal(ErrorCode.TopicAlreadyExists, Assert.Single(again).Error);

            // Metadata for an unknown topic with auto-creation: LEADER_NOT_AVAILABLE, then it exists.
            await using KafkaConnection connection = await KafkaConnection.ConnectAsync("127.0.0.1", port);
            MetadataResponse first = await connection.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest
            {
                Topics = [new MetadataRequest.MetadataRequestTopic { Name = "auto-made" }],
                AllowAutoTopicCreation = true,
            });
            Assert.Equal(clusterId, first.ClusterId);
            Assert.Equal(NodeId, first.ControllerId);
            Assert.Equal((short)ErrorCode.LeaderNotAvailable, Assert.Single(first.Topics).ErrorCode);
            await follower.WaitForAsync(i => i.Topics.GetTopic("auto-made") is not null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
            MetadataResponse noAuto = await connection.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest
            {
                Topics = [new MetadataRequest.MetadataRequestTopic { Name = "not-made" }],
                AllowAutoTopicCreation = false,
            });
            Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, Assert.Single(noAuto.Topics).ErrorCode);

            // FindCoordinator: __consumer_offsets gets created; with no coordinator node it stays unavailable.
            FindCoordinatorResponse find = await connection.SendAsync<FindCoordinatorRequest, FindCoordinatorResponse>(new FindCoordinatorRequest { Key = "g1" }, version: 2);
            Assert.Equal((short)ErrorCode.CoordinatorNotAvailable, find.ErrorCode);
            await follower.WaitForAsync(i => i.Topics.GetTopic("__consumer_offsets") is not null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

            DescribeClusterResponse described = await connection.SendAsync<DescribeClusterRequest, DescribeClusterResponse>(new DescribeClusterRequest());
            Assert.Equal(clusterId, described.ClusterId);
            Assert.Equal(NodeId, Assert.Single(described.Brokers).BrokerId);

            // Enough records for the controller to snapshot and drop its first segments: a node
            // started now is behind the log start and installs the snapshot (KIP-630 FetchSnapshot).
            for (int i = 0; i < 40; i++)
            {
                (await client.CreateTopicsAsync([new NewTopic($"filler-{i}", 2, 1)])).Single().ThrowIfError();
            }

            string lateDir = NewLogDir(clusterId, NodeId + 1);
            try
            {
                await using WebApplication late = BuildNode(NodeId + 1, FreePort(), FreePort(), lateDir, voters, clusterId);
                await late.StartAsync();
                ClusterMetadataFollower lateFollower = late.Services.GetRequiredService<ClusterMetadataFollower>();
                MetadataImage lateImage = await lateFollower.WaitForAsync(i => i.Topics.GetTopic("filler-39") is not null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
                Assert.True(lateFollower.SnapshotsLoaded >= 1, "the late node replayed the whole log: no snapshot was installed");
                Assert.NotNull(lateImage.Topics.GetTopic("orders"));
                Assert.NotNull(lateImage.Topics.GetTopic("filler-0"));
                await late.Services.GetRequiredService<NodeLifecycleManager>().Unfenced.WaitAsync(TimeSpan.FromSeconds(30));
                await late.StopAsync();
            }
            finally
            {
                Directory.Delete(lateDir, recursive: true);
            }

            // Controlled shutdown: the controller fences the node and moves leadership away.
            await app.StopAsync();
            Assert.True(lifecycle.InControlledShutdown);
            Assert.True(lifecycle.IsFenced, "the controller did not complete the controlled shutdown");
        }
        finally
        {
            Directory.Delete(logDir, recursive: true);
        }
    }

    [Fact]
    public async Task A_node_snapshots_its_applied_metadata_and_drops_the_log_below_it()
    {
        // A NoOpRecord every 20 ms: the log grows while nothing happens, as it does every 500 ms by default.
        (TestCluster started, string clusterId, string voters) = await StartControllerAsync(("metadata.max.idle.interval.ms", "20"));
        await using TestCluster cluster = started;
        string logDir = NewLogDir(clusterId, NodeId);
        int port = FreePort();
        try
        {
            await using WebApplication app = BuildNode(NodeId, port, FreePort(), logDir, voters, clusterId, "metadata.log.max.snapshot.interval.ms=200");
            await app.StartAsync();
            ClusterMetadataFollower follower = app.Services.GetRequiredService<ClusterMetadataFollower>();
            await app.Services.GetRequiredService<NodeLifecycleManager>().Unfenced.WaitAsync(TimeSpan.FromSeconds(30));

            await using var client = new KafkaClient(new KafkaClientOptions { BootstrapServers = [$"127.0.0.1:{port}"], RequestTimeout = TimeSpan.FromSeconds(15) });
            (await client.CreateTopicsAsync([new NewTopic("orders", 2, 1)])).Single().ThrowIfError();
            await follower.WaitForAsync(i => i.Topics.GetTopic("orders") is not null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

            // Snapshots keep coming while NoOps are applied, and each moves the log start up.
            long appliedWithOrders = follower.AppliedOffset;
            int createdBefore = follower.SnapshotsCreated;
            await PollAsync(() => follower.SnapshotsCreated >= createdBefore + 3 && follower.LogStartOffset >= appliedWithOrders, TimeSpan.FromSeconds(30),
                () => $"snapshots created {follower.SnapshotsCreated} (from {createdBefore}), log start {follower.LogStartOffset}, applied {follower.AppliedOffset}");

            // The latest snapshot is the applied image in Kafka's snapshot format.
            byte[] snapshot = follower.LatestSnapshot ?? throw new InvalidOperationException("no snapshot");
            MetadataImage fromSnapshot = MetadataImage.FromRecords(
                RaftSnapshotCodec.Decode(snapshot).Select(MetadataRecordSerde.Read), MetadataImage.Empty.Provenance);
            Assert.Equal(2, fromSnapshot.Topics.GetTopic("orders")!.Partitions.Count);
            Assert.NotNull(fromSnapshot.Cluster.Node(NodeId));

            // Following goes on past the dropped prefix.
            (await client.CreateTopicsAsync([new NewTopic("after-snapshots", 1, 1)])).Single().ThrowIfError();
            MetadataImage image = await follower.WaitForAsync(i => i.Topics.GetTopic("after-snapshots") is not null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
            Assert.NotNull(image.Topics.GetTopic("orders"));
            Assert.Equal(0, follower.SnapshotsLoaded);
            await app.StopAsync();
        }
        finally
        {
            Directory.Delete(logDir, recursive: true);
        }
    }

    /// <summary>
    /// Issue 15: asked right after it starts — before it has caught up with the metadata log and
    /// been unfenced, when it lists no broker — a node holds Metadata and DescribeCluster until it
    /// lists one, and names as controller a broker of that same answer (not itself unlisted).
    /// </summary>
    [Fact]
    public async Task A_starting_node_answers_with_a_controller_it_lists()
    {
        (TestCluster started, string clusterId, string voters) = await StartControllerAsync();
        await using TestCluster cluster = started;
        string logDir = NewLogDir(clusterId, NodeId);
        int port = FreePort();
        try
        {
            await using WebApplication app = BuildNode(NodeId, port, FreePort(), logDir, voters, clusterId);
            await app.StartAsync();
            await using KafkaConnection connection = await KafkaConnection.ConnectAsync("127.0.0.1", port);
            MetadataResponse metadata = await connection.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, version: 1);
            Assert.Equal([NodeId], metadata.Brokers.Select(b => b.NodeId));
            Assert.Equal(NodeId, metadata.ControllerId);

            DescribeClusterResponse described = await connection.SendAsync<DescribeClusterRequest, DescribeClusterResponse>(new DescribeClusterRequest());
            Assert.Equal([NodeId], described.Brokers.Select(b => b.BrokerId));
            Assert.Equal(NodeId, described.ControllerId);
            await app.StopAsync();
        }
        finally
        {
            Directory.Delete(logDir, recursive: true);
        }
    }

    /// <summary>
    /// A node that cannot reach any controller never lists a broker: it answers Metadata after
    /// holding it <see cref="ClusterView.MaxWaitForBroker"/>, with no brokers and controller -1.
    /// </summary>
    [Fact]
    public async Task A_node_without_metadata_answers_no_brokers_and_controller_minus_one_after_waiting()
    {
        string clusterId = KafkaUuid.NewRandom().ToString();
        string logDir = NewLogDir(clusterId, NodeId);
        int port = FreePort();
        try
        {
            await using WebApplication app = BuildNode(NodeId, port, FreePort(), logDir, $"1@127.0.0.1:{FreePort()}", clusterId);
            await app.StartAsync();
            await using KafkaConnection connection = await KafkaConnection.ConnectAsync("127.0.0.1", port);
            var elapsed = System.Diagnostics.Stopwatch.StartNew();
            MetadataResponse metadata = await connection.SendAsync<MetadataRequest, MetadataResponse>(
                new MetadataRequest { Topics = [] }, version: 1, TimeSpan.FromSeconds(30));
            // The node's timer and this stopwatch read different clocks: a few ms early is still "waited".
            Assert.True(elapsed.Elapsed >= ClusterView.MaxWaitForBroker - TimeSpan.FromMilliseconds(50), $"answered after {elapsed.Elapsed}, before {ClusterView.MaxWaitForBroker}");
            Assert.Empty(metadata.Brokers);
            Assert.Equal(-1, metadata.ControllerId);
            await app.StopAsync();
        }
        finally
        {
            Directory.Delete(logDir, recursive: true);
        }
    }

    [Fact]
    public async Task InitProducerId_hands_out_unique_ids_from_controller_blocks_on_every_node_and_refuses_transactions()
    {
        (TestCluster started, string clusterId, string voters) = await StartControllerAsync();
        await using TestCluster cluster = started;
        string firstDir = NewLogDir(clusterId, NodeId);
        string secondDir = NewLogDir(clusterId, NodeId + 1);
        int firstPort = FreePort();
        int secondPort = FreePort();
        try
        {
            await using WebApplication first = BuildNode(NodeId, firstPort, FreePort(), firstDir, voters, clusterId);
            await using WebApplication second = BuildNode(NodeId + 1, secondPort, FreePort(), secondDir, voters, clusterId);
            await first.StartAsync();
            await second.StartAsync();
            await first.Services.GetRequiredService<NodeLifecycleManager>().Unfenced.WaitAsync(TimeSpan.FromSeconds(30));
            await second.Services.GetRequiredService<NodeLifecycleManager>().Unfenced.WaitAsync(TimeSpan.FromSeconds(30));

            await using KafkaConnection toFirst = await KafkaConnection.ConnectAsync("127.0.0.1", firstPort);
            await using KafkaConnection toSecond = await KafkaConnection.ConnectAsync("127.0.0.1", secondPort);
            ApiVersionsResponse versions = await toFirst.SendAsync<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest(), version: 3);
            ApiVersionsResponse.ApiVersion init = Assert.Single(versions.ApiKeys, k => k.ApiKey == ApiKeys.InitProducerId);
            Assert.Equal((0, 5), (init.MinVersion, init.MaxVersion));

            // More ids than one block (1,000): the node fetches the next block before the first runs out.
            var ids = new List<long>();
            for (int i = 0; i < 1_100; i++)
            {
                InitProducerIdResponse r = await toFirst.SendAsync<InitProducerIdRequest, InitProducerIdResponse>(
                    new InitProducerIdRequest { TransactionalId = null, TransactionTimeoutMs = 60_000 }, version: (short)(i % 6));
                Assert.Equal((short)ErrorCode.None, r.ErrorCode);
                Assert.Equal(0, r.ProducerEpoch);
                ids.Add(r.ProducerId);
            }

            Assert.Equal(ids.Count, ids.Distinct().Count());
            Assert.Equal(ids.Order(), ids);
            Assert.Equal(2, first.Services.GetRequiredService<ProducerIdManager>().BlocksReceived);

            // A producer that asks again with its id and epoch (v3+, KIP-360) gets a new id, as from Kafka.
            InitProducerIdResponse again = await toFirst.SendAsync<InitProducerIdRequest, InitProducerIdResponse>(
                new InitProducerIdRequest { TransactionalId = null, ProducerId = ids[^1], ProducerEpoch = 0 }, version: 4);
            Assert.Equal((short)ErrorCode.None, again.ErrorCode);
            Assert.True(again.ProducerId > ids[^1]);

            // The other node's ids come from its own block: no id is given twice in the cluster.
            InitProducerIdResponse other = await toSecond.SendAsync<InitProducerIdRequest, InitProducerIdResponse>(new InitProducerIdRequest { TransactionalId = null }, version: 4);
            Assert.Equal((short)ErrorCode.None, other.ErrorCode);
            Assert.DoesNotContain(other.ProducerId, ids);
            Assert.True(other.ProducerId >= 2_000, $"node {NodeId + 1} got id {other.ProducerId} from a block node {NodeId} holds");

            // No transaction coordinator here: transactional producers get a clear, retriable refusal.
            InitProducerIdResponse transactional = await toFirst.SendAsync<InitProducerIdRequest, InitProducerIdResponse>(
                new InitProducerIdRequest { TransactionalId = "tx-1", TransactionTimeoutMs = 60_000 }, version: 4);
            Assert.Equal((short)ErrorCode.CoordinatorNotAvailable, transactional.ErrorCode);
            Assert.Equal(-1, transactional.ProducerId);
            InitProducerIdResponse empty = await toFirst.SendAsync<InitProducerIdRequest, InitProducerIdResponse>(new InitProducerIdRequest { TransactionalId = "" }, version: 4);
            Assert.Equal((short)ErrorCode.InvalidRequest, empty.ErrorCode);

            await second.StopAsync();
            await first.StopAsync();
        }
        finally
        {
            Directory.Delete(firstDir, recursive: true);
            Directory.Delete(secondDir, recursive: true);
        }
    }

    /// <summary>One controller process (the quorum) with <paramref name="configs"/>: the cluster, its id and controller.quorum.voters.</summary>
    private static async Task<(TestCluster Cluster, string ClusterId, string Voters)> StartControllerAsync(params (string Key, string Value)[] configs)
    {
        TestCluster cluster = await TestCluster.StartAsync(new ClusterSpec(KafkaTopology.Primary)
        {
            Controllers = 1,
            Brokers = 0,
            Coordinators = 0,
            ControllerConfig = configs.ToDictionary(c => c.Key, c => c.Value),
        });
        Resource controller = cluster.Node("controller-1").Resource;
        return (cluster, controller.ClusterId!, $"1@{controller.GetEndpoint(KafkaTopology.ControllerListener)!.Address}");
    }

    /// <summary>A fresh log dir formatted for <paramref name="nodeId"/> of <paramref name="clusterId"/> (meta.properties), as the launcher formats one.</summary>
    private static string NewLogDir(string clusterId, int nodeId)
    {
        string dir = Path.Combine(Path.GetTempPath(), "aspire-node-test-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        new MetaProperties(1, clusterId, nodeId, null).Write(dir);
        return dir;
    }

    private static async Task PollAsync(Func<bool> condition, TimeSpan timeout, Func<string> state)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (!condition())
        {
            if (deadline.IsCancellationRequested)
            {
                Assert.Fail($"not reached within {timeout.TotalSeconds} s: {state()}");
            }

            await Task.Delay(20, CancellationToken.None); // polling interval of a deadline-bounded wait
        }
    }

    private static WebApplication BuildNode(int nodeId, int port, int httpPort, string logDir, string voters, string clusterId, params string[] overrides)
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder();
        builder.AddServiceDefaults(o =>
        {
            o.ServiceName = "broker";
            o.Config = NodeConfig.Create();
            o.ExitOnConfigError = false;
            o.Args =
            [
                "--override", $"node.id={nodeId}",
                "--override", $"listeners=PLAINTEXT://127.0.0.1:{port}",
                "--override", $"http.listener=127.0.0.1:{httpPort}",
                "--override", $"log.dirs={logDir}",
                "--override", $"controller.quorum.voters={voters}",
                "--override", "broker.heartbeat.interval.ms=500",
                .. overrides.SelectMany(o => new[] { "--override", o }),
            ];
        });
        NodeSettings settings = builder.AddClusterNode(NodeRole.Broker);
        Assert.Equal(clusterId, settings.ClusterId);
        WebApplication app = builder.Build();
        app.MapDefaultEndpoints();
        return app;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
