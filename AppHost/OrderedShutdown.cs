using Aspire.Kafka.Topology;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.AppHost;

/// <summary>
/// Stops the nodes in the reverse of their start order when the AppHost stops (Ctrl+C): the
/// coordinators, then the brokers, then the controllers, each wave once the previous one has
/// exited. Left to itself the orchestrator stops every resource at once, so brokers asking the
/// controllers for a controlled shutdown find them gone and wait out their shutdown timeout.
/// Registered after Aspire's own services, so it runs before them.
/// </summary>
internal sealed class OrderedShutdown(
    KafkaTopology topology,
    DistributedApplicationModel model,
    ResourceCommandService commands,
    ResourceNotificationService notifications,
    ILogger<OrderedShutdown> logger) : IHostedService
{
    private static readonly string[] Stopped = [KnownResourceStates.Exited, KnownResourceStates.Finished, KnownResourceStates.FailedToStart];

    public static void Register(IDistributedApplicationBuilder builder, KafkaTopology topology)
    {
        builder.Services.AddSingleton(topology);
        builder.Services.AddHostedService<OrderedShutdown>();
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (NodeRole role in (NodeRole[])[NodeRole.Mirror, NodeRole.Coordinator, NodeRole.Broker, NodeRole.Controller])
        {
            List<NodeSpec> wave = topology.Nodes.Where(n => n.Role == role).ToList();
            logger.LogInformation("Stopping {Nodes}", string.Join(", ", wave.Select(n => n.Name)));
            await Task.WhenAll(wave.Select(n => StopAsync(n.Name, cancellationToken))).ConfigureAwait(false);
        }
    }

    private async Task StopAsync(string name, CancellationToken cancellationToken)
    {
        if (!notifications.TryGetCurrentState(name, out ResourceEvent? state) || state.Snapshot.State?.Text != KnownResourceStates.Running)
        {
            return;
        }

        try
        {
            IResource resource = model.Resources.Single(r => r.Name == name);
            await commands.ExecuteCommandAsync(resource, KnownResourceCommands.StopCommand, cancellationToken).ConfigureAwait(false);
            await notifications.WaitForResourceAsync(name, Stopped, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The host's shutdown timeout: the orchestrator stops what is left.
        }
    }
}
