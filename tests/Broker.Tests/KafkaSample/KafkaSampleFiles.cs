using System.Globalization;

namespace Aspire.Kafka.Tests.KafkaSample;

/// <summary>Kafka's sample KRaft properties files (KafkaSample/*.properties) with their paths, ports, node id and voters filled in. Linked into every test project that starts from them.</summary>
internal static class KafkaSampleFiles
{
    /// <summary>Writes <paramref name="file"/> (broker.properties or controller.properties) into <paramref name="directory"/>; returns its path.</summary>
    public static string Write(string file, string directory, int nodeId, string voters, string address, string logDir)
    {
        string text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "KafkaSample", file))
            .Replace("{NODE_ID}", nodeId.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{VOTERS}", voters, StringComparison.Ordinal)
            .Replace("{BROKER_ADDRESS}", address, StringComparison.Ordinal)
            .Replace("{CONTROLLER_ADDRESS}", address, StringComparison.Ordinal)
            .Replace("{LOG_DIR}", logDir, StringComparison.Ordinal);
        string path = Path.Combine(directory, file);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>The keys the file sets (commented lines are not keys).</summary>
    public static IReadOnlyList<string> Keys(string path) => [.. ServiceDefaults.Configuration.JavaProperties.Load(path).Select(p => p.Key)];
}
