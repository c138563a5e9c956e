using Aspire.Kafka.Compatibility.Tests.Capture;
using Aspire.Kafka.Protocol;

namespace Aspire.Kafka.Compatibility.Tests.Flows;

/// <summary>What one client flow did against a capture broker.</summary>
public sealed record FlowResult(ClientFlow Flow, ClientRun Run, IReadOnlyList<CapturedFrame> Frames, IReadOnlyList<string> Problems,
    long CaptureStartMs, long CaptureEndMs);

/// <summary>
/// One real-client scenario: the command (with <c>{bootstrap}</c> for the broker address), the
/// broker it needs, and the records it is told to produce. Used by the live tests and by the
/// capture mode that writes the golden bytes.
/// </summary>
public sealed record ClientFlow(
    string Name,
    string Description,
    IReadOnlyList<string> CommandTemplate,
    string? Topic,
    string? Compression,
    IReadOnlyList<SentRecord> Records,
    IReadOnlyList<string> ExpectedStdOut,
    string? StandardInput = null,
    bool CreatesTopic = false)
{
    public const string Bootstrap = "{bootstrap}";

    public static readonly string[] Codecs = ["none", "gzip", "snappy", "lz4", "zstd"];

    public override string ToString() => Name;

    /// <summary>Runs the client against a fresh capture broker and returns what it sent.</summary>
    public async Task<FlowResult> RunAsync(TimeSpan? timeout = null, CancellationToken cancellation = default,
        IReadOnlyDictionary<short, VersionRange>? advertisedOverrides = null)
    {
        (string fileName, string? workingDirectory) = await ResolveAsync();
        await using var broker = new CaptureBroker(new CaptureBrokerOptions
        {
            // A topic the client creates must not exist yet (CreateTopics would answer TOPIC_ALREADY_EXISTS).
            Topics = Topic is null || CreatesTopic ? ["golden-listed-topic"] : [Topic],
            AdvertisedOverrides = advertisedOverrides ?? new Dictionary<short, VersionRange>(),
        });
        string[] arguments = [.. CommandTemplate.Skip(1).Select(a => a.Replace(Bootstrap, broker.BootstrapServers, StringComparison.Ordinal))];
        long start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        ClientRun run = await ClientProcess.RunAsync(fileName, arguments, workingDirectory, StandardInput, timeout, cancellation);
        long end = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        IReadOnlyList<CapturedFrame> frames = broker.Frames;
        IReadOnlyList<string> problems = broker.Problems;
        return new FlowResult(this, run, frames, problems, start, end);
    }

    private async Task<(string FileName, string? WorkingDirectory)> ResolveAsync() => CommandTemplate[0] switch
    {
        "kcat" => (ClientTools.Kcat(), null),
        "python3" => (await ClientTools.PythonWithKafkaAsync(), ClientTools.ScriptsDirectory),
        "node" => (ClientTools.NodeWithKafkajs(), ClientTools.NodeDirectory),
        string other => throw new InvalidOperationException($"unknown client program {other}"),
    };

    /// <summary>
    /// The fixed input of the kcat produce captures: keyed records, one with non-ASCII text. Every
    /// value repeats a phrase so that even a batch of one record shrinks when compressed:
    /// librdkafka sends a batch uncompressed when compression does not make it smaller.
    /// </summary>
    public static IReadOnlyList<SentRecord> KcatProduceRecords(string codec) =>
    [
        .. Enumerable.Range(0, 12).Select(i => new SentRecord(
            $"key-{i:D2}",
            $"value-{i:D2} {codec}{(i == 7 ? " grüße, 東京, ünïcödé" : "")} " +
                string.Join(' ', Enumerable.Repeat("the quick brown fox jumps over the lazy dog", 4 + (i % 3))),
            [new SentHeader("h1", "v1"), new SentHeader("h2", "v2")])),
    ];

    public static ClientFlow KcatProduce(string codec, bool idempotent = false)
    {
        IReadOnlyList<SentRecord> records = KcatProduceRecords(codec);
        return new ClientFlow(
            idempotent ? $"kcat-produce-idempotent-{codec}" : $"kcat-produce-{codec}",
            $"kcat (librdkafka 2.0.2) producing {records.Count} keyed records with two headers, compression {codec}, batched by linger.ms=500" +
                (idempotent ? ", enable.idempotence=true (InitProducerId first)" : ""),
            ["kcat", "-P", "-b", Bootstrap, "-t", "golden", "-z", codec, "-K:", "-H", "h1=v1", "-H", "h2=v2",
                "-X", "linger.ms=500", "-X", "api.version.request.timeout.ms=5000", .. (idempotent ? ["-X", "enable.idempotence=true"] : Array.Empty<string>())],
            "golden",
            codec,
            records,
            [],
            string.Concat(records.Select(r => $"{r.Key}:{r.Value}\n")));
    }

    public static IReadOnlyList<ClientFlow> All { get; } =
    [
        new ClientFlow(
            "kcat-metadata",
            "kcat -L (librdkafka 2.0.2): ApiVersions v3 then Metadata for all topics",
            ["kcat", "-L", "-b", Bootstrap, "-m", "10"],
            null, null, [],
            ["1 brokers:", "golden-listed-topic"]),
        new ClientFlow(
            "kafka-python-admin",
            "kafka-python 2.0.2 KafkaAdminClient: version probe (ApiVersions v0 pipelined with Metadata v0), controller lookup, create_topics([NewTopic('test-topic', 1, 1)])",
            ["python3", "kafka_python_admin.py", Bootstrap, "test-topic"],
            "test-topic", null, [],
            ["\"created\": [\"test-topic\"]"],
            CreatesTopic: true),
        new ClientFlow(
            "kafka-python-producer",
            "kafka-python 2.0.2 KafkaProducer(acks='all', retries=5): 10 keyed messages, flush",
            ["python3", "kafka_python_producer.py", Bootstrap, "test-topic", "10"],
            "test-topic", "none",
            [.. Enumerable.Range(0, 10).Select(i => new SentRecord($"key-{i}", $"value-{i}", []))],
            ["\"delivered\": 10"]),
        new ClientFlow(
            "kafkajs",
            "kafkajs 2.2.4: admin connect + createTopics (waits for leaders), producer send of 5 keyed messages with a header (acks -1)",
            ["node", "kafkajs-flow.js", Bootstrap, "kafkajs-topic", "5"],
            "kafkajs-topic", "none",
            [.. Enumerable.Range(0, 5).Select(i => new SentRecord($"key-{i}", $"value-{i}", [new SentHeader("h1", "v1")]))],
            ["\"created\":true", "\"delivered\":5"],
            CreatesTopic: true),
        .. Codecs.Select(codec => KcatProduce(codec)),
        KcatProduce("lz4", idempotent: true),
    ];

    public static ClientFlow Find(string name) =>
        All.FirstOrDefault(f => f.Name == name) ?? throw new ArgumentException($"No client flow named {name}.", nameof(name));
}
