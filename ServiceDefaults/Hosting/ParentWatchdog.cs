using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.ServiceDefaults.Hosting;

/// <summary>
/// Ends this process when the launcher that started it dies, even by kill -9. The launcher
/// (libs/Hosting) sets <see cref="EnvironmentVariable"/>=stdin and keeps the write end of a
/// pipe on our standard input; the kernel closes it when the launcher dies, so a read of stdin
/// returns end-of-file: we stop gracefully, and kill ourselves if the drain takes longer than
/// the shutdown timeout. Off unless that variable is set (stdin is often /dev/null otherwise).
/// </summary>
internal sealed partial class ParentWatchdog : IHostedService
{
    public const string EnvironmentVariable = "ASPIRE_KAFKA_EXIT_WITH_PARENT";

    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger<ParentWatchdog> _logger;
    private readonly TimeSpan _shutdownTimeout;

    public ParentWatchdog(IHostApplicationLifetime lifetime, ILogger<ParentWatchdog> logger, TimeSpan shutdownTimeout)
    {
        _lifetime = lifetime;
        _logger = logger;
        _shutdownTimeout = shutdownTimeout;
    }

    public static bool IsEnabled => Environment.GetEnvironmentVariable(EnvironmentVariable) == "stdin";

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var thread = new Thread(WatchStandardInput) { IsBackground = true, Name = "parent watchdog" };
        thread.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void WatchStandardInput()
    {
        try
        {
            using Stream stdin = Console.OpenStandardInput();
            byte[] buffer = new byte[64];
            while (stdin.Read(buffer) > 0)
            {
                // The launcher never writes; anything read is ignored.
            }
        }
        catch (IOException)
        {
        }

        LogParentGone();
        var backstop = new Thread(() =>
        {
            Thread.Sleep(_shutdownTimeout + TimeSpan.FromSeconds(2));
            Process.GetCurrentProcess().Kill();
        }) { IsBackground = true, Name = "parent watchdog backstop" };
        backstop.Start();
        _lifetime.StopApplication();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The launcher that started this process is gone (standard input closed): stopping")]
    private partial void LogParentGone();
}
