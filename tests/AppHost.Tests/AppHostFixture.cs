using System.Diagnostics;
using System.Security.Cryptography;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Kafka.Topology;
using Microsoft.Extensions.DependencyInjection;

namespace Aspire.Kafka.AppHost.Tests;

/// <summary>
/// The real AppHost (AppHost/Program.cs, the default topology: primary and backup clusters)
/// started once for the collection with Aspire.Hosting.Testing, dashboard on, in a fresh data
/// directory; its browser token and telemetry API key are the fixture's.
/// </summary>
public sealed class AppHostFixture : IAsyncLifetime
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(4);

    private readonly string _data = Path.Combine(Path.GetTempPath(), "aspire-kafka-apphost-" + Guid.NewGuid().ToString("N")[..8]);

    public DistributedApplication App { get; private set; } = null!;

    public string BrowserToken { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public string ApiKey { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>The default topology's names, ids and fixed broker ports (its free ports are the AppHost's own: ask <see cref="App"/>'s endpoints).</summary>
    public KafkaTopology Topology { get; } = KafkaTopology.Default();

    /// <summary>The dashboard's address (the test host picks its port; `dotnet run` uses launchSettings.json's 18888).</summary>
    public string DashboardUrl => App.GetEndpoint("aspire-dashboard", "http").ToString().TrimEnd('/');

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(StartTimeout);
        // The AppHost runs in this process: the variable it takes the dashboard's login token from.
        Environment.SetEnvironmentVariable("ASPIRE_DASHBOARD_FRONTEND_BROWSERTOKEN", BrowserToken);
        IDistributedApplicationTestingBuilder builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Aspire_Kafka_AppHost>(
            ["--data-dir", _data, $"--AppHost:DashboardApiKey={ApiKey}"],
            (options, _) =>
            {
                options.DisableDashboard = false;
                options.AllowUnsecuredTransport = true;
            },
            timeout.Token);
        App = await builder.BuildAsync(timeout.Token);
        ResourceLoggerService logs = App.Services.GetRequiredService<ResourceLoggerService>();
        foreach (NodeSpec node in Topology.Nodes)
        {
            _ = KeepTailAsync(logs, node.Name);
        }

        try
        {
            await App.StartAsync(timeout.Token);
            await Task.WhenAll(Topology.Nodes.Select(n => App.ResourceNotifications.WaitForResourceHealthyAsync(n.Name, timeout.Token)));
        }
        catch (Exception e) when (e is OperationCanceledException or DistributedApplicationException)
        {
            throw new InvalidOperationException($"The AppHost did not become healthy: {e.Message}\n{Tails()}", e);
        }
    }

    private readonly Dictionary<string, Queue<string>> _tails = [];

    /// <summary>The last lines of every node's console log (for failure messages).</summary>
    public string Tails()
    {
        lock (_tails)
        {
            return string.Join('\n', _tails.Select(t => $"--- {t.Key} ---\n{string.Join('\n', t.Value)}"));
        }
    }

    private async Task KeepTailAsync(ResourceLoggerService logs, string resource)
    {
        await foreach (IReadOnlyList<LogLine> batch in logs.WatchAsync(resource))
        {
            lock (_tails)
            {
                if (!_tails.TryGetValue(resource, out Queue<string>? tail))
                {
                    _tails[resource] = tail = new Queue<string>();
                }

                foreach (LogLine line in batch)
                {
                    tail.Enqueue(line.Content);
                    if (tail.Count > 15)
                    {
                        tail.Dequeue();
                    }
                }
            }
        }
    }

    public IResource Resource(string name) =>
        App.Services.GetRequiredService<DistributedApplicationModel>().Resources.Single(r => r.Name == name);

    public Task<ExecuteCommandResult> CommandAsync(string resource, string command, CancellationToken cancellationToken) =>
        App.Services.GetRequiredService<ResourceCommandService>().ExecuteCommandAsync(Resource(resource), command, cancellationToken);

    public async Task DisposeAsync()
    {
        if (App is not null)
        {
            await App.StopAsync();
            await App.DisposeAsync();
        }

        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }

    /// <summary>Polls <paramref name="condition"/> every 200 ms until it holds or <paramref name="timeout"/> passes; then fails with <paramref name="state"/>.</summary>
    public static async Task Eventually(Func<Task<bool>> condition, TimeSpan timeout, Func<string> state)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > timeout)
            {
                Assert.Fail($"not reached within {timeout.TotalSeconds} s: {state()}");
            }

            await Task.Delay(200);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class AppHostCollection : ICollectionFixture<AppHostFixture>
{
    public const string Name = "apphost";
}
