using System.Buffers;
using Aspire.Kafka.Protocol.Framing;

namespace Aspire.Kafka.Protocol.Tests;

public sealed class FramingTests
{
    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] data, Segment? previous)
        {
            Memory = data;
            if (previous is not null)
            {
                RunningIndex = previous.RunningIndex + previous.Memory.Length;
                previous.Next = this;
            }
        }
    }

    /// <summary>A sequence split into one-byte segments: the worst case for a parser.</summary>
    private static ReadOnlySequence<byte> Fragmented(byte[] bytes)
    {
        Segment first = new([bytes[0]], null);
        Segment last = first;
        for (int i = 1; i < bytes.Length; i++)
        {
            last = new Segment([bytes[i]], last);
        }

        return new ReadOnlySequence<byte>(first, 0, last, 1);
    }

    private static byte[] Frames(params byte[][] bodies)
    {
        using var writer = new KafkaWriter();
        foreach (byte[] body in bodies)
        {
            int at = KafkaFrame.BeginFrame(writer);
            writer.WriteRaw(body);
            KafkaFrame.EndFrame(writer, at);
        }

        return writer.ToArray();
    }

    [Fact]
    public void Pipelined_frames_come_out_in_order_even_byte_by_byte()
    {
        byte[] stream = Frames([1, 2, 3], [], [4]);
        var buffer = Fragmented(stream);
        var bodies = new List<byte[]>();
        while (KafkaFrame.TryRead(ref buffer, 1024, out ReadOnlySequence<byte> frame))
        {
            bodies.Add(frame.ToArray());
        }

        Assert.Equal([new byte[] { 1, 2, 3 }, [], new byte[] { 4 }], bodies);
        Assert.Equal(0, buffer.Length);
    }

    [Fact]
    public void Incomplete_frame_needs_more_bytes_and_consumes_nothing()
    {
        byte[] stream = Frames([1, 2, 3]);
        for (int cut = 0; cut < stream.Length; cut++)
        {
            var buffer = new ReadOnlySequence<byte>(stream, 0, cut);
            Assert.False(KafkaFrame.TryRead(ref buffer, 1024, out _));
            Assert.Equal(cut, buffer.Length);
        }
    }

    [Theory]
    [InlineData(0x7fffffff)]
    [InlineData(-1)]
    [InlineData(1025)]
    public void Oversized_or_negative_frame_is_refused_before_its_body_arrives(int size)
    {
        byte[] prefix = [(byte)(size >> 24), (byte)(size >> 16), (byte)(size >> 8), (byte)size];
        var buffer = new ReadOnlySequence<byte>(prefix);
        var error = Assert.Throws<FrameSizeException>(() => KafkaFrame.TryRead(ref buffer, 1024, out _));
        Assert.Equal(size, error.Size);
    }
}
