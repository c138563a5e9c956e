using System.Net;
using System.Net.Sockets;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Client.Tests;

public sealed class NetworkClientTests
{
    [Fact]
    public async Task Reconnect_backoff_doubles_from_reconnect_backoff_ms_to_the_max_with_jitter()
    {
        var time = new ManualTimeProvider();
        // Accepts and drops every connection: each attempt fails during ApiVersions.
        await using var server = new TestKafkaServer(closeOnAccept: true);
        var options = new KafkaClientOptions { ReconnectBackoff = TimeSpan.FromMilliseconds(50), ReconnectBackoffMax = TimeSpan.FromMilliseconds(1000) };
        await using var network = new NetworkClient(options, time, random: new Random(7));
        KafkaNode node = server.Node();

        // First attempt: immediately.
        await Assert.ThrowsAsync<KafkaDisconnectedException>(() => network.GetConnectionAsync(node));
        Assert.Equal(1, server.Accepted);

        (double Min, double Max)[] bounds = [(40, 60), (80, 120), (160, 240), (320, 480), (640, 960), (800, 1000), (800, 1000)];
        for (int attempt = 0; attempt < bounds.Length; attempt++)
        {
            TimeSpan delay = network.ConnectionDelay(node);
            Assert.InRange(delay.TotalMilliseconds, bounds[attempt].Min, bounds[attempt].Max);
            Assert.Equal(attempt + 1, network.FailedAttempts(node));

            Task<KafkaConnection> next = network.GetConnectionAsync(node);
            time.Advance(delay - TimeSpan.FromMilliseconds(1));
            Assert.False(next.IsCompleted);
            Assert.Equal(attempt + 1, server.Accepted); // still waiting out the backoff

            time.Advance(TimeSpan.FromMilliseconds(1));
            await Poll.FailureOf<KafkaNetworkException>(next);
            Assert.Equal(attempt + 2, server.Accepted);
        }
    }

    [Fact]
    public async Task A_successful_connect_resets_the_backoff_and_callers_share_one_attempt()
    {
        await using var server = new TestKafkaServer();
        await using var network = new NetworkClient(new KafkaClientOptions());
        KafkaNode node = server.Node();

        Task<KafkaConnection>[] callers = Enumerable.Range(0, 10).Select(_ => network.GetConnectionAsync(node)).ToArray();
        KafkaConnection[] connections = await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.All(connections, c => Assert.Same(connections[0], c));
        Assert.Equal(1, server.Accepted);
        Assert.Equal(0, network.FailedAttempts(node));
        Assert.True(network.IsConnected(node));

        ApiVersionsResponse raw = await network.SendAsync<ApiVersionsRequest, ApiVersionsResponse>(node, new ApiVersionsRequest(), version: 0);
        Assert.NotEmpty(raw.ApiKeys);
    }

    [Fact]
    public async Task A_lost_connection_is_replaced_after_the_backoff()
    {
        await using var server = new TestKafkaServer();
        await using var network = new NetworkClient(new KafkaClientOptions());
        KafkaNode node = server.Node();
        KafkaConnection first = await network.GetConnectionAsync(node);

        foreach (TestRequest r in server.Received)
        {
            r.Connection.Abort();
        }

        await first.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(network.IsConnected(node));
        KafkaConnection second = await network.GetConnectionAsync(node).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotSame(first, second);
        Assert.True(second.IsConnected);
        Assert.Equal(2, server.Accepted);
        Assert.Equal(0, network.FailedAttempts(node));
    }

    [Fact]
    public async Task After_a_request_timeout_the_pool_reconnects_once_the_backoff_has_passed()
    {
        var time = new ManualTimeProvider();
        bool answer = false;
        await using var server = new TestKafkaServer(async request =>
        {
            if (request.ApiKey != ApiKeys.Metadata)
            {
                return false;
            }

            if (Volatile.Read(ref answer))
            {
                await request.RespondAsync(new MetadataResponse { ClusterId = "answered" });
            }

            return true;
        });
        await using var network = new NetworkClient(new KafkaClientOptions(), time, random: new Random(1));
        KafkaNode node = server.Node();

        Task<MetadataResponse> lost = network.SendAsync<MetadataRequest, MetadataResponse>(node, new MetadataRequest());
        await Poll.UntilAsync(() => server.ReceivedOf(ApiKeys.Metadata).Any(), "the request is written");
        time.Advance(TimeSpan.FromSeconds(30));
        await Poll.FailureOf<KafkaRequestTimeoutException>(lost);
        Assert.False(network.IsConnected(node));

        Volatile.Write(ref answer, true);
        TimeSpan delay = network.ConnectionDelay(node);
        Assert.InRange(delay.TotalMilliseconds, 40, 60); // a lost connection counts as a failure
        Task<MetadataResponse> retried = network.SendAsync<MetadataRequest, MetadataResponse>(node, new MetadataRequest());
        Assert.False(retried.IsCompleted);
        time.Advance(delay);
        Assert.Equal("answered", (await retried.WaitAsync(TimeSpan.FromSeconds(10))).ClusterId);
        Assert.Equal(2, server.Accepted);
    }

    [Fact]
    public async Task Connection_refused_is_a_retriable_connection_failure()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // nothing listens there now

        await using var network = new NetworkClient(new KafkaClientOptions());
        var e = await Assert.ThrowsAsync<KafkaConnectionFailedException>(() => network.GetConnectionAsync(new KafkaNode(3, "127.0.0.1", port)));
        Assert.Equal(SocketError.ConnectionRefused, e.SocketError);
        Assert.True(e.IsRetriable);
        Assert.Contains($"127.0.0.1:{port}", e.Message);
        Assert.IsAssignableFrom<KafkaNetworkException>(e);
    }

    [Fact]
    public async Task Our_connection_negotiates_with_the_services_real_dispatcher()
    {
        // libs/Server's ApiVersions handler (KIP-511 validation of client software name/version).
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton<Server.IKafkaApi, Server.ApiVersionsApi>(services);
        Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton(services,
            sp => new Server.KafkaApiDispatcher(Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetServices<Server.IKafkaApi>(sp),
                Microsoft.Extensions.Logging.Abstractions.NullLogger<Server.KafkaApiDispatcher>.Instance));
        var dispatcher = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Server.KafkaApiDispatcher>(
            Microsoft.Extensions.DependencyInjection.ServiceCollectionContainerBuilderExtensions.BuildServiceProvider(services));
        var context = new Aspire.Kafka.Server.KafkaConnectionContext("c", "PLAINTEXT", null, null);

        await using var server = new TestKafkaServer(async request =>
        {
            using var response = new KafkaWriter();
            int size = Protocol.Framing.KafkaFrame.BeginFrame(response);
            Assert.True(await dispatcher.HandleAsync(context, request.Frame, response, default));
            Protocol.Framing.KafkaFrame.EndFrame(response, size);
            await request.Connection.WriteRawAsync(response.ToArray());
            return true;
        });
        await using KafkaConnection connection = await KafkaConnection.ConnectAsync("127.0.0.1", server.Port);

        Assert.Equal(new short[] { 3 }, server.ReceivedOf(ApiKeys.ApiVersions).Select(r => r.ApiVersion).ToArray());
        Assert.Equal(new VersionRange(0, 4), connection.ApiVersions!.Usable[ApiKeys.ApiVersions]);
        Assert.Single(connection.ApiVersions.Usable);
    }
}
