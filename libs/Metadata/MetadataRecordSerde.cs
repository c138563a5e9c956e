using Aspire.Kafka.Protocol;

namespace Aspire.Kafka.Metadata;

/// <summary>A metadata record and the version it is (or is to be) written at (Kafka's ApiMessageAndVersion).</summary>
public readonly record struct ApiMessageAndVersion(IApiMessage Message, short Version)
{
    public override string ToString() => $"{Message.GetType().Name}(v{Version}): {Message}";
}

/// <summary>A metadata log record value that cannot be decoded.</summary>
public sealed class MetadataParseException : Exception
{
    public MetadataParseException(string message) : base(message) { }

    public MetadataParseException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// Kafka's MetadataRecordSerde: the value of each record in <c>__cluster_metadata</c> is
/// <c>frame version (unsigned varint) | apiKey (unsigned varint) | version (unsigned varint) | body</c>.
/// Written with frame version 1 as Kafka does; frame version 0 (the KRaft preview's framing,
/// same layout) is also read.
/// </summary>
public static class MetadataRecordSerde
{
    public const short DefaultFrameVersion = 1;

    public static byte[] Serialize(ApiMessageAndVersion record)
    {
        using var writer = new KafkaWriter(64);
        Write(record, writer);
        return writer.ToArray();
    }

    public static void Write(ApiMessageAndVersion record, KafkaWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteUnsignedVarint((uint)DefaultFrameVersion);
        writer.WriteUnsignedVarint((uint)record.Message.ApiKey);
        writer.WriteUnsignedVarint((uint)record.Version);
        record.Message.Write(writer, record.Version);
    }

    public static ApiMessageAndVersion Read(ReadOnlyMemory<byte> value)
    {
        var reader = new KafkaReader(value);
        short frameVersion = ReadShort(ref reader, "frame version");
        if (frameVersion is not (0 or DefaultFrameVersion))
        {
            throw new MetadataParseException($"Could not deserialize metadata record due to unknown frame version {frameVersion} (only frame versions 0 and 1 are known).");
        }

        short apiKey = ReadShort(ref reader, "type");
        short version = ReadShort(ref reader, "version");
        ApiMessageType type = MetadataRecordType.Find(apiKey)
            ?? throw new MetadataParseException($"Unknown metadata id {apiKey}.");
        if (!type.ValidVersions.Contains(version))
        {
            throw new MetadataParseException($"Unsupported version {version} of {type.Name} (valid: {type.ValidVersions}).");
        }

        IKafkaMessage message;
        try
        {
            message = type.ReadRequest(ref reader, version);
        }
        catch (KafkaProtocolException e)
        {
            throw new MetadataParseException($"Failed to deserialize {type.Name} version {version}: {e.Message}", e);
        }

        if (!reader.End)
        {
            throw new MetadataParseException($"Found {reader.Remaining} byte(s) of garbage after {type.Name}.");
        }

        return new ApiMessageAndVersion((IApiMessage)message, version);
    }

    private static short ReadShort(ref KafkaReader reader, string entity)
    {
        uint value;
        try
        {
            value = reader.ReadUnsignedVarint();
        }
        catch (KafkaProtocolException e)
        {
            throw new MetadataParseException($"Error while reading {entity}: {e.Message}", e);
        }

        if (value > (uint)short.MaxValue)
        {
            throw new MetadataParseException($"Value for {entity} was too large.");
        }

        return (short)value;
    }
}
