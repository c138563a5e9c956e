using Aspire.Kafka.Compatibility.Tests.Capture;
using Aspire.Kafka.Compatibility.Tests.Flows;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Compatibility.Tests;

/// <summary>
/// The committed request frames real clients sent (Golden/&lt;client&gt;/): each decodes with the
/// generated classes to the header and fields the client sets, and writing it again gives the
/// very same bytes. No client is needed to run these.
/// </summary>
public sealed class GoldenFrameTests
{
    private static readonly Dictionary<short, short> FirstFlexibleVersion = new()
    {
        [ApiKeys.Produce] = 9,
        [ApiKeys.Metadata] = 9,
        [ApiKeys.ApiVersions] = 3,
        [ApiKeys.CreateTopics] = 5,
        [ApiKeys.InitProducerId] = 2,
    };

    public static TheoryData<string, string> AllFrames()
    {
        var data = new TheoryData<string, string>();
        foreach (string client in GoldenManifest.CapturedClients())
        {
            foreach (GoldenFrameEntry entry in GoldenManifest.Load(client).Frames)
            {
                data.Add(client, entry.File);
            }
        }

        return data;
    }

    public static TheoryData<string> AllFlows() => [.. ClientFlow.All.Select(f => f.Name)];

    private static (GoldenManifest Manifest, List<(GoldenFrameEntry Entry, RequestFrame Frame)> Frames) Load(string client)
    {
        GoldenManifest manifest = GoldenManifest.Load(client);
        return (manifest, [.. manifest.Frames.Select(e => (e, RequestFrame.Decode(manifest.ReadFrame(e))))]);
    }

    [Theory]
    [MemberData(nameof(AllFlows))]
    public void Every_client_flow_has_committed_golden_frames_and_nothing_else(string client)
    {
        string directory = GoldenManifest.DirectoryOf(client);
        Assert.True(File.Exists(Path.Combine(directory, GoldenManifest.FileName)),
            $"{directory} has no manifest: capture it with `dotnet run --project tests/Compatibility.Tests -- capture {client}`");
        GoldenManifest manifest = GoldenManifest.Load(client);
        Assert.Equal(client, manifest.Client);
        Assert.NotEmpty(manifest.Frames);
        Assert.Equal(
            manifest.Frames.Select(f => f.File).Append(GoldenManifest.FileName).Order(StringComparer.Ordinal),
            Directory.GetFiles(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(Enumerable.Range(1, manifest.Frames.Count), manifest.Frames.Select(f => int.Parse(f.File[..3], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.True(manifest.CaptureStartMs <= manifest.CaptureEndMs);
    }

    [Theory]
    [MemberData(nameof(AllFrames))]
    public void Golden_frame_decodes_to_its_header_and_reencodes_to_the_same_bytes(string client, string file)
    {
        GoldenManifest manifest = GoldenManifest.Load(client);
        GoldenFrameEntry entry = manifest.Frames.Single(f => f.File == file);
        byte[] bytes = manifest.ReadFrame(entry);

        RequestFrame frame = RequestFrame.Decode(bytes);

        Assert.Equal(entry.ApiKey, frame.Header.RequestApiKey);
        Assert.Equal(entry.Version, frame.Header.RequestApiVersion);
        Assert.Equal(entry.CorrelationId, frame.Header.CorrelationId);
        Assert.Equal(entry.ClientId, frame.Header.ClientId);
        Assert.Equal($"{frame.Type.Name}-v{frame.ApiVersion}.bin", file[4..]);
        // Independent of the generated tables: the first flexible version of each api these clients use (Kafka's specs).
        Assert.True(FirstFlexibleVersion.ContainsKey(frame.Type.ApiKey), $"add {frame.Type.Name} to FirstFlexibleVersion");
        Assert.Equal(frame.ApiVersion >= FirstFlexibleVersion[frame.Type.ApiKey] ? 2 : 1, frame.HeaderVersion);
        Assert.True(frame.Type.ValidVersions.Contains(frame.ApiVersion));
        Assert.True(CaptureBroker.AdvertisedVersions.Single(a => a.ApiKey == frame.Type.ApiKey).Versions.Contains(frame.ApiVersion),
            $"{file}: the client used a version the capture broker does not advertise");

        byte[] reencoded = frame.Encode();
        Assert.True(bytes.AsSpan().SequenceEqual(reencoded),
            $"{client}/{file}: re-encoding differs from the captured bytes at byte {FirstDifference(bytes, reencoded)} " +
            $"(captured {bytes.Length} bytes, re-encoded {reencoded.Length})\ncaptured:   {Convert.ToHexString(bytes)}\nre-encoded: {Convert.ToHexString(reencoded)}");

        RequestFrame again = RequestFrame.Decode(reencoded);
        Assert.Equal(frame.Header, again.Header);
        Assert.Equal(frame.Body, again.Body);
    }

    [Fact]
    public void Kcat_metadata_sends_ApiVersions_v3_with_its_software_name_then_Metadata_v4()
    {
        var (_, frames) = Load("kcat-metadata");

        Assert.All(frames, f => Assert.Equal("rdkafka", f.Frame.Header.ClientId));
        Assert.All(frames, f => Assert.Equal(1, f.Entry.Connection));
        Assert.Equal([1, 2, 3], frames.Select(f => f.Frame.Header.CorrelationId));

        var apiVersions = Assert.IsType<ApiVersionsRequest>(frames[0].Frame.Body);
        Assert.Equal(3, frames[0].Frame.ApiVersion);
        Assert.Equal(2, frames[0].Frame.HeaderVersion); // flexible: header v2 with tagged fields, ClientId still a non-compact string
        Assert.Equal("librdkafka", apiVersions.ClientSoftwareName);
        Assert.Equal("2.0.2", apiVersions.ClientSoftwareVersion);

        // librdkafka first asks for brokers only (empty list), then kcat -L asks for every topic (null).
        var brokersOnly = Assert.IsType<MetadataRequest>(frames[1].Frame.Body);
        Assert.Equal(4, frames[1].Frame.ApiVersion);
        Assert.NotNull(brokersOnly.Topics);
        Assert.Empty(brokersOnly.Topics);
        var allTopics = Assert.IsType<MetadataRequest>(frames[2].Frame.Body);
        Assert.Equal(4, frames[2].Frame.ApiVersion);
        Assert.Null(allTopics.Topics);
    }

    [Fact]
    public void Kafka_python_admin_probes_with_ApiVersions_v0_and_Metadata_v0_then_creates_the_topic_with_CreateTopics_v3()
    {
        var (_, frames) = Load("kafka-python-admin");

        Assert.All(frames, f => Assert.Equal("kafka-python-2.0.2", f.Frame.Header.ClientId));

        // The version probe: ApiVersions v0 and Metadata v0 (all topics: an empty list at v0), back to back on one connection.
        var probe = frames.Take(2).ToList();
        Assert.Equal([(ApiKeys.ApiVersions, (short)0), (ApiKeys.Metadata, (short)0)], probe.Select(f => (f.Frame.Type.ApiKey, f.Frame.ApiVersion)));
        Assert.Equal(probe[0].Entry.Connection, probe[1].Entry.Connection);
        Assert.Equal(probe[0].Frame.Header.CorrelationId + 1, probe[1].Frame.Header.CorrelationId);
        Assert.Equal("", Assert.IsType<ApiVersionsRequest>(probe[0].Frame.Body).ClientSoftwareName);
        Assert.Empty(Assert.IsType<MetadataRequest>(probe[1].Frame.Body).Topics!);

        // The controller lookup uses Metadata v1+ (v5 is kafka-python's maximum), all topics.
        var controllerLookup = frames.Single(f => f.Frame.Type.ApiKey == ApiKeys.Metadata && f.Frame.ApiVersion == 5);
        Assert.Null(Assert.IsType<MetadataRequest>(controllerLookup.Frame.Body).Topics);

        var create = frames.Single(f => f.Frame.Type.ApiKey == ApiKeys.CreateTopics);
        Assert.Equal(3, create.Frame.ApiVersion);
        var request = Assert.IsType<CreateTopicsRequest>(create.Frame.Body);
        var topic = Assert.Single(request.Topics);
        Assert.Equal("test-topic", topic.Name);
        Assert.Equal(1, topic.NumPartitions);
        Assert.Equal(1, topic.ReplicationFactor);
        Assert.Empty(topic.Assignments);
        Assert.Empty(topic.Configs);
        Assert.False(request.ValidateOnly);
    }

    [Fact]
    public void Kafka_python_producer_sends_Produce_v7_with_acks_all_after_the_version_probe()
    {
        var (_, frames) = Load("kafka-python-producer");

        Assert.All(frames, f => Assert.Equal("kafka-python-producer-1", f.Frame.Header.ClientId));
        Assert.Equal([(ApiKeys.ApiVersions, (short)0), (ApiKeys.Metadata, (short)0)],
            frames.Take(2).Select(f => (f.Frame.Type.ApiKey, f.Frame.ApiVersion)));
        var produce = Assert.IsType<ProduceRequest>(frames.Single(f => f.Frame.Type.ApiKey == ApiKeys.Produce && f.Frame.ApiVersion == 7).Frame.Body);
        Assert.Equal(-1, produce.Acks);
        Assert.Null(produce.TransactionalId);
        Assert.Equal("test-topic", Assert.Single(produce.TopicData).Name);
    }

    [Fact]
    public void Kafkajs_uses_ApiVersions_v2_Metadata_v6_CreateTopics_v3_and_Produce_v7()
    {
        var (_, frames) = Load("kafkajs");

        Assert.All(frames, f => Assert.Equal("kafkajs", f.Frame.Header.ClientId));
        Assert.All(frames.Where(f => f.Frame.Type.ApiKey == ApiKeys.ApiVersions), f =>
        {
            Assert.Equal(2, f.Frame.ApiVersion);
            Assert.Equal(0, f.Frame.Header.CorrelationId); // kafkajs numbers requests from 0 on each connection
        });
        Assert.All(frames.Where(f => f.Frame.Type.ApiKey == ApiKeys.Metadata), f => Assert.Equal(6, f.Frame.ApiVersion));

        var create = Assert.IsType<CreateTopicsRequest>(frames.Single(f => f.Frame.Type.ApiKey == ApiKeys.CreateTopics && f.Frame.ApiVersion == 3).Frame.Body);
        var topic = Assert.Single(create.Topics);
        Assert.Equal(("kafkajs-topic", 1, (short)1), (topic.Name, topic.NumPartitions, topic.ReplicationFactor));

        // createTopics waits for leaders by asking Metadata for the new topic by name.
        Assert.Contains(frames, f => f.Frame.Body is MetadataRequest { Topics: [{ Name: "kafkajs-topic" }] });

        var produce = Assert.IsType<ProduceRequest>(frames.Single(f => f.Frame.Type.ApiKey == ApiKeys.Produce && f.Frame.ApiVersion == 7).Frame.Body);
        Assert.Equal(-1, produce.Acks);
        Assert.Equal("kafkajs-topic", Assert.Single(produce.TopicData).Name);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("gzip")]
    [InlineData("snappy")]
    [InlineData("lz4")]
    [InlineData("zstd")]
    public void Kcat_produce_asks_Metadata_v4_for_its_topic_then_sends_Produce_v7_with_acks_all(string codec)
    {
        var (_, frames) = Load($"kcat-produce-{codec}");

        Assert.All(frames, f => Assert.Equal("rdkafka", f.Frame.Header.ClientId));
        Assert.Equal("librdkafka", Assert.IsType<ApiVersionsRequest>(frames[0].Frame.Body).ClientSoftwareName);
        Assert.Contains(frames, f => f.Frame.ApiVersion == 4 && f.Frame.Body is MetadataRequest { Topics: [{ Name: "golden" }] });
        var produces = frames.Where(f => f.Frame.Type.ApiKey == ApiKeys.Produce).ToList();
        Assert.NotEmpty(produces);
        Assert.All(produces, f =>
        {
            Assert.Equal(7, f.Frame.ApiVersion);
            var produce = Assert.IsType<ProduceRequest>(f.Frame.Body);
            Assert.Equal(-1, produce.Acks);
            Assert.Null(produce.TransactionalId);
            Assert.Equal("golden", Assert.Single(produce.TopicData).Name);
        });
    }

    private static int FirstDifference(byte[] a, byte[] b)
    {
        int common = a.AsSpan().CommonPrefixLength(b);
        return common;
    }
}
