using System.Diagnostics;
using System.Xml.Linq;

namespace Aspire.Kafka.Hosting;

/// <summary>Builds .NET projects and finds the assembly to run with <c>dotnet</c>.</summary>
internal static class ProjectResolver
{
    public static string DotnetHost()
    {
        string? self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            return self;
        }

        foreach (string variable in (ReadOnlySpan<string>)["DOTNET_HOST_PATH"])
        {
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } path && File.Exists(path))
            {
                return path;
            }
        }

        string? root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        if (root is not null && File.Exists(Path.Combine(root, "dotnet")))
        {
            return Path.Combine(root, "dotnet");
        }

        return "dotnet";
    }

    public static async Task BuildAsync(string projectPath, string configuration, Action<string> output, CancellationToken cancellationToken)
    {
        (int code, string text) = await RunAsync(DotnetHost(), ["build", projectPath, "-c", configuration, "-nologo", "-v", "q"], cancellationToken).ConfigureAwait(false);
        if (code != 0)
        {
            foreach (string line in text.Split('\n').Where(l => l.Contains("error", StringComparison.OrdinalIgnoreCase)).Take(20))
            {
                output(line.TrimEnd());
            }

            throw new InvalidOperationException($"dotnet build {projectPath} failed with exit code {code}.");
        }
    }

    /// <summary>bin/{configuration}/{tfm}/{assembly}.dll by convention, else asks MSBuild for TargetPath.</summary>
    public static async Task<string> TargetPathAsync(string projectPath, string configuration, CancellationToken cancellationToken)
    {
        string directory = Path.GetDirectoryName(projectPath)!;
        string assembly = Path.GetFileNameWithoutExtension(projectPath);
        string framework = $"net{Environment.Version.Major}.{Environment.Version.Minor}";
        try
        {
            XDocument project = XDocument.Load(projectPath);
            assembly = project.Descendants("AssemblyName").FirstOrDefault()?.Value ?? assembly;
            framework = project.Descendants("TargetFramework").FirstOrDefault()?.Value ?? framework;
        }
        catch (System.Xml.XmlException)
        {
        }

        string conventional = Path.Combine(directory, "bin", configuration, framework, assembly + ".dll");
        if (File.Exists(conventional))
        {
            return conventional;
        }

        (int code, string text) = await RunAsync(DotnetHost(), ["msbuild", projectPath, "-getProperty:TargetPath", $"-p:Configuration={configuration}"], cancellationToken).ConfigureAwait(false);
        string path = text.Trim();
        if (code != 0 || !File.Exists(path))
        {
            throw new InvalidOperationException($"{projectPath} is not built for {configuration} (no {conventional}): run dotnet build, or leave out --no-build.");
        }

        return path;
    }

    private static async Task<(int, string)> RunAsync(string file, string[] args, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        using Process process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        Task<string> stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        return (process.ExitCode, await stdout.ConfigureAwait(false) + await stderr.ConfigureAwait(false));
    }
}
