using System.Buffers;
using System.Buffers.Binary;

namespace Aspire.Kafka.Protocol.Framing;

/// <summary>
/// Kafka's framing: every request and response is a 4-byte big-endian size followed by that
/// many bytes. <see cref="TryRead"/> is an incremental parser: it consumes one whole frame from
/// the front of a buffer, or says it needs more bytes, and refuses a frame larger than the
/// limit (socket.request.max.bytes) before anything is allocated for it.
/// </summary>
public static class KafkaFrame
{
    /// <summary>Kafka's default socket.request.max.bytes: 100 MiB.</summary>
    public const int DefaultMaxFrameSize = 100 * 1024 * 1024;

    /// <summary>
    /// Tries to take one frame off the front of <paramref name="buffer"/>. On success the frame
    /// body (without its size prefix) is in <paramref name="frame"/> and <paramref name="buffer"/>
    /// starts after it. Throws <see cref="FrameSizeException"/> for a negative or too-large size.
    /// </summary>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, int maxFrameSize, out ReadOnlySequence<byte> frame)
    {
        frame = default;
        if (buffer.Length < 4)
        {
            return false;
        }

        int size;
        ReadOnlySpan<byte> first = buffer.FirstSpan;
        if (first.Length >= 4)
        {
            size = BinaryPrimitives.ReadInt32BigEndian(first);
        }
        else
        {
            Span<byte> prefix = stackalloc byte[4];
            buffer.Slice(0, 4).CopyTo(prefix);
            size = BinaryPrimitives.ReadInt32BigEndian(prefix);
        }

        if (size < 0 || size > maxFrameSize)
        {
            throw new FrameSizeException(size, maxFrameSize);
        }

        if (buffer.Length - 4 < size)
        {
            return false;
        }

        frame = buffer.Slice(4, size);
        buffer = buffer.Slice(frame.End);
        return true;
    }

    /// <summary>Writes the 4-byte size prefix in front of a frame body that a writer built after <see cref="BeginFrame"/>.</summary>
    public static int BeginFrame(KafkaWriter writer) => writer.ReserveInt32();

    public static void EndFrame(KafkaWriter writer, int sizePosition) =>
        writer.PatchInt32(sizePosition, writer.Length - sizePosition - 4);
}

/// <summary>A frame whose size prefix is negative or larger than the configured maximum.</summary>
public sealed class FrameSizeException : KafkaProtocolException
{
    public FrameSizeException(int size, int maxFrameSize)
        : base(size < 0
            ? $"Frame size {size} is negative."
            : $"Frame size {size} exceeds the maximum of {maxFrameSize} bytes (socket.request.max.bytes).")
    {
        Size = size;
        MaxFrameSize = maxFrameSize;
    }

    public int Size { get; }

    public int MaxFrameSize { get; }
}
