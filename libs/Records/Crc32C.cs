using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using ArmCrc32 = System.Runtime.Intrinsics.Arm.Crc32;

namespace Aspire.Kafka.Records;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of record batches v2.
/// Uses the SSE4.2 / ARMv8 CRC32 instructions when present (three interleaved streams for long
/// inputs), and a slicing-by-8 table otherwise.
/// </summary>
public static class Crc32C
{
    private const uint Polynomial = 0x82F63B78;

    // Three streams of LongBlock bytes each are folded together with precomputed "shift by
    // LongBlock zero bytes" operators; ShortBlock handles the remainder the same way.
    private const int LongBlock = 8192;
    private const int ShortBlock = 256;

    private static readonly uint[] Table = SlicingBy8.BuildTable(Polynomial);
    private static readonly uint[] LongShift = BuildShiftTable(LongBlock);
    private static readonly uint[] ShortShift = BuildShiftTable(ShortBlock);

    /// <summary>True when the hardware instruction path is used.</summary>
    public static bool IsHardwareAccelerated => Sse42.X64.IsSupported || ArmCrc32.Arm64.IsSupported;

    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);

    /// <summary>Continues <paramref name="crc"/> (a finished CRC-32C of the preceding bytes) over <paramref name="data"/>.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        uint state = ~crc;
        state = IsHardwareAccelerated ? UpdateHardware(state, data) : UpdateSoftware(state, data);
        return ~state;
    }

    internal static uint ComputeSoftware(ReadOnlySpan<byte> data) => ~UpdateSoftware(~0u, data);

    internal static uint AppendSoftware(uint crc, ReadOnlySpan<byte> data) => ~UpdateSoftware(~crc, data);

    private static uint UpdateHardware(uint state, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 3 * LongBlock)
        {
            state = Interleaved3(state, data, LongBlock, LongShift);
            data = data[(3 * LongBlock)..];
        }

        while (data.Length >= 3 * ShortBlock)
        {
            state = Interleaved3(state, data, ShortBlock, ShortShift);
            data = data[(3 * ShortBlock)..];
        }

        return UpdateHardwareSingle(state, data);
    }

    private static uint Interleaved3(uint state, ReadOnlySpan<byte> data, int block, uint[] shift)
    {
        ulong a = state, b = 0, c = 0;
        ref byte p = ref MemoryMarshal.GetReference(data);
        for (int i = 0; i < block; i += 8)
        {
            a = Step(a, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, i)));
            b = Step(b, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, block + i)));
            c = Step(c, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, 2 * block + i)));
        }

        // The register update is linear: state(A|B|C) = shift(a, 2*block) ^ shift(b, block) ^ c.
        uint ab = Shift(shift, (uint)a) ^ (uint)b;
        return Shift(shift, ab) ^ (uint)c;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Step(ulong crc, ulong data)
    {
        if (Sse42.X64.IsSupported)
        {
            return Sse42.X64.Crc32(crc, LittleEndian(data));
        }

        return ArmCrc32.Arm64.ComputeCrc32C((uint)crc, LittleEndian(data));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong LittleEndian(ulong value) => BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Shift(uint[] table, uint crc) =>
        table[crc & 0xFF] ^ table[256 + ((crc >> 8) & 0xFF)] ^ table[512 + ((crc >> 16) & 0xFF)] ^ table[768 + (crc >> 24)];

    private static uint UpdateHardwareSingle(uint state, ReadOnlySpan<byte> data)
    {
        ulong crc = state;
        ref byte p = ref MemoryMarshal.GetReference(data);
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            crc = Step(crc, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, i)));
        }

        uint s = (uint)crc;
        for (; i < data.Length; i++)
        {
            s = Sse42.IsSupported ? Sse42.Crc32(s, Unsafe.Add(ref p, i)) : ArmCrc32.Arm64.ComputeCrc32C(s, Unsafe.Add(ref p, i));
        }

        return s;
    }

    private static uint UpdateSoftware(uint state, ReadOnlySpan<byte> data) => SlicingBy8.Update(Table, state, data);

    // Table of the linear map "feed `length` zero bytes into the register", by input byte lane.
    private static uint[] BuildShiftTable(int length)
    {
        Span<uint> basis = stackalloc uint[32];
        Span<byte> zeros = stackalloc byte[length];
        zeros.Clear();
        for (int bit = 0; bit < 32; bit++)
        {
            basis[bit] = UpdateBitwise(1u << bit, zeros);
        }

        var table = new uint[4 * 256];
        for (int lane = 0; lane < 4; lane++)
        {
            for (int value = 0; value < 256; value++)
            {
                uint image = 0;
                for (int bit = 0; bit < 8; bit++)
                {
                    if ((value & (1 << bit)) != 0)
                    {
                        image ^= basis[(lane * 8) + bit];
                    }
                }

                table[(lane * 256) + value] = image;
            }
        }

        return table;
    }

    private static uint UpdateBitwise(uint state, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
        {
            state ^= b;
            for (int k = 0; k < 8; k++)
            {
                state = (state & 1) != 0 ? (state >> 1) ^ Polynomial : state >> 1;
            }
        }

        return state;
    }
}
