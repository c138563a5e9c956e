namespace Aspire.Kafka.Protocol;

/// <summary>
/// Bytes on the wire (or on disk) that do not follow the Kafka protocol: truncated input,
/// a negative length where none is allowed, a malformed varint, a bad CRC.
/// </summary>
public class KafkaProtocolException : Exception
{
    public KafkaProtocolException(string message) : base(message) { }

    public KafkaProtocolException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// A message cannot be written at the requested version (Kafka's UnsupportedVersionException),
/// e.g. a non-default value in a non-ignorable field the version lacks.
/// </summary>
public sealed class UnsupportedVersionException : KafkaProtocolException
{
    public UnsupportedVersionException(string message) : base(message) { }
}
