namespace Aspire.Kafka.Records;

/// <summary>A record header: a UTF-8 key and an optional value.</summary>
public readonly record struct RecordHeader(string Key, ReadOnlyMemory<byte>? Value)
{
    /// <summary>
    /// From an array: a null array is a null value. (Converting a null byte[] to
    /// ReadOnlyMemory&lt;byte&gt;? would give an empty, non-null value.)
    /// </summary>
    public RecordHeader(string key, byte[]? value)
        : this(key, value is null ? (ReadOnlyMemory<byte>?)null : new ReadOnlyMemory<byte>(value))
    {
    }
}

/// <summary>
/// One record, decoded: its absolute offset and timestamp (the batch's LogAppendTime when set),
/// key and value as slices of the batch (or of its decompressed records), headers.
/// </summary>
public readonly struct Record
{
    private readonly IReadOnlyList<RecordHeader>? _headers;

    public Record(long offset, int offsetDelta, long timestamp, long timestampDelta, ReadOnlyMemory<byte>? key,
        ReadOnlyMemory<byte>? value, IReadOnlyList<RecordHeader>? headers, byte attributes = 0)
    {
        Offset = offset;
        OffsetDelta = offsetDelta;
        Timestamp = timestamp;
        TimestampDelta = timestampDelta;
        Key = key;
        Value = value;
        _headers = headers;
        Attributes = attributes;
    }

    /// <summary>From arrays: a null array is a null key/value (not an empty one).</summary>
    public Record(long offset, int offsetDelta, long timestamp, long timestampDelta, byte[]? key, byte[]? value,
        IReadOnlyList<RecordHeader>? headers, byte attributes = 0)
        : this(offset, offsetDelta, timestamp, timestampDelta,
            key is null ? (ReadOnlyMemory<byte>?)null : key, value is null ? (ReadOnlyMemory<byte>?)null : value, headers, attributes)
    {
    }

    public long Offset { get; }

    public int OffsetDelta { get; }

    public long Timestamp { get; }

    public long TimestampDelta { get; }

    /// <summary>The record's own attributes byte (unused by Kafka so far).</summary>
    public byte Attributes { get; }

    public ReadOnlyMemory<byte>? Key { get; }

    public ReadOnlyMemory<byte>? Value { get; }

    public IReadOnlyList<RecordHeader> Headers => _headers ?? [];

    public override string ToString() =>
        $"Record(offset={Offset}, timestamp={Timestamp}, key={(Key is { } k ? k.Length + " bytes" : "null")}, " +
        $"value={(Value is { } v ? v.Length + " bytes" : "null")}, headers={Headers.Count})";
}
