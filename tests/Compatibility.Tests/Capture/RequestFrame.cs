using System.Buffers;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Framing;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Compatibility.Tests.Capture;

/// <summary>A request frame decoded with the generated classes: header, header version, body.</summary>
public sealed record RequestFrame(ApiMessageType Type, short HeaderVersion, RequestHeader Header, IKafkaMessage Body)
{
    public short ApiVersion => Header.RequestApiVersion;

    /// <summary>
    /// Decodes a size-prefixed request frame: the size prefix must cover exactly the rest of the
    /// bytes, the header version follows from the api key and version, the body must use every byte.
    /// </summary>
    public static RequestFrame Decode(byte[] bytes)
    {
        var buffer = new ReadOnlySequence<byte>(bytes);
        if (!KafkaFrame.TryRead(ref buffer, KafkaFrame.DefaultMaxFrameSize, out ReadOnlySequence<byte> frame))
        {
            throw new InvalidDataException($"The {bytes.Length} bytes are not one whole size-prefixed frame.");
        }

        if (buffer.Length != 0)
        {
            throw new InvalidDataException($"{buffer.Length} bytes follow the frame.");
        }

        var reader = new KafkaReader(frame.ToArray());
        short apiKey = (short)((bytes[4] << 8) | bytes[5]);
        short apiVersion = (short)((bytes[6] << 8) | bytes[7]);
        ApiMessageType type = ApiMessageTypes.Find(apiKey) ?? throw new InvalidDataException($"Unknown api key {apiKey}.");
        short headerVersion = type.RequestHeaderVersion(apiVersion);
        RequestHeader header = RequestHeader.Read(ref reader, headerVersion);
        IKafkaMessage body = type.ReadRequest(ref reader, apiVersion);
        if (!reader.End)
        {
            throw new InvalidDataException($"{type.Name} v{apiVersion}: {reader.Remaining} bytes left after the body.");
        }

        return new RequestFrame(type, headerVersion, header, body);
    }

    /// <summary>Header and body written again, with the size prefix.</summary>
    public byte[] Encode()
    {
        using var writer = new KafkaWriter(256);
        int sizePosition = KafkaFrame.BeginFrame(writer);
        Header.Write(writer, HeaderVersion);
        Body.Write(writer, ApiVersion);
        KafkaFrame.EndFrame(writer, sizePosition);
        return writer.ToArray();
    }

    /// <summary>The body decoded again from <see cref="Encode"/>'s bytes equals this one.</summary>
    public RequestFrame RoundTrip() => Decode(Encode());
}
