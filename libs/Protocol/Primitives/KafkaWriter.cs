using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Aspire.Kafka.Protocol;

/// <summary>
/// Writes Kafka protocol primitives big-endian into a growable buffer rented from
/// <see cref="ArrayPool{T}"/>. Lengths can be reserved and patched afterwards (frame size,
/// batch length). Dispose returns the buffer to the pool.
/// </summary>
public sealed class KafkaWriter : IBufferWriter<byte>, IDisposable
{
    private byte[] _buffer;
    private int _position;

    public KafkaWriter(int initialCapacity = 256)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(16, initialCapacity));
    }

    /// <summary>Bytes written so far.</summary>
    public int Position => _position;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _position);

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _position);

    /// <summary>A copy of the bytes written so far.</summary>
    public byte[] ToArray() => WrittenSpan.ToArray();

    /// <summary>Forgets what was written; keeps the buffer.</summary>
    public void Reset() => _position = 0;

    public void Dispose()
    {
        byte[] buffer = _buffer;
        _buffer = [];
        _position = 0;
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public void Advance(int count)
    {
        if (count < 0 || _position + count > _buffer.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }

        _position += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(Math.Max(sizeHint, 1));
        return _buffer.AsMemory(_position);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(Math.Max(sizeHint, 1));
        return _buffer.AsSpan(_position);
    }

    private Span<byte> Take(int count)
    {
        Ensure(count);
        Span<byte> span = _buffer.AsSpan(_position, count);
        _position += count;
        return span;
    }

    private void Ensure(int count)
    {
        if (_buffer.Length - _position >= count)
        {
            return;
        }

        long wanted = Math.Max((long)_buffer.Length * 2, (long)_position + count);
        if (wanted > Array.MaxLength)
        {
            wanted = (long)_position + count;
        }

        byte[] bigger = ArrayPool<byte>.Shared.Rent((int)wanted);
        _buffer.AsSpan(0, _position).CopyTo(bigger);
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }

        _buffer = bigger;
    }

    /// <summary>Reserves four bytes for an int32 written later with <see cref="PatchInt32"/>; returns its position.</summary>
    public int ReserveInt32()
    {
        int at = _position;
        Take(4);
        return at;
    }

    public void PatchInt32(int position, int value) => BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(position, 4), value);

    /// <summary>The span of bytes already written from <paramref name="position"/> on (for CRCs and in-place stamping).</summary>
    public Span<byte> WrittenSince(int position) => _buffer.AsSpan(position, _position - position);

    public void WriteBool(bool value) => Take(1)[0] = value ? (byte)1 : (byte)0;

    public void WriteInt8(sbyte value) => Take(1)[0] = (byte)value;

    public void WriteUInt8(byte value) => Take(1)[0] = value;

    public void WriteInt16(short value) => BinaryPrimitives.WriteInt16BigEndian(Take(2), value);

    public void WriteUInt16(ushort value) => BinaryPrimitives.WriteUInt16BigEndian(Take(2), value);

    public void WriteInt32(int value) => BinaryPrimitives.WriteInt32BigEndian(Take(4), value);

    public void WriteUInt32(uint value) => BinaryPrimitives.WriteUInt32BigEndian(Take(4), value);

    public void WriteInt64(long value) => BinaryPrimitives.WriteInt64BigEndian(Take(8), value);

    public void WriteFloat64(double value) => BinaryPrimitives.WriteDoubleBigEndian(Take(8), value);

    public void WriteUuid(KafkaUuid value) => value.Write(Take(16));

    public void WriteUnsignedVarint(uint value)
    {
        Ensure(Varint.MaxVarintBytes);
        _position += Varint.WriteUnsignedVarint(_buffer.AsSpan(_position), value);
    }

    public void WriteVarint(int value)
    {
        Ensure(Varint.MaxVarintBytes);
        _position += Varint.WriteVarint(_buffer.AsSpan(_position), value);
    }

    public void WriteVarlong(long value)
    {
        Ensure(Varint.MaxVarlongBytes);
        _position += Varint.WriteVarlong(_buffer.AsSpan(_position), value);
    }

    public void WriteRaw(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Take(bytes.Length));

    /// <summary>STRING / NULLABLE_STRING: int16 length (-1 for null) then UTF-8 bytes.</summary>
    public void WriteString(string? value)
    {
        if (value is null)
        {
            WriteInt16(-1);
            return;
        }

        int length = Encoding.UTF8.GetByteCount(value);
        if (length > short.MaxValue)
        {
            throw new KafkaProtocolException($"String of {length} bytes is longer than the 32767 a Kafka STRING can hold.");
        }

        WriteInt16((short)length);
        Encoding.UTF8.GetBytes(value, Take(length));
    }

    /// <summary>COMPACT_STRING / COMPACT_NULLABLE_STRING: unsigned varint length+1 (0 for null) then UTF-8 bytes.</summary>
    public void WriteCompactString(string? value)
    {
        if (value is null)
        {
            WriteUnsignedVarint(0);
            return;
        }

        int length = Encoding.UTF8.GetByteCount(value);
        if (length > short.MaxValue)
        {
            throw new KafkaProtocolException($"String of {length} bytes is longer than the 32767 a Kafka STRING can hold.");
        }

        WriteUnsignedVarint((uint)length + 1);
        Encoding.UTF8.GetBytes(value, Take(length));
    }

    /// <summary>BYTES / NULLABLE_BYTES: int32 length (-1 for null) then the bytes.</summary>
    public void WriteBytes(ReadOnlySpan<byte> value)
    {
        WriteInt32(value.Length);
        WriteRaw(value);
    }

    public void WriteNullBytes() => WriteInt32(-1);

    /// <summary>COMPACT_BYTES: unsigned varint length+1 then the bytes.</summary>
    public void WriteCompactBytes(ReadOnlySpan<byte> value)
    {
        WriteUnsignedVarint((uint)value.Length + 1);
        WriteRaw(value);
    }

    public void WriteCompactNullBytes() => WriteUnsignedVarint(0);

    /// <summary>ARRAY length: int32 count, -1 for null.</summary>
    public void WriteArrayLength(int count) => WriteInt32(count);

    /// <summary>COMPACT_ARRAY length: unsigned varint count+1, 0 for null.</summary>
    public void WriteCompactArrayLength(int count) => WriteUnsignedVarint((uint)(count + 1));
}
