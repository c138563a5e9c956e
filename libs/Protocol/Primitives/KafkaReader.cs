using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace Aspire.Kafka.Protocol;

/// <summary>
/// Reads Kafka protocol primitives from contiguous memory. Byte fields that Kafka marks
/// zero-copy (and record sets) are returned as slices of the input; everything else is copied
/// out. Every read checks bounds and throws <see cref="KafkaProtocolException"/> on truncated
/// or malformed input; lengths are checked against the bytes left before anything is allocated.
/// </summary>
public ref struct KafkaReader
{
    private readonly ReadOnlyMemory<byte> _memory;
    private readonly ReadOnlySpan<byte> _span;
    private int _position;

    public KafkaReader(ReadOnlyMemory<byte> memory)
    {
        _memory = memory;
        _span = memory.Span;
        _position = 0;
    }

    public readonly int Position => _position;

    public readonly int Remaining => _span.Length - _position;

    public readonly bool End => _position >= _span.Length;

    /// <summary>The unread part of the input.</summary>
    public readonly ReadOnlyMemory<byte> RemainingMemory => _memory[_position..];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ReadOnlySpan<byte> Take(int count)
    {
        if ((uint)count > (uint)(_span.Length - _position))
        {
            ThrowTruncated(count);
        }

        ReadOnlySpan<byte> slice = _span.Slice(_position, count);
        _position += count;
        return slice;
    }

    private readonly void ThrowTruncated(int count) =>
        throw new KafkaProtocolException($"Truncated input: needed {count} bytes at position {_position}, {Remaining} left.");

    public void Skip(int count) => Take(count);

    public bool ReadBool() => Take(1)[0] != 0;

    public sbyte ReadInt8() => (sbyte)Take(1)[0];

    public byte ReadUInt8() => Take(1)[0];

    public short ReadInt16() => BinaryPrimitives.ReadInt16BigEndian(Take(2));

    public ushort ReadUInt16() => BinaryPrimitives.ReadUInt16BigEndian(Take(2));

    public int ReadInt32() => BinaryPrimitives.ReadInt32BigEndian(Take(4));

    public uint ReadUInt32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

    public long ReadInt64() => BinaryPrimitives.ReadInt64BigEndian(Take(8));

    public double ReadFloat64() => BinaryPrimitives.ReadDoubleBigEndian(Take(8));

    public KafkaUuid ReadUuid() => KafkaUuid.Read(Take(16));

    public uint ReadUnsignedVarint()
    {
        uint value = Varint.ReadUnsignedVarint(_span[_position..], out int read);
        _position += read;
        return value;
    }

    public int ReadVarint()
    {
        int value = Varint.ReadVarint(_span[_position..], out int read);
        _position += read;
        return value;
    }

    public long ReadVarlong()
    {
        long value = Varint.ReadVarlong(_span[_position..], out int read);
        _position += read;
        return value;
    }

    public ReadOnlySpan<byte> ReadRawSpan(int count) => Take(count);

    public ReadOnlyMemory<byte> ReadRawMemory(int count)
    {
        int start = _position;
        Take(count);
        return _memory.Slice(start, count);
    }

    /// <summary>STRING or NULLABLE_STRING (int16 length).</summary>
    public string? ReadString(string fieldName, bool nullable)
    {
        short length = ReadInt16();
        if (length < 0)
        {
            return length == -1 && nullable
                ? null
                : throw new KafkaProtocolException($"Field {fieldName}: string length {length} is not allowed here.");
        }

        return Encoding.UTF8.GetString(Take(length));
    }

    /// <summary>COMPACT_STRING or COMPACT_NULLABLE_STRING (unsigned varint length+1).</summary>
    public string? ReadCompactString(string fieldName, bool nullable)
    {
        uint lengthPlusOne = ReadUnsignedVarint();
        if (lengthPlusOne == 0)
        {
            return nullable ? null : throw new KafkaProtocolException($"Field {fieldName}: null string is not allowed here.");
        }

        uint length = lengthPlusOne - 1;
        if (length > short.MaxValue)
        {
            throw new KafkaProtocolException($"Field {fieldName}: string length {length} exceeds 32767.");
        }

        return Encoding.UTF8.GetString(Take((int)length));
    }

    /// <summary>Reads the length of BYTES/NULLABLE_BYTES or their compact forms; -1 means null.</summary>
    public int ReadBytesLength(string fieldName, bool compact, bool nullable)
    {
        int length;
        if (compact)
        {
            uint lengthPlusOne = ReadUnsignedVarint();
            length = lengthPlusOne == 0 ? -1 : checked((int)(lengthPlusOne - 1));
        }
        else
        {
            length = ReadInt32();
        }

        if (length < 0)
        {
            if (length == -1 && nullable)
            {
                return -1;
            }

            throw new KafkaProtocolException($"Field {fieldName}: bytes length {length} is not allowed here.");
        }

        if (length > Remaining)
        {
            throw new KafkaProtocolException($"Field {fieldName}: bytes length {length} exceeds the {Remaining} bytes left.");
        }

        return length;
    }

    /// <summary>
    /// Reads an ARRAY or COMPACT_ARRAY count; -1 means null. The count is checked against the
    /// bytes left (every element takes at least one byte) so a hostile count cannot make us allocate.
    /// </summary>
    public int ReadArrayLength(string fieldName, bool compact, bool nullable)
    {
        int count;
        if (compact)
        {
            uint countPlusOne = ReadUnsignedVarint();
            count = countPlusOne == 0 ? -1 : checked((int)(countPlusOne - 1));
        }
        else
        {
            count = ReadInt32();
        }

        if (count < 0)
        {
            if (count == -1 && nullable)
            {
                return -1;
            }

            throw new KafkaProtocolException($"Field {fieldName}: array length {count} is not allowed here.");
        }

        if (count > Remaining)
        {
            throw new KafkaProtocolException($"Field {fieldName}: array of {count} elements cannot fit in the {Remaining} bytes left.");
        }

        return count;
    }
}
