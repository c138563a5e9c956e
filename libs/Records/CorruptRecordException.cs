using Aspire.Kafka.Protocol;

namespace Aspire.Kafka.Records;

/// <summary>Bytes that are not a valid batch or record (Kafka's CorruptRecordException: CORRUPT_MESSAGE on the wire).</summary>
public class CorruptRecordException : KafkaProtocolException
{
    public CorruptRecordException(string message) : base(message) { }

    public CorruptRecordException(string message, Exception inner) : base(message, inner) { }
}
