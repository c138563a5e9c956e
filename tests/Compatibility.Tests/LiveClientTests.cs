using Aspire.Kafka.Compatibility.Tests.Capture;
using Aspire.Kafka.Compatibility.Tests.Flows;
using Aspire.Kafka.Protocol;
using Xunit.Abstractions;

namespace Aspire.Kafka.Compatibility.Tests;

/// <summary>
/// The real clients (kcat/librdkafka 2.0.2, kafka-python 2.0.2, kafkajs 2.2.4) run as processes
/// against the in-process capture broker. A flow passes when the client finishes on its own with
/// exit code 0 and reports its work done (topic created, every message delivered) — so the
/// responses we build with the generated classes are accepted by that client — and every frame
/// it sent decodes and re-encodes byte for byte. A missing client fails with an install hint.
/// </summary>
public sealed class LiveClientTests(ITestOutputHelper output)
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(20);

    public static TheoryData<string> Flows() => [.. ClientFlow.All.Select(f => f.Name)];

    [Theory]
    [MemberData(nameof(Flows))]
    public async Task Real_client_completes_against_the_capture_broker_and_its_frames_round_trip(string name)
    {
        ClientFlow flow = ClientFlow.Find(name);

        FlowResult result = await flow.RunAsync(ClientTimeout);

        output.WriteLine(result.Run.Describe());
        foreach (CapturedFrame frame in result.Frames)
        {
            output.WriteLine(frame.ToString());
        }

        Assert.True(result.Run.Succeeded, result.Run.Describe());
        Assert.True(result.Problems.Count == 0, $"the capture broker could not serve {name}:\n{string.Join('\n', result.Problems)}");
        foreach (string expected in flow.ExpectedStdOut)
        {
            Assert.Contains(expected, result.Run.StdOut, StringComparison.Ordinal);
        }

        Assert.NotEmpty(result.Frames);
        foreach (CapturedFrame captured in result.Frames)
        {
            RequestFrame frame = RequestFrame.Decode(captured.Bytes);
            Assert.Equal((captured.ApiKey, captured.ApiVersion, captured.CorrelationId, captured.ClientId),
                (frame.Type.ApiKey, frame.ApiVersion, frame.Header.CorrelationId, frame.Header.ClientId));
            byte[] reencoded = frame.Encode();
            Assert.True(captured.Bytes.AsSpan().SequenceEqual(reencoded),
                $"{captured} re-encodes differently\ncaptured:   {Convert.ToHexString(captured.Bytes)}\nre-encoded: {Convert.ToHexString(reencoded)}");
        }

        if (flow.Records.Count > 0)
        {
            List<ProducedBatch> batches = ProducedBatches.Extract(result.Frames.Select(f => (f.ToString(), f.Bytes)));
            ProducedBatches.AssertMatchSent(batches, flow.Topic!, flow.Records, flow.Compression!, result.CaptureStartMs, result.CaptureEndMs);
        }

        // The client still speaks the API versions the committed golden bytes hold.
        GoldenManifest golden = GoldenManifest.Load(name);
        Assert.Equal(
            golden.Frames.Select(f => $"{f.Api} v{f.Version} '{f.ClientId}'").Distinct().Order(StringComparer.Ordinal),
            result.Frames.Select(f => $"{f.ApiName} v{f.ApiVersion} '{f.ClientId}'").Distinct().Order(StringComparer.Ordinal));
    }

    /// <summary>
    /// Why the broker must advertise Produce from v0 although it serves v3+ (KAFKA-18659):
    /// librdkafka 2.0.2 silently stops compressing when Produce v0 is missing from the range.
    /// </summary>
    [Fact]
    public async Task Librdkafka_sends_gzip_uncompressed_when_Produce_is_advertised_from_v3_only()
    {
        ClientFlow flow = ClientFlow.KcatProduce("gzip");

        FlowResult result = await flow.RunAsync(ClientTimeout,
            advertisedOverrides: new Dictionary<short, VersionRange> { [ApiKeys.Produce] = new(3, 9) });

        Assert.True(result.Run.Succeeded, result.Run.Describe());
        List<ProducedBatch> batches = ProducedBatches.Extract(result.Frames.Select(f => (f.ToString(), f.Bytes)));
        Assert.Equal(flow.Records.Count, batches.Sum(b => b.Records.Count));
        Assert.All(batches, b => Assert.Equal(Records.CompressionType.None, b.Header.CompressionType));
    }
}
