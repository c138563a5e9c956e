using System.Buffers;
using System.Runtime.InteropServices;

namespace Aspire.Kafka.Records;

/// <summary>
/// zstd through libzstd. Decoding streams (ZSTD_decompressStream) because producers such as
/// librdkafka may not record the content size in the frame header.
/// </summary>
internal static unsafe partial class ZstdCodec
{
    public static void Compress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination, int level)
    {
        NativeLibraries.Zstd.EnsureAvailable();
        nuint bound = ZSTD_compressBound((nuint)source.Length);
        Span<byte> span = destination.GetSpan(checked((int)bound));
        nuint written;
        fixed (byte* src = source)
        fixed (byte* dst = span)
        {
            written = ZSTD_compress(dst, (nuint)span.Length, src, (nuint)source.Length, level);
        }

        if (ZSTD_isError(written) != 0)
        {
            throw new InvalidOperationException($"zstd could not compress: {ErrorName(written)}.");
        }

        destination.Advance((int)written);
    }

    public static int Decompress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination, int maxDecompressedSize)
    {
        NativeLibraries.Zstd.EnsureAvailable();
        nint context = ZSTD_createDCtx();
        if (context == 0)
        {
            throw new OutOfMemoryException("ZSTD_createDCtx failed.");
        }

        long written = 0;
        try
        {
            fixed (byte* src = source)
            {
                var input = new ZstdBuffer { Data = src, Size = (nuint)source.Length, Position = 0 };
                while (true)
                {
                    Span<byte> span = Compression.NextOutput(destination, written, maxDecompressedSize);
                    nuint consumedBefore = input.Position;
                    nuint hint;
                    ZstdBuffer output;
                    fixed (byte* dst = span)
                    {
                        output = new ZstdBuffer { Data = dst, Size = (nuint)span.Length, Position = 0 };
                        hint = ZSTD_decompressStream(context, &output, &input);
                    }

                    if (ZSTD_isError(hint) != 0)
                    {
                        throw new CorruptRecordException($"Invalid zstd data: {ErrorName(hint)}.");
                    }

                    Compression.Produced(destination, ref written, (int)output.Position, maxDecompressedSize);
                    bool inputDone = input.Position == input.Size;
                    if (output.Position == 0 && input.Position == consumedBefore && !inputDone)
                    {
                        throw new CorruptRecordException("Invalid zstd data: decoding made no progress.");
                    }

                    if (hint == 0 && inputDone)
                    {
                        return (int)written;
                    }

                    if (inputDone && output.Position < output.Size)
                    {
                        throw new CorruptRecordException("Truncated zstd frame.");
                    }
                }
            }
        }
        finally
        {
            ZSTD_freeDCtx(context);
        }
    }

    private static string ErrorName(nuint code) => Marshal.PtrToStringUTF8(ZSTD_getErrorName(code)) ?? $"error {code}";

    // ZSTD_inBuffer and ZSTD_outBuffer share this layout: pointer, size, position.
    [StructLayout(LayoutKind.Sequential)]
    private struct ZstdBuffer
    {
        public byte* Data;
        public nuint Size;
        public nuint Position;
    }

    [LibraryImport(NativeLibraries.ZstdName)]
    private static partial nuint ZSTD_compressBound(nuint srcSize);

    [LibraryImport(NativeLibraries.ZstdName)]
    private static partial nuint ZSTD_compress(byte* dst, nuint dstCapacity, byte* src, nuint srcSize, int level);

    [LibraryImport(NativeLibraries.ZstdName)]
    private static partial uint ZSTD_isError(nuint code);

    [LibraryImport(NativeLibraries.ZstdName)]
    private static partial nint ZSTD_getErrorName(nuint code);

    [LibraryImport(NativeLibraries.ZstdName)]
    private static partial nint ZSTD_createDCtx();

    [LibraryImport(NativeLibraries.ZstdName)]
    private static partial nuint ZSTD_freeDCtx(nint context);

    [LibraryImport(NativeLibraries.ZstdName)]
    private static partial nuint ZSTD_decompressStream(nint context, ZstdBuffer* output, ZstdBuffer* input);
}
