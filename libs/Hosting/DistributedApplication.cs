using System.Runtime.InteropServices;
using Aspire.Kafka.Topology;

namespace Aspire.Kafka.Hosting;

/// <summary>
/// Runs the resources of a <see cref="DistributedApplicationBuilder"/>: formats their data
/// directories, builds their projects, starts each as its own process once the resources it
/// waits for are healthy, prints one <c>ready</c> line with the bootstrap addresses, and on
/// Ctrl+C/SIGTERM stops them all (dependents first; SIGTERM, then SIGKILL after the stop timeout).
/// </summary>
public sealed class DistributedApplication : IAsyncDisposable
{
    private const string Launcher = "apphost";

    private readonly List<ResourceProcess> _processes;
    private readonly CancellationTokenSource _stopping = new();
    private int _stopped;

    internal DistributedApplication(DistributedApplicationOptions options, List<Resource> resources)
    {
        Options = options;
        Sink = new ConsoleSink(options.Output);
        RootDirectory = options.ResolveRoot();
        _processes = resources.Select(r => new ResourceProcess(this, r)).ToList();
    }

    public DistributedApplicationOptions Options { get; }

    public IReadOnlyList<ResourceProcess> Resources => _processes;

    public ResourceProcess this[string name] => _processes.FirstOrDefault(p => p.Name == name)
        ?? throw new KeyNotFoundException($"No resource named {name}.");

    internal ConsoleSink Sink { get; }

    internal string RootDirectory { get; }

    internal bool IsStopping => _stopping.IsCancellationRequested;

    /// <summary>The bootstrap servers (host:port,…) of a cluster: its resources' bootstrap listeners.</summary>
    public string BootstrapServers(string cluster) => string.Join(',', _processes
        .Where(p => p.Resource.Cluster == cluster)
        .SelectMany(p => p.Resource.Endpoints.Where(e => e.IsBootstrap))
        .Select(e => e.Address));

    /// <summary>Starts everything and returns once every resource is healthy (or throws, after stopping what started).</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        try
        {
            PrepareDataDirectories();
            await PrepareProjectsAsync(linked.Token).ConfigureAwait(false);
            var started = new Dictionary<ResourceProcess, Task>();
            foreach (ResourceProcess process in Ordered())
            {
                started[process] = StartWhenReadyAsync(process, started, linked.Token);
            }

            await Task.WhenAll(started.Values).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            if (!IsStopping)
            {
                Sink.Line(Launcher, $"start failed: {e.Message}");
            }

            await StopAsync().ConfigureAwait(false);
            throw;
        }

        Sink.Line(Launcher, ReadyLine());
    }

    /// <summary>Starts, waits for Ctrl+C/SIGTERM (or <paramref name="cancellationToken"/>), stops. Returns the process exit code.</summary>
    public async Task<int> RunAsync(CancellationToken cancellationToken = default)
    {
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int signals = 0;
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            if (Interlocked.Increment(ref signals) == 1)
            {
                Sink.Line(Launcher, $"{context.Signal} received: stopping every resource (again to kill them now)");
                stop.TrySetResult();
                _stopping.Cancel();
            }
            else
            {
                foreach (ResourceProcess process in _processes)
                {
                    _ = process.KillAsync();
                }
            }
        }

        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using CancellationTokenRegistration registration = cancellationToken.Register(() => stop.TrySetResult());
        int exitCode = 0;
        try
        {
            await StartAsync(cancellationToken).ConfigureAwait(false);
            await stop.Task.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested || cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is ResourceFailedException or InvalidOperationException or InvalidDataException or IOException)
        {
            exitCode = 1;
        }

        await StopAsync().ConfigureAwait(false);
        return exitCode;
    }

    /// <summary>Stops every resource, dependents before what they depend on.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            await Task.WhenAll(_processes.Select(p => p.WaitForExitAsync())).ConfigureAwait(false);
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        var stopped = new Dictionary<ResourceProcess, Task>();
        foreach (ResourceProcess process in Ordered().Reverse())
        {
            List<Task> dependents = _processes
                .Where(p => p.Resource.WaitsFor.Contains(process.Resource))
                .Select(p => stopped[p])
                .ToList();
            stopped[process] = StopAfterAsync(process, dependents);
        }

        await Task.WhenAll(stopped.Values).ConfigureAwait(false);
        Sink.Line(Launcher, "stopped");
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    internal async Task RestartAfterFailureAsync(ResourceProcess process)
    {
        // A short pause so a resource that dies at once does not spin.
        await Task.Delay(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        if (IsStopping)
        {
            return;
        }

        Sink.Line(process.Name, "restarting (--restart)");
        try
        {
            await process.RestartAsync(_stopping.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ResourceFailedException or OperationCanceledException)
        {
            Sink.Line(process.Name, $"restart failed: {e.Message}");
        }
    }

    private static async Task StopAfterAsync(ResourceProcess process, List<Task> dependents)
    {
        await Task.WhenAll(dependents).ConfigureAwait(false);
        await process.StopAsync().ConfigureAwait(false);
    }

    private async Task StartWhenReadyAsync(ResourceProcess process, Dictionary<ResourceProcess, Task> started, CancellationToken cancellationToken)
    {
        List<ResourceProcess> dependencies = process.Resource.WaitsFor.Select(r => _processes.First(p => p.Resource == r)).ToList();
        if (dependencies.Count > 0)
        {
            process.MarkWaiting();
            Sink.Line(process.Name, $"waiting for {string.Join(", ", dependencies.Select(d => d.Name))} to be healthy");
            await Task.WhenAll(dependencies.Select(d => started[d])).ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
        process.Start();
        await process.WaitHealthyAsync(cancellationToken).ConfigureAwait(false);
    }

    // Dependencies before dependents (Build() has refused cycles).
    private IEnumerable<ResourceProcess> Ordered()
    {
        var done = new HashSet<Resource>();
        var order = new List<ResourceProcess>();
        void Visit(Resource resource)
        {
            if (!done.Add(resource))
            {
                return;
            }

            foreach (Resource dependency in resource.WaitsFor)
            {
                Visit(dependency);
            }

            order.Add(_processes.First(p => p.Resource == resource));
        }

        foreach (ResourceProcess process in _processes)
        {
            Visit(process.Resource);
        }

        return order;
    }

    private void PrepareDataDirectories()
    {
        string root = Path.GetFullPath(Options.DataDirectory);
        List<ResourceProcess> nodes = _processes.Where(p => p.Resource.DataDirectoryKey is not null).ToList();
        IReadOnlyDictionary<string, string> clusterIds = DataDirectories.Prepare(
            root, nodes.Select(p => (p.Name, p.Resource.Cluster!, p.Resource.NodeId!.Value)), Options.Clean, Sink.Line);
        foreach (ResourceProcess process in nodes)
        {
            process.Resource.DataDirectory = Path.Combine(root, process.Name);
            process.Resource.ClusterId = clusterIds[process.Resource.Cluster!];
        }
    }

    private async Task PrepareProjectsAsync(CancellationToken cancellationToken)
    {
        var programs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (ResourceProcess process in _processes.Where(p => p.Resource.Kind == ResourceKind.Project))
        {
            string project = Path.GetFullPath(Path.Combine(RootDirectory, process.Resource.Path));
            if (!File.Exists(project))
            {
                throw new FileNotFoundException($"Project {project} of resource {process.Name} does not exist.");
            }

            if (!programs.TryGetValue(project, out string? program))
            {
                if (Options.BuildProjects)
                {
                    Sink.Line(Launcher, $"building {Path.GetRelativePath(RootDirectory, project)} ({Options.Configuration})");
                    await ProjectResolver.BuildAsync(project, Options.Configuration, line => Sink.Line(Launcher, line), cancellationToken).ConfigureAwait(false);
                }

                programs[project] = program = await ProjectResolver.TargetPathAsync(project, Options.Configuration, cancellationToken).ConfigureAwait(false);
            }

            process.Program = program;
            process.ProjectDirectory = Path.GetDirectoryName(project);
        }
    }

    private string ReadyLine()
    {
        List<string> clusters = _processes.Select(p => p.Resource.Cluster).OfType<string>().Distinct().ToList();
        IEnumerable<string> bootstraps = clusters
            .Select(c => (Cluster: c, Servers: BootstrapServers(c)))
            .Where(x => x.Servers.Length > 0)
            .Select(x => $"{x.Cluster} bootstrap {x.Servers}");
        string text = string.Join(" | ", bootstraps);
        return $"ready: {_processes.Count} resources healthy" + (text.Length > 0 ? $"; {text}" : "");
    }
}
