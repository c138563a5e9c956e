namespace Aspire.Kafka.Storage;

/// <summary>Base of the storage errors; the broker maps each to a Kafka error code.</summary>
public class KafkaStorageException : Exception
{
    public KafkaStorageException(string message) : base(message) { }

    public KafkaStorageException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>OFFSET_OUT_OF_RANGE: a read below the log start offset or above the log end offset.</summary>
public sealed class OffsetOutOfRangeException(string message) : KafkaStorageException(message);

/// <summary>CORRUPT_MESSAGE: an appended batch that does not parse or fails its CRC.</summary>
public sealed class InvalidRecordException(string message) : KafkaStorageException(message);

/// <summary>MESSAGE_TOO_LARGE / RECORD_LIST_TOO_LARGE: a batch above max.message.bytes or segment.bytes.</summary>
public sealed class RecordTooLargeException(string message) : KafkaStorageException(message);

/// <summary>An index file that does not agree with its segment; the segment rebuilds it.</summary>
public sealed class CorruptIndexException(string message) : KafkaStorageException(message);

/// <summary>Offsets that go backwards (a follower append below the log end offset, an index entry out of order).</summary>
public sealed class InvalidOffsetException(string message) : KafkaStorageException(message);
