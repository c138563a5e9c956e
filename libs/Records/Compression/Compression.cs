using System.Buffers;

namespace Aspire.Kafka.Records;

/// <summary>
/// The four Kafka codecs behind one entry point. gzip is the BCL's, snappy is IronSnappy (with
/// xerial framing), lz4 and zstd call the system's liblz4.so.1 and libzstd.so.1.
/// </summary>
public static class Compression
{
    /// <summary>Default bound on decompressed output, against decompression bombs.</summary>
    public const int DefaultMaxDecompressedSize = 256 * 1024 * 1024;

    /// <summary>zstd level used by Kafka when none is configured.</summary>
    public const int DefaultZstdLevel = 3;

    public static void Compress(CompressionType type, ReadOnlySpan<byte> source, IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        switch (type)
        {
            case CompressionType.None:
                source.CopyTo(destination.GetSpan(source.Length));
                destination.Advance(source.Length);
                break;
            case CompressionType.Gzip:
                GzipCodec.Compress(source, destination);
                break;
            case CompressionType.Snappy:
                SnappyCodec.Compress(source, destination);
                break;
            case CompressionType.Lz4:
                Lz4Codec.Compress(source, destination);
                break;
            case CompressionType.Zstd:
                ZstdCodec.Compress(source, destination, DefaultZstdLevel);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown compression type.");
        }
    }

    /// <summary>
    /// Decompresses <paramref name="source"/> into <paramref name="destination"/>; returns the bytes written.
    /// </summary>
    /// <exception cref="CorruptRecordException">the input is not valid for the codec.</exception>
    /// <exception cref="DecompressedSizeLimitException">the output would exceed <paramref name="maxDecompressedSize"/>.</exception>
    /// <exception cref="CompressionUnavailableException">the codec's native library is missing.</exception>
    public static int Decompress(CompressionType type, ReadOnlySpan<byte> source, IBufferWriter<byte> destination,
        int maxDecompressedSize = DefaultMaxDecompressedSize)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentOutOfRangeException.ThrowIfNegative(maxDecompressedSize);
        switch (type)
        {
            case CompressionType.None:
                if (source.Length > maxDecompressedSize)
                {
                    throw new DecompressedSizeLimitException(maxDecompressedSize);
                }

                source.CopyTo(destination.GetSpan(source.Length));
                destination.Advance(source.Length);
                return source.Length;
            case CompressionType.Gzip:
                return GzipCodec.Decompress(source, destination, maxDecompressedSize);
            case CompressionType.Snappy:
                return SnappyCodec.Decompress(source, destination, maxDecompressedSize);
            case CompressionType.Lz4:
                return Lz4Codec.Decompress(source, destination, maxDecompressedSize);
            case CompressionType.Zstd:
                return ZstdCodec.Decompress(source, destination, maxDecompressedSize);
            default:
                throw new CorruptRecordException($"Unknown compression codec id {(int)type}.");
        }
    }

    /// <summary>True when the codec can run here (its native library, if any, loads).</summary>
    public static bool IsAvailable(CompressionType type) => type switch
    {
        CompressionType.Lz4 => NativeLibraries.Lz4.IsAvailable,
        CompressionType.Zstd => NativeLibraries.Zstd.IsAvailable,
        <= CompressionType.Snappy => true,
        _ => false,
    };

    /// <summary>A span to decompress into: at most one byte past the limit, so overflow is seen.</summary>
    internal static Span<byte> NextOutput(IBufferWriter<byte> destination, long written, int maxDecompressedSize, int chunk = 64 * 1024)
    {
        long allowed = (long)maxDecompressedSize - written + 1;
        Span<byte> span = destination.GetSpan((int)Math.Min(chunk, allowed));
        return span.Length > allowed ? span[..(int)allowed] : span;
    }

    internal static void Produced(IBufferWriter<byte> destination, ref long written, int count, int maxDecompressedSize)
    {
        written += count;
        if (written > maxDecompressedSize)
        {
            throw new DecompressedSizeLimitException(maxDecompressedSize);
        }

        destination.Advance(count);
    }
}

/// <summary>Decompressed output larger than the allowed maximum (a decompression bomb or an oversized batch).</summary>
public sealed class DecompressedSizeLimitException : CorruptRecordException
{
    public DecompressedSizeLimitException(int limit)
        : base($"Decompressed data exceeds the limit of {limit} bytes.")
    {
        Limit = limit;
    }

    public int Limit { get; }
}

/// <summary>A codec whose native library cannot be loaded on this machine.</summary>
public sealed class CompressionUnavailableException : NotSupportedException
{
    public CompressionUnavailableException(CompressionType type, string libraryName, string debianPackage, Exception? inner = null)
        : base($"{type} compression needs the native library {libraryName}, which could not be loaded. " +
               $"Install it: apt-get install -y {debianPackage}", inner)
    {
        CompressionType = type;
        LibraryName = libraryName;
        DebianPackage = debianPackage;
    }

    public CompressionType CompressionType { get; }

    public string LibraryName { get; }

    public string DebianPackage { get; }
}
