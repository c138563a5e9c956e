using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Aspire.Kafka.Records;

/// <summary>Table-driven reflected CRC-32 (slicing by 8) for any polynomial: the software paths of <see cref="Crc32C"/> and <see cref="Crc32"/>.</summary>
internal static class SlicingBy8
{
    public static uint[] BuildTable(uint reflectedPolynomial)
    {
        var table = new uint[8 * 256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? (c >> 1) ^ reflectedPolynomial : c >> 1;
            }

            table[n] = c;
        }

        for (int n = 0; n < 256; n++)
        {
            uint c = table[n];
            for (int k = 1; k < 8; k++)
            {
                c = table[c & 0xFF] ^ (c >> 8);
                table[(k * 256) + n] = c;
            }
        }

        return table;
    }

    /// <summary>Feeds <paramref name="data"/> into the register <paramref name="state"/> (no pre/post inversion).</summary>
    public static uint Update(uint[] table, uint state, ReadOnlySpan<byte> data)
    {
        if (table.Length != 8 * 256)
        {
            throw new ArgumentException("Not a slicing-by-8 table.", nameof(table));
        }

        // Indexes are masked to 0..255 within each 256-entry slice, so the reads stay inside the table.
        ref uint t = ref MemoryMarshal.GetArrayDataReference(table);
        ref byte p = ref MemoryMarshal.GetReference(data);
        int length = data.Length;
        int i = 0;
        for (; i + 8 <= length; i += 8)
        {
            uint lo = ReadLittleEndian(ref Unsafe.Add(ref p, i)) ^ state;
            uint hi = ReadLittleEndian(ref Unsafe.Add(ref p, i + 4));
            state = Unsafe.Add(ref t, (7 * 256) + (int)(lo & 0xFF)) ^ Unsafe.Add(ref t, (6 * 256) + (int)((lo >> 8) & 0xFF)) ^
                    Unsafe.Add(ref t, (5 * 256) + (int)((lo >> 16) & 0xFF)) ^ Unsafe.Add(ref t, (4 * 256) + (int)(lo >> 24)) ^
                    Unsafe.Add(ref t, (3 * 256) + (int)(hi & 0xFF)) ^ Unsafe.Add(ref t, (2 * 256) + (int)((hi >> 8) & 0xFF)) ^
                    Unsafe.Add(ref t, 256 + (int)((hi >> 16) & 0xFF)) ^ Unsafe.Add(ref t, (int)(hi >> 24));
        }

        for (; i < length; i++)
        {
            state = Unsafe.Add(ref t, (int)((state ^ Unsafe.Add(ref p, i)) & 0xFF)) ^ (state >> 8);
        }

        return state;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint ReadLittleEndian(ref byte source)
    {
        uint value = Unsafe.ReadUnaligned<uint>(ref source);
        return BitConverter.IsLittleEndian ? value : System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(value);
    }
}
