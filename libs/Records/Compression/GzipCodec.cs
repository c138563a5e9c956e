using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;

namespace Aspire.Kafka.Records;

internal static class GzipCodec
{
    public static void Compress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination)
    {
        using var output = new BufferWriterStream(destination);
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(source);
        }

        if (output.Written == 0)
        {
            // GZipStream writes nothing for no input; readers expect a gzip member.
            output.Write(EmptyMember);
        }
    }

    private static ReadOnlySpan<byte> EmptyMember => [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    private const int MinimumMemberSize = 18;

    public static unsafe int Decompress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination, int maxDecompressedSize)
    {
        if (source.Length < MinimumMemberSize || source[0] != 0x1F || source[1] != 0x8B)
        {
            throw new CorruptRecordException("Invalid gzip data: no gzip header.");
        }

        long written = 0;
        fixed (byte* p = source)
        {
            using var input = new UnmanagedMemoryStream(p, source.Length);
            using var gzip = new GZipStream(input, CompressionMode.Decompress);
            try
            {
                while (true)
                {
                    Span<byte> span = Compression.NextOutput(destination, written, maxDecompressedSize);
                    int read = gzip.Read(span);
                    if (read == 0)
                    {
                        break;
                    }

                    Compression.Produced(destination, ref written, read, maxDecompressedSize);
                }
            }
            catch (InvalidDataException e)
            {
                throw new CorruptRecordException($"Invalid gzip data: {e.Message}", e);
            }
        }

        // GZipStream ends quietly on a truncated stream. Producers write one member, whose trailer
        // holds the uncompressed size mod 2^32: check it. (A multi-member stream fails this check.)
        uint isize = BinaryPrimitives.ReadUInt32LittleEndian(source[^4..]);
        if (isize != (uint)written)
        {
            throw new CorruptRecordException($"Invalid gzip data: truncated or corrupt stream ({written} bytes decoded, trailer says {isize}).");
        }

        return (int)written;
    }
}

/// <summary>A write-only stream appending to an <see cref="IBufferWriter{T}"/>.</summary>
internal sealed class BufferWriterStream(IBufferWriter<byte> destination) : Stream
{
    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public long Written { get; private set; }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Written += buffer.Length;
        buffer.CopyTo(destination.GetSpan(buffer.Length));
        destination.Advance(buffer.Length);
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void WriteByte(byte value) => Write([value]);

    public override void Flush() { }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
