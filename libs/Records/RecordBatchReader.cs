using System.Buffers;
using System.Text;
using Aspire.Kafka.Protocol;

namespace Aspire.Kafka.Records;

/// <summary>
/// Reads the records of a batch v2. <see cref="ReadRecords"/> materializes them (keys and values
/// slice the batch, or one decompressed copy of it); <see cref="EnumerateRecords"/> walks an
/// uncompressed records region without allocating.
/// </summary>
public static class RecordBatchReader
{
    /// <summary>
    /// Decodes every record of one batch, decompressing when needed.
    /// </summary>
    /// <exception cref="CorruptRecordException">bad CRC (when <paramref name="verifyCrc"/>), bad framing, or bad compressed data.</exception>
    public static List<Record> ReadRecords(ReadOnlyMemory<byte> batch, bool verifyCrc = true,
        int maxDecompressedSize = Compression.DefaultMaxDecompressedSize)
    {
        var records = new List<Record>();
        ReadRecords(batch, records, verifyCrc, maxDecompressedSize);
        return records;
    }

    /// <summary>Appends the records of one batch to <paramref name="records"/>; returns the header.</summary>
    public static RecordBatchHeader ReadRecords(ReadOnlyMemory<byte> batch, List<Record> records, bool verifyCrc = true,
        int maxDecompressedSize = Compression.DefaultMaxDecompressedSize)
    {
        ArgumentNullException.ThrowIfNull(records);
        RecordBatchHeader header = CheckBatch(batch.Span, verifyCrc);
        ReadOnlyMemory<byte> payload = batch[RecordBatch.RecordsOffset..header.SizeInBytes];
        if (header.CompressionType != CompressionType.None)
        {
            using var decompressed = new KafkaWriter(Math.Max(256, payload.Length * 4));
            Compression.Decompress(header.CompressionType, payload.Span, decompressed, maxDecompressedSize);
            payload = decompressed.ToArray();
        }

        foreach (RecordView view in new RecordEnumerator(header, payload.Span))
        {
            records.Add(view.ToRecord(payload));
        }

        return header;
    }

    /// <summary>
    /// Decompresses the records region of a compressed batch into <paramref name="destination"/>
    /// (copies it when uncompressed); walk the result with <see cref="RecordEnumerator"/>.
    /// </summary>
    public static RecordBatchHeader DecompressRecords(ReadOnlySpan<byte> batch, IBufferWriter<byte> destination,
        bool verifyCrc = true, int maxDecompressedSize = Compression.DefaultMaxDecompressedSize)
    {
        RecordBatchHeader header = CheckBatch(batch, verifyCrc);
        Compression.Decompress(header.CompressionType, batch[RecordBatch.RecordsOffset..header.SizeInBytes], destination, maxDecompressedSize);
        return header;
    }

    /// <summary>Walks the records of an uncompressed batch without allocating.</summary>
    /// <exception cref="CorruptRecordException">the batch is compressed, or not a complete v2 batch.</exception>
    public static RecordEnumerator EnumerateRecords(ReadOnlySpan<byte> batch)
    {
        RecordBatchHeader header = CheckBatch(batch, verifyCrc: false);
        if (header.CompressionType != CompressionType.None)
        {
            throw new CorruptRecordException($"The batch is {header.CompressionType}-compressed: use DecompressRecords first.");
        }

        return new RecordEnumerator(header, batch[RecordBatch.RecordsOffset..header.SizeInBytes]);
    }

    private static RecordBatchHeader CheckBatch(ReadOnlySpan<byte> batch, bool verifyCrc)
    {
        RecordSetStatus status = RecordSet.TryReadBatch(batch, out int size);
        if (status != RecordSetStatus.Complete)
        {
            throw new CorruptRecordException(status == RecordSetStatus.Truncated
                ? $"Truncated record batch: {batch.Length} bytes of {size}."
                : "Corrupt record batch: invalid length or magic.");
        }

        RecordBatchHeader header = RecordBatchHeader.Read(batch);
        if (header.Magic != RecordBatch.CurrentMagic)
        {
            throw new CorruptRecordException($"Not a record batch v2: magic {header.Magic}.");
        }

        if (verifyCrc && !RecordBatch.IsCrcValid(batch[..size]))
        {
            throw new CorruptRecordException(
                $"Record batch at offset {header.BaseOffset} is corrupt: CRC-32C stored 0x{header.Crc:X8}, computed 0x{RecordBatch.ComputeCrc(batch[..size]):X8}.");
        }

        if (header.RecordCount < 0)
        {
            throw new CorruptRecordException($"Record batch at offset {header.BaseOffset} has a negative record count {header.RecordCount}.");
        }

        return header;
    }
}

/// <summary>
/// Walks the uncompressed records region of a batch; each <see cref="RecordView"/> points into it.
/// Checks each record's declared length, the record count and that no bytes are left over.
/// </summary>
public ref struct RecordEnumerator
{
    private readonly ReadOnlySpan<byte> _records;
    private readonly long _baseOffset;
    private readonly long _baseTimestamp;
    private readonly long _logAppendTime;
    private readonly bool _useLogAppendTime;
    private int _remaining;
    private int _position;
    private RecordView _current;

    public RecordEnumerator(RecordBatchHeader header, ReadOnlySpan<byte> records)
    {
        _records = records;
        _baseOffset = header.BaseOffset;
        _baseTimestamp = header.BaseTimestamp;
        _useLogAppendTime = header.TimestampType == TimestampType.LogAppendTime;
        _logAppendTime = header.MaxTimestamp;
        _remaining = header.RecordCount;
        _position = 0;
        _current = default;
    }

    public readonly RecordView Current => _current;

    public readonly RecordEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_remaining == 0)
        {
            if (_position != _records.Length)
            {
                throw new CorruptRecordException($"{_records.Length - _position} bytes left after the last record of the batch.");
            }

            return false;
        }

        try
        {
            ReadOnlySpan<byte> data = _records;
            int start = _position;
            int length = FastVarint.ReadVarint(data[start..], out int n);
            int body = start + n;
            if (length < RecordSet.MinimumRecordSize - 1 || length > data.Length - body)
            {
                throw new CorruptRecordException($"Record at byte {start} claims {length} bytes; {data.Length - body} remain.");
            }

            int end = body + length;
            ReadOnlySpan<byte> record = data[..end];
            int p = body;
            byte attributes = record[p++];
            long timestampDelta = FastVarint.ReadVarlong(record[p..], out n);
            p += n;
            int offsetDelta = FastVarint.ReadVarint(record[p..], out n);
            p += n;
            int keyLength = ReadLength(record, ref p, "key");
            int keyStart = p;
            p += Math.Max(keyLength, 0);
            int valueLength = ReadLength(record, ref p, "value");
            int valueStart = p;
            p += Math.Max(valueLength, 0);
            int headerCount = FastVarint.ReadVarint(record[p..], out n);
            p += n;
            if (headerCount < 0)
            {
                throw new CorruptRecordException($"Record at byte {start} has a negative header count {headerCount}.");
            }

            int headersStart = p;
            for (int i = 0; i < headerCount; i++)
            {
                int hk = ReadLength(record, ref p, "header key");
                if (hk < 0)
                {
                    throw new CorruptRecordException($"Record at byte {start} has a null header key.");
                }

                p += hk;
                int hv = ReadLength(record, ref p, "header value");
                p += Math.Max(hv, 0);
            }

            if (p != end)
            {
                throw new CorruptRecordException($"Record at byte {start} claims {length} bytes but its fields take {p - body}.");
            }

            _current = new RecordView(
                _baseOffset + offsetDelta,
                offsetDelta,
                _useLogAppendTime ? _logAppendTime : _baseTimestamp + timestampDelta,
                timestampDelta,
                attributes,
                record, keyStart, keyLength, valueStart, valueLength, headersStart, end - headersStart, headerCount);
            _position = end;
            _remaining--;
            return true;
        }
        catch (KafkaProtocolException e) when (e is not CorruptRecordException)
        {
            throw new CorruptRecordException($"Corrupt record at byte {_position}: {e.Message}", e);
        }
    }

    private static int ReadLength(ReadOnlySpan<byte> record, ref int p, string what)
    {
        int length = FastVarint.ReadVarint(record[p..], out int n);
        p += n;
        if (length < -1 || length > record.Length - p)
        {
            throw new CorruptRecordException($"Invalid {what} length {length} with {record.Length - p} bytes left in the record.");
        }

        return length;
    }
}

/// <summary>One record as positions in the records region; spans are valid as long as that region is.</summary>
public readonly ref struct RecordView
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly int _keyStart;
    private readonly int _keyLength;
    private readonly int _valueStart;
    private readonly int _valueLength;
    private readonly int _headersStart;
    private readonly int _headersLength;

    internal RecordView(long offset, int offsetDelta, long timestamp, long timestampDelta, byte attributes, ReadOnlySpan<byte> data,
        int keyStart, int keyLength, int valueStart, int valueLength, int headersStart, int headersLength, int headerCount)
    {
        Offset = offset;
        OffsetDelta = offsetDelta;
        Timestamp = timestamp;
        TimestampDelta = timestampDelta;
        Attributes = attributes;
        _data = data;
        _keyStart = keyStart;
        _keyLength = keyLength;
        _valueStart = valueStart;
        _valueLength = valueLength;
        _headersStart = headersStart;
        _headersLength = headersLength;
        HeaderCount = headerCount;
    }

    public long Offset { get; }

    public int OffsetDelta { get; }

    public long Timestamp { get; }

    public long TimestampDelta { get; }

    public byte Attributes { get; }

    public bool IsKeyNull => _keyLength < 0;

    public bool IsValueNull => _valueLength < 0;

    /// <summary>Empty when null; see <see cref="IsKeyNull"/>.</summary>
    public ReadOnlySpan<byte> Key => _keyLength < 0 ? default : _data.Slice(_keyStart, _keyLength);

    /// <summary>Empty when null (a tombstone); see <see cref="IsValueNull"/>.</summary>
    public ReadOnlySpan<byte> Value => _valueLength < 0 ? default : _data.Slice(_valueStart, _valueLength);

    public int HeaderCount { get; }

    public HeaderEnumerator Headers => new(_data.Slice(_headersStart, _headersLength), HeaderCount);

    /// <summary>Materializes the record; key and value slice <paramref name="records"/>, the region this view walks.</summary>
    public Record ToRecord(ReadOnlyMemory<byte> records)
    {
        RecordHeader[]? headers = null;
        if (HeaderCount > 0)
        {
            headers = new RecordHeader[HeaderCount];
            int i = 0;
            int start = _headersStart;
            foreach (HeaderView h in Headers)
            {
                headers[i++] = new RecordHeader(
                    Encoding.UTF8.GetString(h.Key),
                    h.IsValueNull ? (ReadOnlyMemory<byte>?)null : records.Slice(start + h.ValueStart, h.Value.Length));
            }
        }

        return new Record(Offset, OffsetDelta, Timestamp, TimestampDelta,
            IsKeyNull ? (ReadOnlyMemory<byte>?)null : records.Slice(_keyStart, _keyLength),
            IsValueNull ? (ReadOnlyMemory<byte>?)null : records.Slice(_valueStart, _valueLength),
            headers, Attributes);
    }
}

/// <summary>Walks a record's headers (already bounds-checked by <see cref="RecordEnumerator"/>).</summary>
public ref struct HeaderEnumerator
{
    private readonly ReadOnlySpan<byte> _headers;
    private int _remaining;
    private int _position;
    private HeaderView _current;

    internal HeaderEnumerator(ReadOnlySpan<byte> headers, int count)
    {
        _headers = headers;
        _remaining = count;
    }

    public readonly HeaderView Current => _current;

    public readonly HeaderEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_remaining == 0)
        {
            return false;
        }

        int p = _position;
        int keyLength = FastVarint.ReadVarint(_headers[p..], out int n);
        p += n;
        int keyStart = p;
        p += keyLength;
        int valueLength = FastVarint.ReadVarint(_headers[p..], out n);
        p += n;
        _current = new HeaderView(_headers.Slice(keyStart, keyLength), valueLength < 0 ? default : _headers.Slice(p, valueLength), valueLength < 0, p);
        p += Math.Max(valueLength, 0);
        _position = p;
        _remaining--;
        return true;
    }
}

/// <summary>A header's raw UTF-8 key and value.</summary>
public readonly ref struct HeaderView
{
    internal HeaderView(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool isValueNull, int valueStart)
    {
        Key = key;
        Value = value;
        IsValueNull = isValueNull;
        ValueStart = valueStart;
    }

    public ReadOnlySpan<byte> Key { get; }

    public ReadOnlySpan<byte> Value { get; }

    public bool IsValueNull { get; }

    /// <summary>Position of the value within the record's headers region.</summary>
    internal int ValueStart { get; }
}

/// <summary>Most varints in a record are one byte: decode those inline, defer the rest.</summary>
internal static class FastVarint
{
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static int ReadVarint(ReadOnlySpan<byte> source, out int bytesRead)
    {
        if (!source.IsEmpty && source[0] < 0x80)
        {
            bytesRead = 1;
            uint raw = source[0];
            return (int)(raw >> 1) ^ -(int)(raw & 1);
        }

        return Varint.ReadVarint(source, out bytesRead);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static long ReadVarlong(ReadOnlySpan<byte> source, out int bytesRead)
    {
        if (!source.IsEmpty && source[0] < 0x80)
        {
            bytesRead = 1;
            ulong raw = source[0];
            return (long)(raw >> 1) ^ -(long)(raw & 1);
        }

        return Varint.ReadVarlong(source, out bytesRead);
    }
}
