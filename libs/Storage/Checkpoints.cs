using System.Globalization;
using System.Text;
using Aspire.Kafka.Protocol;

namespace Aspire.Kafka.Storage;

/// <summary>
/// Kafka's checkpoint text format: a version line, a count line, then one entry per line with
/// space-separated fields. Written atomically; a missing file reads as empty.
/// </summary>
internal static class CheckpointText
{
    public const int CurrentVersion = 0;

    public static void Write<T>(string path, IReadOnlyCollection<T> entries, Func<T, string> format)
    {
        var text = new StringBuilder();
        text.Append(CurrentVersion.ToString(CultureInfo.InvariantCulture)).Append('\n');
        text.Append(entries.Count.ToString(CultureInfo.InvariantCulture)).Append('\n');
        foreach (var entry in entries)
        {
            text.Append(format(entry)).Append('\n');
        }

        FileUtil.AtomicWriteText(path, text.ToString());
    }

    public static List<T> Read<T>(string path, int fieldCount, Func<string[], T> parse)
    {
        var result = new List<T>();
        if (!File.Exists(path))
        {
            return result;
        }

        var lines = File.ReadAllLines(path);
        if (lines.Length < 2)
        {
            throw Malformed(path, "expected a version line and a count line");
        }

        if (!int.TryParse(lines[0].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int version) || version != CurrentVersion)
        {
            throw Malformed(path, $"unrecognized version '{lines[0]}'");
        }

        if (!int.TryParse(lines[1].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int count) || count < 0)
        {
            throw Malformed(path, $"bad entry count '{lines[1]}'");
        }

        for (int i = 2; i < lines.Length; i++)
        {
            if (lines[i].Length == 0)
            {
                continue;
            }

            var fields = lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length != fieldCount)
            {
                throw Malformed(path, $"line {i + 1} '{lines[i]}' has {fields.Length} fields, expected {fieldCount}");
            }

            try
            {
                result.Add(parse(fields));
            }
            catch (FormatException e)
            {
                throw new IOException($"Malformed checkpoint file {path}: line {i + 1} '{lines[i]}': {e.Message}", e);
            }
        }

        if (result.Count != count)
        {
            throw Malformed(path, $"expected {count} entries but found {result.Count}");
        }

        return result;
    }

    public static long ParseLong(string s) => long.Parse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

    public static int ParseInt(string s) => int.Parse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

    private static IOException Malformed(string path, string why) => new($"Malformed checkpoint file {path}: {why}.");
}

/// <summary>
/// A per-log-dir checkpoint of one offset per partition: recovery-point-offset-checkpoint,
/// log-start-offset-checkpoint, cleaner-offset-checkpoint, replication-offset-checkpoint.
/// </summary>
public sealed class OffsetCheckpointFile(string path)
{
    public const string RecoveryPointFileName = "recovery-point-offset-checkpoint";
    public const string LogStartOffsetFileName = "log-start-offset-checkpoint";
    public const string CleanerOffsetFileName = "cleaner-offset-checkpoint";
    public const string ReplicationOffsetFileName = "replication-offset-checkpoint";

    private readonly Lock _lock = new();

    public string Path { get; } = path;

    public void Write(IReadOnlyDictionary<TopicPartition, long> offsets)
    {
        var sorted = offsets.OrderBy(e => e.Key.Topic, StringComparer.Ordinal).ThenBy(e => e.Key.Partition).ToList();
        lock (_lock)
        {
            CheckpointText.Write(Path, sorted, e => string.Create(CultureInfo.InvariantCulture, $"{e.Key.Topic} {e.Key.Partition} {e.Value}"));
        }
    }

    public Dictionary<TopicPartition, long> Read()
    {
        lock (_lock)
        {
            var entries = CheckpointText.Read(Path, 3, f => (new TopicPartition(f[0], CheckpointText.ParseInt(f[1])), CheckpointText.ParseLong(f[2])));
            var result = new Dictionary<TopicPartition, long>();
            foreach (var (tp, offset) in entries)
            {
                result[tp] = offset;
            }

            return result;
        }
    }
}

/// <summary>One leader epoch and the first offset written in it.</summary>
public readonly record struct EpochEntry(int Epoch, long StartOffset)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"EpochEntry(epoch={Epoch}, startOffset={StartOffset})");
}

/// <summary>The partition's <c>leader-epoch-checkpoint</c>: "0\n&lt;count&gt;\n&lt;epoch&gt; &lt;start offset&gt;\n…".</summary>
public sealed class LeaderEpochCheckpointFile(string path)
{
    public const string FileName = "leader-epoch-checkpoint";

    public string Path { get; set; } = path;

    public void Write(IReadOnlyCollection<EpochEntry> entries) =>
        CheckpointText.Write(Path, entries, e => string.Create(CultureInfo.InvariantCulture, $"{e.Epoch} {e.StartOffset}"));

    public List<EpochEntry> Read() =>
        CheckpointText.Read(Path, 2, f => new EpochEntry(CheckpointText.ParseInt(f[0]), CheckpointText.ParseLong(f[1])));
}

/// <summary>The partition's <c>partition.metadata</c>: "version: 0\ntopic_id: &lt;uuid&gt;\n".</summary>
public static class PartitionMetadataFile
{
    public const string FileName = "partition.metadata";

    public static void Write(string logDirectory, KafkaUuid topicId) =>
        FileUtil.AtomicWriteText(System.IO.Path.Combine(logDirectory, FileName), $"version: 0\ntopic_id: {topicId}\n");

    /// <summary>The topic id, or null when the file does not exist.</summary>
    public static KafkaUuid? Read(string logDirectory)
    {
        string path = System.IO.Path.Combine(logDirectory, FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        string? version = null;
        string? topicId = null;
        foreach (var line in File.ReadAllLines(path))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                continue;
            }

            string key = line[..colon].Trim();
            string value = line[(colon + 1)..].Trim();
            if (key == "version") version = value;
            else if (key == "topic_id") topicId = value;
        }

        if (version != "0" || topicId is null)
        {
            throw new IOException($"Malformed partition metadata file {path}: expected 'version: 0' and 'topic_id: <uuid>'.");
        }

        return KafkaUuid.Parse(topicId);
    }
}
