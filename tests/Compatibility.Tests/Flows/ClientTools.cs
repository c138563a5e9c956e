using System.Reflection;
using System.Text.Json;

namespace Aspire.Kafka.Compatibility.Tests.Flows;

/// <summary>A real client the tests need is not installed; the message says how to install it.</summary>
public sealed class ClientToolMissingException(string message) : Exception(message);

/// <summary>Finds the real clients (and this project's source folder, where scripts and golden bytes live).</summary>
public static class ClientTools
{
    /// <summary>The interpreter with Debian's python3-kafka (kafka-python 2.0.2); the pyenv python3 on PATH lacks it.</summary>
    public const string SystemPython = "/usr/bin/python3";

    private static readonly Lazy<string> ProjectDirectoryValue = new(() =>
        typeof(ClientTools).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "CompatibilityTestsDirectory")?.Value
        ?? throw new InvalidOperationException("The assembly lacks its CompatibilityTestsDirectory metadata."));

    private static readonly Lazy<Task<string>> PythonValue = new(FindPythonAsync);

    /// <summary>tests/Compatibility.Tests in the source tree.</summary>
    public static string ProjectDirectory => ProjectDirectoryValue.Value;

    public static string GoldenDirectory => Path.Combine(ProjectDirectory, "Golden");

    public static string ScriptsDirectory => Path.Combine(ProjectDirectory, "clients");

    public static string NodeDirectory => Path.Combine(ProjectDirectory, "node");

    public static string Kcat() =>
        FindOnPath("kcat") ?? throw new ClientToolMissingException(
            "kcat (librdkafka 2.0.2) is not installed. Install it with: sudo apt-get install -y kcat (./test.sh does this).");

    public static Task<string> PythonWithKafkaAsync() => PythonValue.Value;

    public static string NodeWithKafkajs()
    {
        string node = FindOnPath("node") ?? throw new ClientToolMissingException(
            "node is not installed. Install Node.js (e.g. sudo apt-get install -y nodejs npm), then run: cd tests/Compatibility.Tests/node && npm ci");
        string package = Path.Combine(NodeDirectory, "node_modules", "kafkajs", "package.json");
        if (!File.Exists(package))
        {
            throw new ClientToolMissingException(
                $"kafkajs is not installed in {NodeDirectory}. Run: cd tests/Compatibility.Tests/node && npm ci (./test.sh does this).");
        }

        using JsonDocument json = JsonDocument.Parse(File.ReadAllText(package));
        string? version = json.RootElement.GetProperty("version").GetString();
        return version == "2.2.4"
            ? node
            : throw new ClientToolMissingException(
                $"kafkajs {version} is installed in {NodeDirectory}, the tests pin 2.2.4. Run: cd tests/Compatibility.Tests/node && npm ci");
    }

    private static async Task<string> FindPythonAsync()
    {
        const string hint = "Install it with: sudo apt-get install -y python3-kafka (./test.sh does this).";
        if (!File.Exists(SystemPython))
        {
            throw new ClientToolMissingException($"{SystemPython} does not exist. kafka-python 2.0.2 is needed: {hint}");
        }

        ClientRun probe = await ClientProcess.RunAsync(SystemPython, ["-c", "import kafka; print(kafka.__version__)"],
            timeout: TimeSpan.FromSeconds(15));
        if (!probe.Succeeded)
        {
            throw new ClientToolMissingException($"{SystemPython} cannot import kafka (kafka-python 2.0.2). {hint}\n{probe.Describe()}");
        }

        string version = probe.StdOut.Trim();
        return version == "2.0.2"
            ? SystemPython
            : throw new ClientToolMissingException($"{SystemPython} has kafka-python {version}; the tests expect 2.0.2 (Debian's python3-kafka). {hint}");
    }

    private static string? FindOnPath(string name)
    {
        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
