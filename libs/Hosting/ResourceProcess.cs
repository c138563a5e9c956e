using System.Diagnostics;
using System.Globalization;
using Aspire.Kafka.Topology;

namespace Aspire.Kafka.Hosting;

/// <summary>The state of a resource's process.</summary>
public enum ResourceState
{
    NotStarted,
    Waiting,
    Starting,
    Healthy,
    Stopping,
    Exited,
    Failed,
}

/// <summary>
/// A handle on one running resource: its process id, endpoints and state, and the ways to
/// stop it (SIGTERM, then SIGKILL after the stop timeout), kill it (SIGKILL) and restart it.
/// </summary>
public sealed class ResourceProcess
{
    // A POSIX shell that runs "$@" as its child, forwards SIGTERM/SIGINT to it, and kills it when
    // its standard input (a pipe whose write end only the launcher holds) reaches end-of-file:
    // the kernel closes that pipe when the launcher dies, even by SIGKILL.
    internal const string WatchdogScript = """
        exec 3<&0 0</dev/null
        "$@" 3<&- &
        child=$!
        trap 'kill -TERM $child 2>/dev/null' TERM
        trap 'kill -INT $child 2>/dev/null' INT
        ( while read -r _ <&3; do :; done; kill -KILL $child 2>/dev/null ) &
        watcher=$!
        exec 3<&-
        while :; do
          wait $child
          rc=$?
          kill -0 $child 2>/dev/null || break
        done
        kill $watcher 2>/dev/null
        exit $rc
        """;

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };

    private readonly DistributedApplication _application;
    private readonly Queue<string> _tail = new();
    private readonly Lock _lock = new();
    private Process? _process;
    private Task _exited = Task.CompletedTask;
    private bool _exitExpected;
    private TaskCompletionSource _healthy = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal ResourceProcess(DistributedApplication application, Resource resource)
    {
        _application = application;
        Resource = resource;
    }

    public Resource Resource { get; }

    public string Name => Resource.Name;

    public ResourceState State { get; private set; } = ResourceState.NotStarted;

    /// <summary>The OS process id of the running process (the watchdog shell's for an executable), or -1.</summary>
    public int ProcessId { get; private set; } = -1;

    public int? ExitCode { get; private set; }

    public DateTimeOffset? StartedAt { get; private set; }

    public DateTimeOffset? HealthyAt { get; private set; }

    public int Restarts { get; private set; }

    /// <summary>The file or command the process runs (the built assembly of a project).</summary>
    internal string? Program { get; set; }

    /// <summary>The folder of the project (the working directory of a project's process).</summary>
    internal string? ProjectDirectory { get; set; }

    /// <summary>Completes when the resource is healthy (this start).</summary>
    public Task Healthy => _healthy.Task;

    /// <summary>The last lines the process wrote.</summary>
    public IReadOnlyList<string> Tail
    {
        get
        {
            lock (_lock)
            {
                return _tail.ToArray();
            }
        }
    }

    /// <summary>Kafka listener addresses of this resource by name.</summary>
    public string Address(string endpoint) => Resource.GetEndpoint(endpoint)?.Address
        ?? throw new InvalidOperationException($"Resource {Name} has no endpoint {endpoint}.");

    internal void MarkWaiting() => State = ResourceState.Waiting;

    internal void Start()
    {
        ProcessStartInfo info = CreateStartInfo();
        _exitExpected = false;
        _healthy = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ExitCode = null;
        HealthyAt = null;
        State = ResourceState.Starting;
        var process = new Process { StartInfo = info };
        process.Start();
        _process = process;
        ProcessId = process.Id;
        StartedAt = DateTimeOffset.UtcNow;
        _application.Sink.Line(Name, $"started (pid {ProcessId}): {Describe(info)}");
        Task stdout = PumpAsync(process.StandardOutput);
        Task stderr = PumpAsync(process.StandardError);
        _exited = WatchExitAsync(process, stdout, stderr);
    }

    /// <summary>Polls GET /health until it answers 200; fails when the process exits or the deadline passes.</summary>
    internal async Task WaitHealthyAsync(CancellationToken cancellationToken)
    {
        if (!Resource.HasHealthEndpoint)
        {
            MarkHealthy();
            return;
        }

        var url = new Uri($"http://{Resource.HttpEndpoint.Address}/health");
        DateTimeOffset deadline = DateTimeOffset.UtcNow + _application.Options.StartupTimeout;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_exited.IsCompleted)
            {
                throw new ResourceFailedException(this, $"{Name} exited with code {ExitCode} before it was healthy");
            }

            try
            {
                using HttpResponseMessage response = await Http.GetAsync(url, cancellationToken).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    MarkHealthy();
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }

            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new ResourceFailedException(this, $"{Name} did not answer 200 on {url} within {_application.Options.StartupTimeout.TotalSeconds:0} s");
            }

            await Task.WhenAny(_exited, Task.Delay(100, cancellationToken)).ConfigureAwait(false);
        }
    }

    private void MarkHealthy()
    {
        HealthyAt = DateTimeOffset.UtcNow;
        State = ResourceState.Healthy;
        _application.Sink.Line(Name, Resource.HasHealthEndpoint ? $"healthy (http://{Resource.HttpEndpoint.Address}/health)" : "running");
        _healthy.TrySetResult();
    }

    /// <summary>SIGTERM, then SIGKILL if the process has not exited after <paramref name="timeout"/> (default: the stop timeout).</summary>
    public async Task StopAsync(TimeSpan? timeout = null)
    {
        Process? process = _process;
        if (process is null || _exited.IsCompleted)
        {
            return;
        }

        _exitExpected = true;
        State = ResourceState.Stopping;
        UnixProcesses.Signal(process.Id, UnixProcesses.SigTerm);
        Task finished = await Task.WhenAny(_exited, Task.Delay(timeout ?? _application.Options.StopTimeout)).ConfigureAwait(false);
        if (finished != _exited)
        {
            _application.Sink.Line(Name, $"did not stop within {(timeout ?? _application.Options.StopTimeout).TotalSeconds:0.#} s: killing it");
            await KillAsync().ConfigureAwait(false);
        }

        await _exited.ConfigureAwait(false);
    }

    /// <summary>SIGKILL to the process and its descendants, as kill -9 would.</summary>
    public async Task KillAsync()
    {
        Process? process = _process;
        if (process is null || _exited.IsCompleted)
        {
            return;
        }

        _exitExpected = true;
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }

        try
        {
            // Also ends a watchdog shell's child should the kill have missed it.
            process.StandardInput.Close();
        }
        catch (IOException)
        {
        }

        await _exited.ConfigureAwait(false);
    }

    /// <summary>Stops (gracefully) and starts again, then waits until healthy.</summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        await StopAsync().ConfigureAwait(false);
        Restarts++;
        Start();
        await WaitHealthyAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Completes when the current process has exited.</summary>
    public Task WaitForExitAsync() => _exited;

    private async Task PumpAsync(StreamReader reader)
    {
        while (await reader.ReadLineAsync().ConfigureAwait(false) is string line)
        {
            lock (_lock)
            {
                _tail.Enqueue(line);
                while (_tail.Count > _application.Options.TailLines)
                {
                    _tail.Dequeue();
                }
            }

            _application.Sink.Line(Name, line);
        }
    }

    private async Task WatchExitAsync(Process process, Task stdout, Task stderr)
    {
        await process.WaitForExitAsync().ConfigureAwait(false);
        await Task.WhenAll(stdout, stderr).ConfigureAwait(false);
        ExitCode = process.ExitCode;
        if (_exitExpected || _application.IsStopping)
        {
            State = ResourceState.Exited;
            _application.Sink.Line(Name, $"stopped (exit code {ExitCode})");
            return;
        }

        State = ResourceState.Failed;
        _healthy.TrySetException(new ResourceFailedException(this, $"{Name} exited with code {ExitCode}"));
        _application.Sink.Line(Name, $"exited unexpectedly with code {ExitCode}; last lines:");
        foreach (string line in Tail)
        {
            _application.Sink.Line(Name, "  | " + line);
        }

        if (_application.Options.RestartOnFailure && HealthyAt is not null)
        {
            _ = _application.RestartAfterFailureAsync(this);
        }
    }

    private ProcessStartInfo CreateStartInfo()
    {
        ProcessStartInfo info;
        if (Resource.Kind == ResourceKind.Project)
        {
            info = new ProcessStartInfo(ProjectResolver.DotnetHost()) { WorkingDirectory = ProjectDirectory ?? _application.RootDirectory };
            info.ArgumentList.Add(Program!);
            info.Environment["ASPIRE_KAFKA_EXIT_WITH_PARENT"] = "stdin";
        }
        else
        {
            info = new ProcessStartInfo("/bin/sh") { WorkingDirectory = _application.RootDirectory };
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add(WatchdogScript);
            info.ArgumentList.Add("sh");
            info.ArgumentList.Add(Resource.Path);
        }

        foreach (string arg in Resource.Args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach ((string key, string value) in ConfigOverrides())
        {
            info.ArgumentList.Add("--override");
            info.ArgumentList.Add($"{key}={value}");
        }

        info.UseShellExecute = false;
        info.RedirectStandardInput = true;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.Environment.Remove("ASPNETCORE_URLS");
        info.Environment.Remove("ASPNETCORE_HTTP_PORTS");
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["OTEL_SERVICE_NAME"] = Name;
        foreach (EndpointReference endpoint in Resource.Endpoints)
        {
            info.Environment[$"{endpoint.Name.ToUpperInvariant()}_PORT"] = endpoint.Port.ToString(CultureInfo.InvariantCulture);
        }

        if (Resource.ClusterId is not null)
        {
            info.Environment["CLUSTER_ID"] = Resource.ClusterId;
        }

        foreach ((string key, string value) in Resource.Environment)
        {
            info.Environment[key] = value;
        }

        return info;
    }

    /// <summary>The <c>--override</c> pairs: endpoints, data directory and node id first, then the resource's own configuration (later wins).</summary>
    internal List<KeyValuePair<string, string>> ConfigOverrides()
    {
        var pairs = new List<KeyValuePair<string, string>>();
        if (Resource.Kind != ResourceKind.Project)
        {
            return pairs;
        }

        pairs.AddRange(NodeSpec.ServiceOverrides(
            Resource.GetEndpoint("http")?.Address,
            Resource.Endpoints.Where(e => e.IsKafkaListener).Select(l => (l.Name, l.Address)).ToList()));

        if (Resource.DataDirectory is not null && Resource.DataDirectoryKey is not null)
        {
            pairs.Add(new(Resource.DataDirectoryKey, Resource.DataDirectory));
        }

        if (Resource.NodeId is int nodeId)
        {
            pairs.Add(new("node.id", nodeId.ToString(CultureInfo.InvariantCulture)));
        }

        foreach ((string key, Func<string> value) in Resource.Config)
        {
            pairs.Add(new(key, value()));
        }

        return pairs;
    }

    private static string Describe(ProcessStartInfo info)
    {
        IEnumerable<string> args = info.ArgumentList.Count > 2 && info.ArgumentList[0] == "-c"
            ? info.ArgumentList.Skip(3)
            : info.ArgumentList;
        return string.Join(' ', args.Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"\"{a}\"" : a));
    }
}

/// <summary>A resource failed to start or become healthy; the message carries its last output lines.</summary>
public sealed class ResourceFailedException : Exception
{
    public ResourceFailedException(ResourceProcess resource, string reason)
        : base(reason + (resource.Tail.Count > 0 ? ". Last lines:\n  | " + string.Join("\n  | ", resource.Tail) : "."))
    {
        ResourceName = resource.Name;
    }

    public ResourceFailedException()
    {
        ResourceName = "";
    }

    public ResourceFailedException(string message) : base(message)
    {
        ResourceName = "";
    }

    public ResourceFailedException(string message, Exception innerException) : base(message, innerException)
    {
        ResourceName = "";
    }

    public string ResourceName { get; }
}
