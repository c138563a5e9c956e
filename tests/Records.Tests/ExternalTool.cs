using System.Diagnostics;

namespace Aspire.Kafka.Records.Tests;

/// <summary>Runs an external program for interop tests; a missing program fails the test with an install hint.</summary>
internal static class ExternalTool
{
    public const string Python = "/usr/bin/python3";

    public static string InteropScript => Path.Combine(AppContext.BaseDirectory, "interop.py");

    public static byte[] Run(string program, string aptPackage, byte[] stdin, params string[] args)
    {
        string? path = Resolve(program);
        Assert.True(path is not null, $"'{program}' is not installed; install it with: apt-get install -y {aptPackage}");
        var start = new ProcessStartInfo(path!)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using Process process = Process.Start(start)!;
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var stdout = new MemoryStream();
        Task copy = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        process.StandardInput.BaseStream.Write(stdin);
        process.StandardInput.Close();
        copy.Wait(TimeSpan.FromMinutes(1));
        Assert.True(process.WaitForExit(60_000), $"{program} did not finish");
        Assert.True(process.ExitCode == 0,
            $"{program} {string.Join(' ', args)} exited with {process.ExitCode}: {stderr.Result}" +
            (stderr.Result.Contains("ModuleNotFoundError", StringComparison.Ordinal) ? $" (install: apt-get install -y {aptPackage})" : ""));
        return stdout.ToArray();
    }

    /// <summary>kafka-python (python3-kafka) with python3-snappy, an independent Kafka record implementation.</summary>
    public static byte[] KafkaPython(byte[] stdin, params string[] args) =>
        Run(Python, "python3-kafka python3-snappy", stdin, [InteropScript, .. args]);

    private static string? Resolve(string program)
    {
        if (Path.IsPathRooted(program))
        {
            return File.Exists(program) ? program : null;
        }

        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':'))
        {
            string candidate = Path.Combine(dir, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
