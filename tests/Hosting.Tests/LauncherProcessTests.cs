using Aspire.Kafka.Testing;

namespace Aspire.Kafka.Hosting.Tests;

/// <summary>The launcher as its own process (tests/TestServices/TestLauncher): signals, kill -9, no orphans.</summary>
public sealed class LauncherProcessTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _data = TestSupport.TempDirectory("launcher-proc");

    public void Dispose() => Directory.Delete(_data, recursive: true);

    private ChildProcess StartLauncher() => new(TestSupport.Dotnet,
    [
        TestSupport.Built("tests/TestServices/TestLauncher", "Aspire.Kafka.TestServices.TestLauncher"),
        "--no-build", "--configuration", TestSupport.Configuration, "--data-dir", _data, "--stop-timeout", "10", "--with-executable",
    ]);

    private static async Task<List<int>> WaitReadyAsync(ChildProcess launcher)
    {
        await TestSupport.Eventually(
            () => launcher.HasLine(l => l.StartsWith("[apphost] ready: 3 resources healthy", StringComparison.Ordinal)) || launcher.Process.HasExited,
            Timeout, "the launcher's ready line");
        Assert.False(launcher.Process.HasExited, "launcher exited early:\n" + launcher.Output);
        List<int> children = TestSupport.Descendants(launcher.Process.Id);
        // echo-a, echo-b (dotnet), the watchdog shell, its watcher subshell and sleep.
        Assert.True(children.Count >= 5, $"expected at least 5 descendants, found {children.Count}:\n{launcher.Output}");
        return children;
    }

    private static void Signal(int pid, int signal)
    {
        using var kill = System.Diagnostics.Process.Start("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    [Fact]
    public async Task Sigint_to_the_launcher_stops_every_process_gracefully()
    {
        using ChildProcess launcher = StartLauncher();
        List<int> children = await WaitReadyAsync(launcher);

        Signal(launcher.Process.Id, 2);

        Assert.Equal(0, await launcher.WaitForExitAsync(Timeout));
        await TestSupport.Eventually(() => children.All(pid => !TestSupport.IsAlive(pid)), TimeSpan.FromSeconds(10),
            "every child gone: " + string.Join(',', children));
        Assert.Contains(launcher.Lines, l => l == "[echo-b] stopped (exit code 0)");
        Assert.Contains(launcher.Lines, l => l == "[echo-a] stopped (exit code 0)");
        Assert.Contains(launcher.Lines, l => l == "[apphost] stopped");
        // Dependents stop first.
        int b = launcher.Lines.ToList().IndexOf("[echo-b] stopped (exit code 0)");
        int a = launcher.Lines.ToList().IndexOf("[echo-a] stopped (exit code 0)");
        Assert.True(b < a, "echo-b (which waits for echo-a) must stop before echo-a");
    }

    [Fact]
    public async Task Kill_9_of_the_launcher_leaves_no_process_behind()
    {
        using ChildProcess launcher = StartLauncher();
        List<int> children = await WaitReadyAsync(launcher);

        Signal(launcher.Process.Id, 9);

        await launcher.WaitForExitAsync(Timeout);
        await TestSupport.Eventually(() => children.All(pid => !TestSupport.IsAlive(pid)), TimeSpan.FromSeconds(20),
            "every child of the killed launcher gone; alive: " + string.Join(',', children.Where(TestSupport.IsAlive)));
    }
}
