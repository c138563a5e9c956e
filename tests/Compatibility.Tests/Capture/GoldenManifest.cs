using System.Text.Json;
using System.Text.Json.Serialization;
using Aspire.Kafka.Compatibility.Tests.Capture;
using Aspire.Kafka.Compatibility.Tests.Flows;

namespace Aspire.Kafka.Compatibility.Tests.Capture;

/// <summary>One header of a record a client was told to send.</summary>
public sealed record SentHeader(string Key, string Value);

/// <summary>One record a client was told to send (UTF-8 key and value).</summary>
public sealed record SentRecord(string Key, string Value, IReadOnlyList<SentHeader> Headers);

/// <summary>One captured frame file and what its header says.</summary>
public sealed record GoldenFrameEntry(string File, int Connection, short ApiKey, string Api, short Version, int CorrelationId, string? ClientId);

/// <summary>
/// Golden/&lt;client&gt;/manifest.json: how the frames were captured, the records the client was
/// told to produce (if any), the capture time window (Unix ms) and the frames in arrival order.
/// </summary>
public sealed record GoldenManifest(
    string Client,
    string Description,
    IReadOnlyList<string> Command,
    string? Topic,
    string? Compression,
    long CaptureStartMs,
    long CaptureEndMs,
    IReadOnlyList<SentRecord> Records,
    IReadOnlyList<GoldenFrameEntry> Frames)
{
    public const string FileName = "manifest.json";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static string DirectoryOf(string client) => Path.Combine(ClientTools.GoldenDirectory, client);

    /// <summary>The clients with a committed golden folder.</summary>
    public static IReadOnlyList<string> CapturedClients() =>
        Directory.Exists(ClientTools.GoldenDirectory)
            ? [.. Directory.GetDirectories(ClientTools.GoldenDirectory)
                .Where(d => File.Exists(Path.Combine(d, FileName)))
                .Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)]
            : [];

    public static GoldenManifest Load(string client)
    {
        string path = Path.Combine(DirectoryOf(client), FileName);
        return JsonSerializer.Deserialize<GoldenManifest>(File.ReadAllText(path), Json)
            ?? throw new InvalidDataException($"{path} is empty.");
    }

    public byte[] ReadFrame(GoldenFrameEntry entry) => File.ReadAllBytes(Path.Combine(DirectoryOf(Client), entry.File));

    /// <summary>Replaces the client's golden folder with these frames and this manifest.</summary>
    public static GoldenManifest Write(FlowResult result)
    {
        string directory = DirectoryOf(result.Flow.Name);
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }

        Directory.CreateDirectory(directory);
        var entries = new List<GoldenFrameEntry>();
        foreach (CapturedFrame frame in result.Frames)
        {
            File.WriteAllBytes(Path.Combine(directory, frame.FileName), frame.Bytes);
            entries.Add(new GoldenFrameEntry(frame.FileName, frame.ConnectionId, frame.ApiKey, frame.ApiName, frame.ApiVersion,
                frame.CorrelationId, frame.ClientId));
        }

        var manifest = new GoldenManifest(result.Flow.Name, result.Flow.Description, result.Flow.CommandTemplate, result.Flow.Topic,
            result.Flow.Compression, result.CaptureStartMs, result.CaptureEndMs, result.Flow.Records, entries);
        File.WriteAllText(Path.Combine(directory, FileName), JsonSerializer.Serialize(manifest, Json) + "\n");
        return manifest;
    }
}
