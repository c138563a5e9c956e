using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Aspire.Kafka.Protocol;

/// <summary>
/// Writes Kafka protocol primitives big-endian into a growable buffer rented from
/// <see cref="ArrayPool{T}"/>. Lengths can be reserved and patched afterwards (frame size,
/// batch length). Dispose returns the buffer to the pool.
/// </summary>
/// <remarks>
/// A records field whose memory is a <see cref="SplicedBytes"/> (record batches still in a file)
/// is not copied in: the writer notes a splice at that position and <see cref="WriteTo"/> has the
/// source write straight into the output. <see cref="Length"/> counts those bytes,
/// <see cref="Position"/> does not; <see cref="WrittenSpan"/> refuses a writer that holds splices.
/// </remarks>
public sealed class KafkaWriter : IBufferWriter<byte>, IDisposable
{
    private byte[] _buffer;
    private int _position;
    private List<Splice>? _splices;
    private int _splicedLength;

    /// <summary>Bytes of a <see cref="SplicedBytes"/> that belong at <see cref="Position"/> of the writer's own bytes.</summary>
    private readonly record struct Splice(int Position, SplicedBytes Source, int Offset, int Length);

    public KafkaWriter(int initialCapacity = 256)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(16, initialCapacity));
    }

    /// <summary>Bytes written into the writer's own buffer so far (spliced bytes not counted).</summary>
    public int Position => _position;

    /// <summary>The length of the whole message written so far: own bytes and spliced bytes.</summary>
    public int Length => _position + _splicedLength;

    /// <summary>True when some bytes are spliced (not in the writer's buffer): use <see cref="WriteTo"/>.</summary>
    public bool HasSplices => _splices is { Count: > 0 };

    public ReadOnlySpan<byte> WrittenSpan => HasSplices
        ? throw new InvalidOperationException("The writer holds spliced bytes: write it out with WriteTo.")
        : _buffer.AsSpan(0, _position);

    public ReadOnlyMemory<byte> WrittenMemory => HasSplices
        ? throw new InvalidOperationException("The writer holds spliced bytes: write it out with WriteTo.")
        : _buffer.AsMemory(0, _position);

    /// <summary>A copy of the whole message written so far (spliced bytes read in).</summary>
    public byte[] ToArray()
    {
        if (!HasSplices)
        {
            return WrittenSpan.ToArray();
        }

        var copy = new ArrayBufferWriter<byte>(Length);
        WriteTo(copy);
        return copy.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Writes the whole message into <paramref name="output"/>: the writer's own bytes, and at each
    /// splice the source's bytes, which the source writes into <paramref name="output"/>'s buffers
    /// itself (one copy from a file's page cache into the socket's pipe, none through this writer).
    /// </summary>
    public void WriteTo(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        int from = 0;
        if (_splices is not null)
        {
            foreach (Splice splice in _splices)
            {
                output.Write(_buffer.AsSpan(from, splice.Position - from));
                splice.Source.WriteTo(output, splice.Offset, splice.Length);
                from = splice.Position;
            }
        }

        output.Write(_buffer.AsSpan(from, _position - from));
    }

    /// <summary>Forgets what was written; keeps the buffer.</summary>
    public void Reset()
    {
        _position = 0;
        _splices?.Clear();
        _splicedLength = 0;
    }

    public void Dispose()
    {
        byte[] buffer = _buffer;
        _buffer = [];
        _position = 0;
        _splices = null;
        _splicedLength = 0;
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

    /// <summary>
    /// Reserves four bytes for an int32 written later with <see cref="PatchInt32"/>; returns its
    /// position. A length patched there is <see cref="Length"/> minus that position, so that it
    /// counts bytes spliced after it.
    /// </summary>
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

    /// <summary>RECORDS (non-flexible): int32 length then the batches, spliced when they are a <see cref="SplicedBytes"/>.</summary>
    public void WriteRecords(ReadOnlyMemory<byte> value)
    {
        WriteInt32(value.Length);
        AppendRecords(value);
    }

    /// <summary>COMPACT_RECORDS: unsigned varint length+1 then the batches, spliced when they are a <see cref="SplicedBytes"/>.</summary>
    public void WriteCompactRecords(ReadOnlyMemory<byte> value)
    {
        WriteUnsignedVarint((uint)value.Length + 1);
        AppendRecords(value);
    }

    private void AppendRecords(ReadOnlyMemory<byte> value)
    {
        if (value.Length > 0 && MemoryMarshal.TryGetMemoryManager(value, out SplicedBytes? source, out int start, out int length))
        {
            (_splices ??= []).Add(new Splice(_position, source, start, length));
            _splicedLength += length;
            return;
        }

        WriteRaw(value.Span);
    }

    /// <summary>ARRAY length: int32 count, -1 for null.</summary>
    public void WriteArrayLength(int count) => WriteInt32(count);

    /// <summary>COMPACT_ARRAY length: unsigned varint count+1, 0 for null.</summary>
    public void WriteCompactArrayLength(int count) => WriteUnsignedVarint((uint)(count + 1));
}
