using System.Globalization;
using System.Text;

namespace Aspire.Kafka.Hosting;

/// <summary>
/// Kafka's <c>meta.properties</c> (what <c>kafka-storage format</c> writes in each log
/// directory): version, cluster.id, node.id, directory.id.
/// </summary>
public sealed record MetaProperties(string ClusterId, int NodeId, string DirectoryId)
{
    public const string FileName = "meta.properties";

    /// <summary>A new id in Kafka's form: 16 random bytes, URL-safe base64 without padding (22 characters).</summary>
    public static string NewId()
    {
        string base64 = Convert.ToBase64String(Guid.NewGuid().ToByteArray());
        return base64.TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    public static MetaProperties? Read(string directory)
    {
        string path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in File.ReadAllLines(path))
        {
            string trimmed = line.Trim();
            int eq = trimmed.IndexOf('=', StringComparison.Ordinal);
            if (trimmed.Length == 0 || trimmed[0] == '#' || eq <= 0)
            {
                continue;
            }

            values[trimmed[..eq].Trim()] = trimmed[(eq + 1)..].Trim();
        }

        if (!values.TryGetValue("cluster.id", out string? clusterId) || !values.TryGetValue("node.id", out string? nodeText)
            || !int.TryParse(nodeText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int nodeId))
        {
            throw new InvalidDataException($"{path} has no valid cluster.id and node.id: delete it or start with --clean.");
        }

        return new MetaProperties(clusterId, nodeId, values.GetValueOrDefault("directory.id", ""));
    }

    public void Write(string directory)
    {
        Directory.CreateDirectory(directory);
        var text = new StringBuilder()
            .Append("#\n#").Append(DateTimeOffset.UtcNow.ToString("ddd MMM dd HH:mm:ss 'UTC' yyyy", CultureInfo.InvariantCulture)).Append('\n')
            .Append("cluster.id=").Append(ClusterId).Append('\n')
            .Append("directory.id=").Append(DirectoryId).Append('\n')
            .Append("node.id=").Append(NodeId.ToString(CultureInfo.InvariantCulture)).Append('\n')
            .Append("version=1\n");
        string path = Path.Combine(directory, FileName);
        File.WriteAllText(path + ".tmp", text.ToString());
        File.Move(path + ".tmp", path, overwrite: true);
    }
}
