using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Aspire.Kafka.ServiceDefaults.Tests;

/// <summary>The Kafka-protocol connection loop, through raw sockets against the echo service.</summary>
public sealed class KafkaListenerTests(EchoServiceFixture fixture) : IClassFixture<EchoServiceFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private async Task<NetworkStream> ConnectAsync()
    {
        var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(fixture.KafkaEndPoint);
        NetworkStream stream = client.GetStream();
        stream.ReadTimeout = (int)Timeout.TotalMilliseconds;
        return stream;
    }

    private static byte[] Frame(byte[] body)
    {
        byte[] frame = new byte[4 + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, body.Length);
        body.CopyTo(frame, 4);
        return frame;
    }

    private static async Task<byte[]> ReadFrameAsync(NetworkStream stream)
    {
        byte[] size = new byte[4];
        using var cts = new CancellationTokenSource(Timeout);
        await stream.ReadExactlyAsync(size, cts.Token);
        byte[] body = new byte[BinaryPrimitives.ReadInt32BigEndian(size)];
        await stream.ReadExactlyAsync(body, cts.Token);
        return body;
    }

    /// <summary>Reads until the peer closes; returns the bytes read before that.</summary>
    private static async Task<int> ReadUntilClosedAsync(NetworkStream stream)
    {
        byte[] buffer = new byte[1024];
        int total = 0;
        using var cts = new CancellationTokenSource(Timeout);
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer, cts.Token)) > 0)
            {
                total += n;
            }
        }
        catch (IOException)
        {
            // A reset is a close too.
        }

        return total;
    }

    [Fact]
    public async Task Pipelined_frames_are_answered_in_order()
    {
        await using NetworkStream stream = await ConnectAsync();
        var all = new MemoryStream();
        for (int i = 0; i < 50; i++)
        {
            all.Write(Frame(Encoding.ASCII.GetBytes($"request-{i}-" + new string('x', i * 37))));
        }

        // Every frame in one write, before reading anything (kafka-python does this with ApiVersions + Metadata).
        await stream.WriteAsync(all.ToArray());
        for (int i = 0; i < 50; i++)
        {
            byte[] response = await ReadFrameAsync(stream);
            Assert.Equal($"request-{i}-" + new string('x', i * 37), Encoding.ASCII.GetString(response));
        }
    }

    [Fact]
    public async Task A_frame_split_across_writes_and_segments_is_reassembled()
    {
        await using NetworkStream stream = await ConnectAsync();
        byte[] body = new byte[1_000_000];
        new Random(7).NextBytes(body);
        byte[] frame = Frame(body);
        // Dribble the first bytes (size prefix split too), then the rest in large chunks.
        for (int i = 0; i < 6; i++)
        {
            await stream.WriteAsync(frame.AsMemory(i, 1));
            await stream.FlushAsync();
        }

        for (int offset = 6; offset < frame.Length; offset += 65536)
        {
            await stream.WriteAsync(frame.AsMemory(offset, Math.Min(65536, frame.Length - offset)));
        }

        Assert.Equal(body, await ReadFrameAsync(stream));
    }

    [Fact]
    public async Task A_request_the_handler_does_not_answer_sends_nothing_and_the_next_is_answered()
    {
        await using NetworkStream stream = await ConnectAsync();
        await stream.WriteAsync(Frame("noreply"u8.ToArray()).Concat(Frame("after"u8.ToArray())).ToArray());
        Assert.Equal("after", Encoding.ASCII.GetString(await ReadFrameAsync(stream)));
    }

    [Fact]
    public async Task A_2GiB_size_claim_closes_only_that_connection()
    {
        await using NetworkStream bystander = await ConnectAsync();
        await bystander.WriteAsync(Frame("before"u8.ToArray()));
        Assert.Equal("before", Encoding.ASCII.GetString(await ReadFrameAsync(bystander)));

        await using NetworkStream offender = await ConnectAsync();
        byte[] claim = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(claim, int.MaxValue);
        await offender.WriteAsync(claim);
        Assert.Equal(0, await ReadUntilClosedAsync(offender));

        await bystander.WriteAsync(Frame("still here"u8.ToArray()));
        Assert.Equal("still here", Encoding.ASCII.GetString(await ReadFrameAsync(bystander)));

        await using NetworkStream newcomer = await ConnectAsync();
        await newcomer.WriteAsync(Frame("new"u8.ToArray()));
        Assert.Equal("new", Encoding.ASCII.GetString(await ReadFrameAsync(newcomer)));
        await Testing.TestSupport.Eventually(
            () => fixture.Echo.Tail.Any(l => l.Contains("Closing connection from", StringComparison.Ordinal) && l.Contains("socket.request.max.bytes", StringComparison.Ordinal)),
            Timeout, "one log line naming the remote endpoint and the frame-size reason");
    }

    [Fact]
    public async Task A_negative_size_and_a_throwing_handler_close_only_their_connection()
    {
        await using NetworkStream bystander = await ConnectAsync();

        await using NetworkStream negative = await ConnectAsync();
        await negative.WriteAsync(new byte[] { 0xFF, 0xFF, 0xFF, 0xFE });
        Assert.Equal(0, await ReadUntilClosedAsync(negative));

        await using NetworkStream throwing = await ConnectAsync();
        await throwing.WriteAsync(Frame("ok"u8.ToArray()).Concat(Frame("throw"u8.ToArray())).Concat(Frame("never"u8.ToArray())).ToArray());
        Assert.Equal("ok", Encoding.ASCII.GetString(await ReadFrameAsync(throwing)));
        Assert.Equal(0, await ReadUntilClosedAsync(throwing));

        await bystander.WriteAsync(Frame("fine"u8.ToArray()));
        Assert.Equal("fine", Encoding.ASCII.GetString(await ReadFrameAsync(bystander)));
        await Testing.TestSupport.Eventually(
            () => fixture.Echo.Tail.Any(l => l.Contains("the request handler threw InvalidOperationException: asked to throw", StringComparison.Ordinal)),
            Timeout, "one log line naming the handler failure");
    }
}
