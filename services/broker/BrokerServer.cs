using Aspire.Kafka.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Broker;

/// <summary>
/// Starts the storage and replication side of the broker with the host and shuts it down
/// cleanly. Registered before the node services, so it starts first (logs loaded before metadata
/// arrives) and its stopping hook runs after the node's controlled shutdown: replica fetchers stop
/// (and close their connections) only once leaderships have moved, as in Kafka; the logs close
/// last.
/// </summary>
internal sealed class BrokerServer(ReplicaManager replicaManager) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => replicaManager.StartupAsync(cancellationToken);

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => replicaManager.StopReplicationAsync();

    public Task StopAsync(CancellationToken cancellationToken) => replicaManager.ShutdownAsync();

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Storage log lines through Microsoft.Extensions.Logging.</summary>
internal sealed class StorageLoggerAdapter(ILogger logger) : IStorageLogger
{
    public void Log(StorageLogLevel level, string message, Exception? exception = null)
    {
        LogLevel mapped = level switch
        {
            StorageLogLevel.Debug => LogLevel.Debug,
            StorageLogLevel.Information => LogLevel.Information,
            StorageLogLevel.Warning => LogLevel.Warning,
            _ => LogLevel.Error,
        };
        logger.Log(mapped, exception, "{Message}", message);
    }
}
