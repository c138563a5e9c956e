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

/// <summary>
/// INVALID_PRODUCER_EPOCH (47): a producer appended with an epoch below the one the partition
/// already saw for its producer id (a zombie instance, fenced by a newer InitProducerId).
/// </summary>
public sealed class InvalidProducerEpochException(string message) : KafkaStorageException(message);

/// <summary>
/// OUT_OF_ORDER_SEQUENCE_NUMBER (45): an idempotent producer's batch does not continue its last
/// sequence (a gap, or a non-zero first sequence with a new epoch). Nothing was written.
/// </summary>
public sealed class OutOfOrderSequenceException(string message) : KafkaStorageException(message);

/// <summary>INVALID_TXN_STATE (48): a transactional batch; this broker does not serve transactions.</summary>
public sealed class InvalidTxnStateException(string message) : KafkaStorageException(message);

/// <summary>
/// A producer state snapshot (<c>.snapshot</c>) with an unknown version, a bad CRC or a wrong
/// length. The log deletes it and rebuilds the state from an older snapshot or the log.
/// </summary>
public sealed class CorruptSnapshotException(string message) : KafkaStorageException(message);
