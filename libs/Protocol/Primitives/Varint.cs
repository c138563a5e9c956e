namespace Aspire.Kafka.Protocol;

/// <summary>
/// Kafka's variable-length integers: unsigned LEB128 ("unsigned varint", used for compact
/// lengths and tags) and zigzag-encoded signed varint/varlong (used inside record batches).
/// All methods work on spans and never allocate.
/// </summary>
public static class Varint
{
    public const int MaxVarintBytes = 5;
    public const int MaxVarlongBytes = 10;

    /// <summary>Reads an unsigned varint (at most 5 bytes). Throws on truncated or over-long input.</summary>
    public static uint ReadUnsignedVarint(ReadOnlySpan<byte> source, out int bytesRead)
    {
        uint value = 0;
        for (int i = 0, shift = 0; i < MaxVarintBytes; i++, shift += 7)
        {
            if (i >= source.Length)
            {
                throw new KafkaProtocolException("Truncated varint.");
            }

            byte b = source[i];
            if (i == MaxVarintBytes - 1 && b > 0x0F)
            {
                throw new KafkaProtocolException("Varint is too long: more than 32 bits.");
            }

            value |= (uint)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                bytesRead = i + 1;
                return value;
            }
        }

        throw new KafkaProtocolException("Varint is too long: more than 5 bytes.");
    }

    /// <summary>Reads an unsigned varlong (at most 10 bytes).</summary>
    public static ulong ReadUnsignedVarlong(ReadOnlySpan<byte> source, out int bytesRead)
    {
        ulong value = 0;
        for (int i = 0, shift = 0; i < MaxVarlongBytes; i++, shift += 7)
        {
            if (i >= source.Length)
            {
                throw new KafkaProtocolException("Truncated varlong.");
            }

            byte b = source[i];
            if (i == MaxVarlongBytes - 1 && b > 0x01)
            {
                throw new KafkaProtocolException("Varlong is too long: more than 64 bits.");
            }

            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                bytesRead = i + 1;
                return value;
            }
        }

        throw new KafkaProtocolException("Varlong is too long: more than 10 bytes.");
    }

    /// <summary>Reads a zigzag-encoded signed 32-bit varint.</summary>
    public static int ReadVarint(ReadOnlySpan<byte> source, out int bytesRead)
    {
        uint raw = ReadUnsignedVarint(source, out bytesRead);
        return (int)(raw >> 1) ^ -(int)(raw & 1);
    }

    /// <summary>Reads a zigzag-encoded signed 64-bit varlong.</summary>
    public static long ReadVarlong(ReadOnlySpan<byte> source, out int bytesRead)
    {
        ulong raw = ReadUnsignedVarlong(source, out bytesRead);
        return (long)(raw >> 1) ^ -(long)(raw & 1);
    }

    public static int WriteUnsignedVarint(Span<byte> destination, uint value)
    {
        int i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    public static int WriteUnsignedVarlong(Span<byte> destination, ulong value)
    {
        int i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    public static int WriteVarint(Span<byte> destination, int value) =>
        WriteUnsignedVarint(destination, (uint)((value << 1) ^ (value >> 31)));

    public static int WriteVarlong(Span<byte> destination, long value) =>
        WriteUnsignedVarlong(destination, (ulong)((value << 1) ^ (value >> 63)));

    public static int SizeOfUnsignedVarint(uint value) => value switch
    {
        < 1u << 7 => 1,
        < 1u << 14 => 2,
        < 1u << 21 => 3,
        < 1u << 28 => 4,
        _ => 5,
    };

    public static int SizeOfUnsignedVarlong(ulong value)
    {
        int size = 1;
        while (value >= 0x80)
        {
            size++;
            value >>= 7;
        }

        return size;
    }

    public static int SizeOfVarint(int value) => SizeOfUnsignedVarint((uint)((value << 1) ^ (value >> 31)));

    public static int SizeOfVarlong(long value) => SizeOfUnsignedVarlong((ulong)((value << 1) ^ (value >> 63)));
}
