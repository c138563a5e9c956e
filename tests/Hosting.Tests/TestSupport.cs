using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Aspire.Kafka.Testing;

/// <summary>Paths and helpers shared by the hosting and service-defaults tests.</summary>
internal static class TestSupport
{
    public const string Configuration =
#if DEBUG
        "Debug";
#else
        "Release";
#endif

    public const string EchoProject = "tests/TestServices/EchoService/Aspire.Kafka.TestServices.EchoService.csproj";

    public static string RepositoryRoot { get; } = FindRoot();

    public static string Built(string folder, string assembly) =>
        Path.Combine(RepositoryRoot, folder, "bin", Configuration, "net10.0", assembly + ".dll");

    public static string EchoDll => Built("tests/TestServices/EchoService", "Aspire.Kafka.TestServices.EchoService");

    public static string Dotnet => Environment.ProcessPath is string p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";

    /// <summary>Polls <paramref name="condition"/> every 50 ms until it holds or the deadline passes (then fails with <paramref name="what"/>).</summary>
    public static async Task Eventually(Func<bool> condition, TimeSpan timeout, string what)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out after {timeout.TotalSeconds:0} s waiting for: {what}");
            }

            await Task.Delay(50);
        }
    }

    public static async Task Eventually(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out after {timeout.TotalSeconds:0} s waiting for: {what}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>True while /proc/PID exists and is not a zombie.</summary>
    public static bool IsAlive(int pid)
    {
        string stat = $"/proc/{pid}/stat";
        try
        {
            string text = File.ReadAllText(stat);
            int close = text.LastIndexOf(')');
            return close > 0 && close + 2 < text.Length && text[close + 2] != 'Z' && text[close + 2] != 'X';
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return true;
        }
    }

    /// <summary>Every descendant of <paramref name="pid"/>, from /proc.</summary>
    public static List<int> Descendants(int pid) => Aspire.Kafka.Topology.UnixProcesses.Tree(pid).Skip(1).ToList();

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static string TempDirectory(string prefix)
    {
        string path = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)]);
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>Which tool is missing, with the install hint (a missing tool fails the test).</summary>
    public static string RequireTool(string name, string package)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        Assert.Fail($"{name} is not installed: install it with `apt-get install -y {package}` (test.sh does this on a fresh machine).");
        return name;
    }

    private static string FindRoot()
    {
        for (string? dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (File.Exists(Path.Combine(dir, "Aspire.Kafka.sln")))
            {
                return dir;
            }
        }

        throw new InvalidOperationException("Aspire.Kafka.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>A child process whose output lines are collected (and that is killed at dispose if still running).</summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly List<string> _lines = [];
    private readonly Lock _lock = new();

    public ChildProcess(string file, IEnumerable<string> args, string? workingDirectory = null, IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? TestSupport.RepositoryRoot,
        };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["NO_COLOR"] = "1";
        foreach ((string key, string value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        Process = Process.Start(info)!;
        Process.OutputDataReceived += (_, e) => Add(e.Data);
        Process.ErrorDataReceived += (_, e) => Add(e.Data);
        Process.BeginOutputReadLine();
        Process.BeginErrorReadLine();
    }

    public Process Process { get; }

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lock)
            {
                return _lines.ToArray();
            }
        }
    }

    public string Output => string.Join('\n', Lines);

    public bool HasLine(Func<string, bool> predicate) => Lines.Any(predicate);

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await Process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"Process {Process.Id} did not exit within {timeout.TotalSeconds:0} s. Output:\n{Output}");
        }

        Process.WaitForExit();
        return Process.ExitCode;
    }

    public void Dispose()
    {
        try
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
        }

        Process.Dispose();
    }

    private void Add(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lock)
        {
            _lines.Add(line);
        }
    }
}
