using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Aspire.Kafka.Records;

/// <summary>
/// Kafka's lz4: the standard LZ4 frame format, through liblz4's LZ4F API. Frames are written with
/// 64 KiB independent blocks and no content checksum, as Kafka's Java producer writes them;
/// any valid frame (content checksum, block checksums, content size) is read.
/// </summary>
internal static unsafe partial class Lz4Codec
{
    private const uint Lz4fVersion = 100;
    private const uint FrameMagic = 0x184D2204;

    public static void Compress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination)
    {
        NativeLibraries.Lz4.EnsureAvailable();
        var preferences = new Lz4fPreferences
        {
            BlockSizeId = 4, // LZ4F_max64KB
            BlockMode = 1, // LZ4F_blockIndependent
        };

        nuint bound = LZ4F_compressFrameBound((nuint)source.Length, &preferences);
        Span<byte> span = destination.GetSpan(checked((int)bound));
        nuint written;
        fixed (byte* src = source)
        fixed (byte* dst = span)
        {
            written = LZ4F_compressFrame(dst, (nuint)span.Length, src, (nuint)source.Length, &preferences);
        }

        ThrowIfError(written, "compress");
        destination.Advance((int)written);
    }

    public static int Decompress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination, int maxDecompressedSize)
    {
        NativeLibraries.Lz4.EnsureAvailable();
        nint context;
        ThrowIfError(LZ4F_createDecompressionContext(&context, Lz4fVersion), "create a decompression context");
        long written = 0;
        try
        {
            ReadOnlySpan<byte> rest = source;
            while (true)
            {
                Span<byte> output = Compression.NextOutput(destination, written, maxDecompressedSize);
                nuint produced = (nuint)output.Length;
                nuint consumed = (nuint)rest.Length;
                nuint hint;
                fixed (byte* src = rest)
                fixed (byte* dst = output)
                {
                    hint = LZ4F_decompress(context, dst, &produced, src, &consumed, null);
                }

                if (LZ4F_isError(hint) != 0)
                {
                    throw new CorruptRecordException($"Invalid lz4 frame: {ErrorName(hint)}.");
                }

                Compression.Produced(destination, ref written, (int)produced, maxDecompressedSize);
                rest = rest[(int)consumed..];
                if (hint == 0 && rest.IsEmpty)
                {
                    return (int)written;
                }

                if (produced == 0 && (rest.IsEmpty || consumed == 0))
                {
                    throw new CorruptRecordException(rest.IsEmpty ? "Truncated lz4 frame." : "Invalid lz4 frame: decoding made no progress.");
                }
            }
        }
        finally
        {
            LZ4F_freeDecompressionContext(context);
        }
    }

    /// <summary>
    /// Kafka before 0.10 (magic 0, KAFKA-3160) computed the frame header checksum over the magic
    /// number too; liblz4 rejects such frames. Rewrites the header checksum byte in place with the
    /// correct value. Returns false when this is not an LZ4 frame header.
    /// </summary>
    public static bool FixHeaderChecksum(Span<byte> frame)
    {
        if (frame.Length < 7 || BinaryPrimitives.ReadUInt32LittleEndian(frame) != FrameMagic)
        {
            return false;
        }

        byte flg = frame[4];
        int descriptorLength = 2 + ((flg & 0x08) != 0 ? 8 : 0) + ((flg & 0x01) != 0 ? 4 : 0);
        if (frame.Length < 4 + descriptorLength + 1)
        {
            return false;
        }

        frame[4 + descriptorLength] = (byte)(XxHash32Small(frame.Slice(4, descriptorLength)) >> 8);
        return true;
    }

    // XXH32 with seed 0 for inputs under 16 bytes (a frame descriptor is at most 14).
    internal static uint XxHash32Small(ReadOnlySpan<byte> input)
    {
        const uint Prime1 = 2654435761U, Prime2 = 2246822519U, Prime3 = 3266489917U, Prime4 = 668265263U, Prime5 = 374761393U;
        uint h = Prime5 + (uint)input.Length;
        int i = 0;
        for (; i + 4 <= input.Length; i += 4)
        {
            h += BinaryPrimitives.ReadUInt32LittleEndian(input[i..]) * Prime3;
            h = uint.RotateLeft(h, 17) * Prime4;
        }

        for (; i < input.Length; i++)
        {
            h += input[i] * Prime5;
            h = uint.RotateLeft(h, 11) * Prime1;
        }

        h ^= h >> 15;
        h *= Prime2;
        h ^= h >> 13;
        h *= Prime3;
        h ^= h >> 16;
        return h;
    }

    private static void ThrowIfError(nuint code, string what)
    {
        if (LZ4F_isError(code) != 0)
        {
            throw new CorruptRecordException($"lz4 could not {what}: {ErrorName(code)}.");
        }
    }

    private static string ErrorName(nuint code) => Marshal.PtrToStringUTF8(LZ4F_getErrorName(code)) ?? $"error {code}";

    [StructLayout(LayoutKind.Sequential)]
    private struct Lz4fPreferences
    {
        public int BlockSizeId;
        public int BlockMode;
        public int ContentChecksumFlag;
        public int FrameType;
        public ulong ContentSize;
        public uint DictId;
        public int BlockChecksumFlag;
        public int CompressionLevel;
        public uint AutoFlush;
        public uint FavorDecSpeed;
        public uint Reserved0;
        public uint Reserved1;
        public uint Reserved2;
    }

    [LibraryImport(NativeLibraries.Lz4Name)]
    private static partial uint LZ4F_isError(nuint code);

    [LibraryImport(NativeLibraries.Lz4Name)]
    private static partial nint LZ4F_getErrorName(nuint code);

    [LibraryImport(NativeLibraries.Lz4Name)]
    private static partial nuint LZ4F_compressFrameBound(nuint srcSize, Lz4fPreferences* preferences);

    [LibraryImport(NativeLibraries.Lz4Name)]
    private static partial nuint LZ4F_compressFrame(byte* dst, nuint dstCapacity, byte* src, nuint srcSize, Lz4fPreferences* preferences);

    [LibraryImport(NativeLibraries.Lz4Name)]
    private static partial nuint LZ4F_createDecompressionContext(nint* context, uint version);

    [LibraryImport(NativeLibraries.Lz4Name)]
    private static partial nuint LZ4F_freeDecompressionContext(nint context);

    [LibraryImport(NativeLibraries.Lz4Name)]
    private static partial nuint LZ4F_decompress(nint context, byte* dst, nuint* dstSize, byte* src, nuint* srcSize, void* options);
}
