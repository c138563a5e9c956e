using System.Buffers;
using System.Buffers.Binary;
using Aspire.Kafka.Protocol;
using IronSnappy;

namespace Aspire.Kafka.Records;

/// <summary>
/// Snappy as Kafka carries it. Decoding accepts both forms found in the wild: a raw snappy block
/// (librdkafka, kafka-python) and the xerial snappy-java stream (Java clients and brokers):
/// magic 0x82 "SNAPPY" 0, int32 version, int32 compatible version, then big-endian int32 length +
/// raw block, repeated. Encoding writes the xerial stream with 32 KiB blocks, as Kafka's own
/// broker does (SnappyOutputStream) when it recompresses; every client reads it.
/// </summary>
internal static class SnappyCodec
{
    private const int XerialHeaderSize = 16;
    private const int XerialBlockSize = 32 * 1024;
    private static ReadOnlySpan<byte> XerialMagic => [0x82, (byte)'S', (byte)'N', (byte)'A', (byte)'P', (byte)'P', (byte)'Y', 0];

    public static bool IsXerial(ReadOnlySpan<byte> source) =>
        source.Length >= XerialHeaderSize && source[..XerialMagic.Length].SequenceEqual(XerialMagic);

    public static void Compress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination)
    {
        Span<byte> header = destination.GetSpan(XerialHeaderSize);
        XerialMagic.CopyTo(header);
        BinaryPrimitives.WriteInt32BigEndian(header[8..], 1);
        BinaryPrimitives.WriteInt32BigEndian(header[12..], 1);
        destination.Advance(XerialHeaderSize);

        while (!source.IsEmpty)
        {
            ReadOnlySpan<byte> block = source[..Math.Min(XerialBlockSize, source.Length)];
            byte[] encoded = Snappy.Encode(block);
            Span<byte> span = destination.GetSpan(4 + encoded.Length);
            BinaryPrimitives.WriteInt32BigEndian(span, encoded.Length);
            encoded.CopyTo(span[4..]);
            destination.Advance(4 + encoded.Length);
            source = source[block.Length..];
        }
    }

    public static void CompressRaw(ReadOnlySpan<byte> source, IBufferWriter<byte> destination)
    {
        byte[] encoded = Snappy.Encode(source);
        encoded.CopyTo(destination.GetSpan(encoded.Length));
        destination.Advance(encoded.Length);
    }

    public static int Decompress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination, int maxDecompressedSize)
    {
        long written = 0;
        if (!IsXerial(source))
        {
            DecodeBlock(source, destination, ref written, maxDecompressedSize);
            return (int)written;
        }

        ReadOnlySpan<byte> rest = source[XerialHeaderSize..];
        while (!rest.IsEmpty)
        {
            if (rest.Length < 4)
            {
                throw new CorruptRecordException("Truncated xerial snappy stream: incomplete block length.");
            }

            int length = BinaryPrimitives.ReadInt32BigEndian(rest);
            if (length < 0 || length > rest.Length - 4)
            {
                throw new CorruptRecordException($"Truncated xerial snappy stream: block of {length} bytes, {rest.Length - 4} left.");
            }

            DecodeBlock(rest.Slice(4, length), destination, ref written, maxDecompressedSize);
            rest = rest[(4 + length)..];
        }

        return (int)written;
    }

    private static void DecodeBlock(ReadOnlySpan<byte> block, IBufferWriter<byte> destination, ref long written, int maxDecompressedSize)
    {
        uint declared;
        try
        {
            declared = Varint.ReadUnsignedVarint(block, out _);
        }
        catch (KafkaProtocolException e)
        {
            throw new CorruptRecordException("Invalid snappy block: bad length preamble.", e);
        }

        if (written + declared > maxDecompressedSize)
        {
            throw new DecompressedSizeLimitException(maxDecompressedSize);
        }

        byte[] decoded;
        try
        {
            decoded = Snappy.Decode(block);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new CorruptRecordException($"Invalid snappy block: {e.Message}", e);
        }

        decoded.CopyTo(destination.GetSpan(decoded.Length));
        Compression.Produced(destination, ref written, decoded.Length, maxDecompressedSize);
    }
}
