using System.Globalization;
using System.Text;
using Aspire.Kafka.Protocol;

namespace Aspire.Kafka.Storage;

/// <summary>
/// A log dir's <c>meta.properties</c> (KRaft, version 1): node.id, cluster.id, directory.id,
/// in Java properties syntax as Kafka writes it.
/// </summary>
public sealed record MetaProperties(int Version, string ClusterId, int NodeId, KafkaUuid? DirectoryId)
{
    public const string FileName = "meta.properties";

    public void Write(string logDir)
    {
        var text = new StringBuilder();
        text.Append("#\n#").Append(DateTime.UtcNow.ToString("ddd MMM dd HH:mm:ss 'UTC' yyyy", CultureInfo.InvariantCulture)).Append('\n');
        text.Append("cluster.id=").Append(ClusterId).Append('\n');
        if (DirectoryId is { } id)
        {
            text.Append("directory.id=").Append(id.ToString()).Append('\n');
        }

        text.Append("node.id=").Append(NodeId.ToString(CultureInfo.InvariantCulture)).Append('\n');
        text.Append("version=").Append(Version.ToString(CultureInfo.InvariantCulture)).Append('\n');
        FileUtil.AtomicWriteText(Path.Combine(logDir, FileName), text.ToString());
    }

    /// <summary>The properties of <paramref name="logDir"/>, or null when it has none.</summary>
    public static MetaProperties? Read(string logDir)
    {
        string path = Path.Combine(logDir, FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        var props = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in File.ReadAllLines(path))
        {
            string line = raw.Trim();
            if (line.Length == 0 || line[0] == '#' || line[0] == '!')
            {
                continue;
            }

            int sep = line.IndexOfAny(['=', ':']);
            if (sep < 0)
            {
                continue;
            }

            props[line[..sep].Trim()] = line[(sep + 1)..].Trim();
        }

        if (!props.TryGetValue("version", out var v) || !int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int version))
        {
            throw new IOException($"{path} has no valid 'version'.");
        }

        if (!props.TryGetValue("cluster.id", out var clusterId))
        {
            throw new IOException($"{path} has no 'cluster.id'.");
        }

        string? nodeText = props.GetValueOrDefault("node.id") ?? props.GetValueOrDefault("broker.id");
        if (nodeText is null || !int.TryParse(nodeText, NumberStyles.Integer, CultureInfo.InvariantCulture, out int nodeId))
        {
            throw new IOException($"{path} has no valid 'node.id'.");
        }

        KafkaUuid? directoryId = props.TryGetValue("directory.id", out var d) ? KafkaUuid.Parse(d) : null;
        return new MetaProperties(version, clusterId, nodeId, directoryId);
    }
}

/// <summary>
/// The <c>.kafka_cleanshutdown</c> marker of a log dir: written after every log of the dir was
/// flushed and closed, deleted once the logs are loaded again. Its presence skips recovery.
/// Content as Kafka 3.x writes it: <c>{"version":0,"brokerEpoch":N}</c>.
/// </summary>
public static class CleanShutdownFile
{
    public const string FileName = ".kafka_cleanshutdown";

    public static bool Exists(string logDir) => File.Exists(Path.Combine(logDir, FileName));

    public static void Write(string logDir, long brokerEpoch = -1) =>
        FileUtil.AtomicWriteText(Path.Combine(logDir, FileName),
            string.Create(CultureInfo.InvariantCulture, $"{{\"version\":0,\"brokerEpoch\":{brokerEpoch}}}"));

    public static void Delete(string logDir)
    {
        File.Delete(Path.Combine(logDir, FileName));
        FileUtil.FsyncDirectory(logDir);
    }
}
