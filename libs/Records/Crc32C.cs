using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ArmCrc32 = System.Runtime.Intrinsics.Arm.Crc32;

namespace Aspire.Kafka.Records;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of record batches v2.
/// Uses the SSE4.2 / ARMv8 CRC32 instructions when present (three interleaved streams for long
/// inputs), folding with 256-bit carry-less multiplication (VPCLMULQDQ) for long inputs where the
/// CPU has it, and a slicing-by-8 table otherwise.
/// </summary>
/// <remarks>
/// Folding, in the reflected bit order of this CRC (bit 0 of byte 0 is the highest power): a
/// 16-byte block R = H·x^64 + L (H in the low 64-bit lane, L in the high one) is moved D bits
/// forward as R·x^D ≡ H·(x^(D+63) mod P)·x + L·(x^(D-1) mod P)·x, because a carry-less product of
/// two reflected 64-bit operands comes out one power short (the "·x"). Each product is below
/// 96 bits, so the folded block is again 128 bits and congruent modulo P. At the end the blocks are
/// folded into one, which the CRC32 instruction reduces (two 8-byte steps from a zero register give
/// R·x^32 mod P, the register value of the bytes so far). The incoming register is XORed into the
/// first four bytes, which is the same as starting from it.
/// </remarks>
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

    // Inputs from this length on are folded (when the CPU has VPCLMULQDQ): below it the fixed cost
    // of combining eight lanes at the end is not paid back.
    internal const int FoldThreshold = 512;

    // FoldConstants[m]: (x^(128m+63) mod P, x^(128m-1) mod P) reflected, moving a 16-byte block m blocks forward.
    private static readonly Vector128<ulong>[] FoldConstants = BuildFoldConstants(8);

    /// <summary>True when long inputs are folded with 256-bit carry-less multiplication.</summary>
    internal static bool IsFoldingAccelerated => Pclmulqdq.V256.IsSupported && Avx2.IsSupported && Sse42.X64.IsSupported;

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
        if (data.Length >= FoldThreshold && IsFoldingAccelerated)
        {
            int folded = data.Length & ~127;
            state = Fold256(state, data[..folded]);
            return UpdateHardwareSingle(state, data[folded..]);
        }

        return UpdateInterleaved(state, data);
    }

    /// <summary>The CRC32-instruction path without folding (for comparisons in tests and benchmarks).</summary>
    internal static uint ComputeInterleaved(ReadOnlySpan<byte> data) => ~UpdateInterleaved(~0u, data);

    private static uint UpdateInterleaved(uint state, ReadOnlySpan<byte> data)
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

    /// <summary>Register after <paramref name="data"/> (a multiple of 128 bytes, at least 128) by folding.</summary>
    internal static uint Fold256(uint state, ReadOnlySpan<byte> data)
    {
        ref byte p = ref MemoryMarshal.GetReference(data);
        int length = data.Length;

        // Four 32-byte accumulators, eight 16-byte lanes: each lane folds 128 bytes forward per round.
        Vector256<ulong> a0 = Vector256.LoadUnsafe(ref p).AsUInt64() ^ Vector256.CreateScalar((ulong)state);
        Vector256<ulong> a1 = Vector256.LoadUnsafe(ref Unsafe.Add(ref p, 32)).AsUInt64();
        Vector256<ulong> a2 = Vector256.LoadUnsafe(ref Unsafe.Add(ref p, 64)).AsUInt64();
        Vector256<ulong> a3 = Vector256.LoadUnsafe(ref Unsafe.Add(ref p, 96)).AsUInt64();
        Vector256<ulong> k = Vector256.Create(FoldConstants[8], FoldConstants[8]);
        for (int i = 128; i < length; i += 128)
        {
            a0 = Fold(a0, k) ^ Vector256.LoadUnsafe(ref Unsafe.Add(ref p, i)).AsUInt64();
            a1 = Fold(a1, k) ^ Vector256.LoadUnsafe(ref Unsafe.Add(ref p, i + 32)).AsUInt64();
            a2 = Fold(a2, k) ^ Vector256.LoadUnsafe(ref Unsafe.Add(ref p, i + 64)).AsUInt64();
            a3 = Fold(a3, k) ^ Vector256.LoadUnsafe(ref Unsafe.Add(ref p, i + 96)).AsUInt64();
        }

        // Lane j (of the last 128 bytes) moves 7 - j blocks forward onto the last lane.
        Vector128<ulong> r = Fold(a0.GetLower(), FoldConstants[7]) ^ Fold(a0.GetUpper(), FoldConstants[6])
            ^ Fold(a1.GetLower(), FoldConstants[5]) ^ Fold(a1.GetUpper(), FoldConstants[4])
            ^ Fold(a2.GetLower(), FoldConstants[3]) ^ Fold(a2.GetUpper(), FoldConstants[2])
            ^ Fold(a3.GetLower(), FoldConstants[1]) ^ a3.GetUpper();
        ulong crc = Sse42.X64.Crc32(0UL, r.GetElement(0));
        return (uint)Sse42.X64.Crc32(crc, r.GetElement(1));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<ulong> Fold(Vector256<ulong> block, Vector256<ulong> constants) =>
        Pclmulqdq.V256.CarrylessMultiply(block, constants, 0x00) ^ Pclmulqdq.V256.CarrylessMultiply(block, constants, 0x11);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<ulong> Fold(Vector128<ulong> block, Vector128<ulong> constants) =>
        Pclmulqdq.CarrylessMultiply(block, constants, 0x00) ^ Pclmulqdq.CarrylessMultiply(block, constants, 0x11);

    private static Vector128<ulong>[] BuildFoldConstants(int maxBlocks)
    {
        var constants = new Vector128<ulong>[maxBlocks + 1];
        for (int m = 1; m <= maxBlocks; m++)
        {
            constants[m] = Vector128.Create(Reflect64(XPowModP((128 * m) + 63)), Reflect64(XPowModP((128 * m) - 1)));
        }

        return constants;
    }

    // x^n mod P in the normal bit order (bit d is the coefficient of x^d).
    private static uint XPowModP(int n)
    {
        const ulong normalPolynomial = 0x1_1EDC_6F41;
        ulong r = 1;
        for (int i = 0; i < n; i++)
        {
            r <<= 1;
            if ((r & (1UL << 32)) != 0)
            {
                r ^= normalPolynomial;
            }
        }

        return (uint)r;
    }

    // A polynomial of degree below 32 as a reflected 64-bit operand: the coefficient of x^d at bit 63 - d.
    private static ulong Reflect64(uint normal)
    {
        ulong reflected = 0;
        for (int d = 0; d < 32; d++)
        {
            if ((normal & (1u << d)) != 0)
            {
                reflected |= 1UL << (63 - d);
            }
        }

        return reflected;
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
