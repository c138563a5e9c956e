using Aspire.Kafka.Client;
using Aspire.Kafka.Topology;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Aspire.Kafka.AppHost;

/// <summary>
/// Prints the one line that says the system is ready: once every resource is healthy and every
/// broker answers Metadata listing all the brokers of its cluster, with the bootstrap addresses
/// and the dashboard's address (with its login token).
/// </summary>
internal static class ReadyReporter
{
    public const string Prefix = "[apphost] ready: ";

    public static void Register(IDistributedApplicationBuilder builder, KafkaTopology topology, string dashboard)
    {
        builder.Eventing.Subscribe<AfterResourcesCreatedEvent>((e, cancellationToken) =>
        {
            // In the background: the event's handlers run before the resources start.
            IHostApplicationLifetime lifetime = e.Services.GetRequiredService<IHostApplicationLifetime>();
            ResourceNotificationService notifications = e.Services.GetRequiredService<ResourceNotificationService>();
            _ = ReportAsync(topology, dashboard, notifications, lifetime.ApplicationStopping);
            return Task.CompletedTask;
        });
    }

    private static async Task ReportAsync(KafkaTopology topology, string dashboard, ResourceNotificationService notifications, CancellationToken stopping)
    {
        try
        {
            await Task.WhenAll(topology.Nodes.Select(n => notifications.WaitForResourceHealthyAsync(n.Name, stopping))).ConfigureAwait(false);
            await Task.WhenAll(topology.Nodes.Where(n => n.Role == NodeRole.Broker)
                .Select(b => WaitListsAllBrokersAsync(topology, b, stopping))).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        string clusters = string.Join(" | ", topology.Clusters.Select(c => $"{c.Name} bootstrap {topology.BootstrapServers(c.Name)}"));
        Console.WriteLine($"{Prefix}{topology.Nodes.Count} nodes healthy; {clusters}; dashboard {dashboard}");
    }

    /// <summary>Polls <paramref name="broker"/> with Metadata until it lists every broker of its cluster.</summary>
    private static async Task WaitListsAllBrokersAsync(KafkaTopology topology, NodeSpec broker, CancellationToken stopping)
    {
        HashSet<int> expected = topology.Brokers(broker.Cluster).Select(b => b.NodeId).ToHashSet();
        string address = broker.Listener(KafkaTopology.ClientListener).Address;
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
        do
        {
            try
            {
                await using var client = new KafkaClient(new KafkaClientOptions { BootstrapServers = [address], ClientId = "apphost-ready", Retries = 0 });
                ClusterMetadata metadata = await client.RefreshMetadataAsync([], stopping).ConfigureAwait(false);
                if (expected.IsSubsetOf(metadata.Brokers.Keys))
                {
                    return;
                }
            }
            catch (Exception e) when (e is IOException or TimeoutException or KafkaClientException or System.Net.Sockets.SocketException)
            {
                // Not answering yet: poll again.
            }
        }
        while (await poll.WaitForNextTickAsync(stopping).ConfigureAwait(false));
    }
}
