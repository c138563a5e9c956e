using System.Diagnostics;

namespace Aspire.Kafka.ControllerService.Tests;

/// <summary>Bad configuration stops the controller before anything starts: one sentence on stderr, exit code 2.</summary>
public sealed class ConfigurationTests
{
    [Theory]
    [InlineData("process.roles=broker", "process.roles")]
    [InlineData("process.roles=broker,controller", "process.roles")]
    [InlineData("controller.quorum.voters=2@127.0.0.1:1", "node.id 1 is not one of controller.quorum.voters")]
    [InlineData("controller.quorum.voters=1@nohostport", "controller.quorum.voters")]
    [InlineData("num.netwrok.threads=3", "Unknown configuration num.netwrok.threads")]
    public async Task Refuses_bad_configuration_with_one_sentence_and_exit_code_2(string overrideValue, string expected)
    {
        string dir = Directory.CreateTempSubdirectory("controller-config-").FullName;
        try
        {
            (int exitCode, string stderr) = await RunAsync(dir,
                "--override", "node.id=1",
                "--override", "listeners=CONTROLLER://127.0.0.1:0",
                "--override", "listener.security.protocol.map=CONTROLLER:PLAINTEXT",
                "--override", "http.listener=127.0.0.1:0",
                "--override", $"log.dirs={dir}",
                "--override", "controller.quorum.voters=1@127.0.0.1:9093",
                "--override", overrideValue);
            Assert.Equal(2, exitCode);
            Assert.Contains(expected, stderr, StringComparison.Ordinal);
            Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Refuses_to_start_without_a_cluster_id()
    {
        string dir = Directory.CreateTempSubdirectory("controller-config-").FullName;
        try
        {
            (int exitCode, string stderr) = await RunAsync(dir,
                "--override", "node.id=1",
                "--override", "listeners=CONTROLLER://127.0.0.1:0",
                "--override", "listener.security.protocol.map=CONTROLLER:PLAINTEXT",
                "--override", "http.listener=127.0.0.1:0",
                "--override", $"log.dirs={dir}",
                "--override", "controller.quorum.voters=1@127.0.0.1:9093");
            Assert.Equal(2, exitCode);
            Assert.Contains("No cluster id", stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<(int ExitCode, string Stderr)> RunAsync(string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(ControllerAssembly());
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Remove("CLUSTER_ID");
        using Process process = Process.Start(start)!;
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"The controller did not exit within 30 s; stdout: {await stdout}");
        }

        await stdout;
        return (process.ExitCode, (await stderr).Trim());
    }

    private static string ControllerAssembly()
    {
        string baseDirectory = AppContext.BaseDirectory;
        string configuration = baseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var dir = new DirectoryInfo(baseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Aspire.Kafka.sln")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        string path = Path.Combine(dir.FullName, "services", "controller", "bin", configuration, "net10.0", "Aspire.Kafka.ControllerService.dll");
        Assert.True(File.Exists(path), $"{path} is missing: build services/controller first.");
        return path;
    }
}
