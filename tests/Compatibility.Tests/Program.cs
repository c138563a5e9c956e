using Aspire.Kafka.Compatibility.Tests.Capture;
using Aspire.Kafka.Compatibility.Tests.Flows;

namespace Aspire.Kafka.Compatibility.Tests;

/// <summary>
/// Capture mode: <c>dotnet run --project tests/Compatibility.Tests -- capture [flow ...]</c> runs the
/// real clients against the capture broker and replaces Golden/&lt;flow&gt;/ with what they sent.
/// (dotnet test does not use this entry point.)
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args is ["dump", ..])
        {
            return Dump(args.Length > 1 ? args[1..] : GoldenManifest.CapturedClients());
        }

        if (args.Length == 0 || args[0] != "capture")
        {
            Console.Error.WriteLine("usage: dotnet run --project tests/Compatibility.Tests -- capture [flow ...]");
            Console.Error.WriteLine("       dotnet run --project tests/Compatibility.Tests -- dump [client ...]");
            Console.Error.WriteLine($"flows: {string.Join(", ", ClientFlow.All.Select(f => f.Name))}");
            return 2;
        }

        IReadOnlyList<ClientFlow> flows = args.Length > 1 ? [.. args.Skip(1).Select(ClientFlow.Find)] : ClientFlow.All;
        int failures = 0;
        foreach (ClientFlow flow in flows)
        {
            FlowResult result = await flow.RunAsync(TimeSpan.FromSeconds(30));
            if (!result.Run.Succeeded || result.Problems.Count > 0)
            {
                failures++;
                Console.Error.WriteLine($"{flow.Name}: FAILED, golden bytes not written\n{result.Run.Describe()}");
                foreach (string problem in result.Problems)
                {
                    Console.Error.WriteLine($"  broker: {problem}");
                }

                continue;
            }

            foreach (CapturedFrame frame in result.Frames)
            {
                // Only bytes that our generated classes decode and re-encode exactly become golden.
                RequestFrame decoded = RequestFrame.Decode(frame.Bytes);
                if (!decoded.Encode().AsSpan().SequenceEqual(frame.Bytes))
                {
                    Console.Error.WriteLine($"{flow.Name}: note: {frame} does not re-encode to the same bytes");
                }
            }

            GoldenManifest manifest = GoldenManifest.Write(result);
            Console.WriteLine($"{flow.Name}: {manifest.Frames.Count} frames -> {GoldenManifest.DirectoryOf(flow.Name)}");
            foreach (GoldenFrameEntry entry in manifest.Frames)
            {
                Console.WriteLine($"  {entry.File}  conn {entry.Connection}  corr {entry.CorrelationId}  client '{entry.ClientId}'");
            }
        }

        return failures == 0 ? 0 : 1;
    }

    /// <summary>Prints the committed golden frames decoded: header and body.</summary>
    private static int Dump(IReadOnlyList<string> clients)
    {
        foreach (string client in clients)
        {
            GoldenManifest manifest = GoldenManifest.Load(client);
            Console.WriteLine($"== {client}: {manifest.Description}");
            foreach (GoldenFrameEntry entry in manifest.Frames)
            {
                RequestFrame frame = RequestFrame.Decode(manifest.ReadFrame(entry));
                Console.WriteLine($"-- {entry.File} (conn {entry.Connection}, header v{frame.HeaderVersion})");
                Console.WriteLine($"   {frame.Header}");
                Console.WriteLine($"   {frame.Body}");
            }
        }

        return 0;
    }
}
