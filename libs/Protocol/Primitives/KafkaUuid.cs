using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Aspire.Kafka.Protocol;

/// <summary>
/// Kafka's 128-bit UUID (topic ids, incarnation ids, directory ids): two big-endian longs on
/// the wire, printed as URL-safe base64 without padding, as Kafka's <c>Uuid.toString()</c>.
/// </summary>
public readonly record struct KafkaUuid(long MostSignificantBits, long LeastSignificantBits)
{
    public static readonly KafkaUuid Zero;

    /// <summary>Kafka reserves this id for the metadata topic.</summary>
    public static readonly KafkaUuid MetadataTopicId = new(0, 1);

    public bool IsZero => MostSignificantBits == 0 && LeastSignificantBits == 0;

    /// <summary>A random version-4 UUID, never one of the reserved ids and never starting with '-'.</summary>
    public static KafkaUuid NewRandom()
    {
        Span<byte> bytes = stackalloc byte[16];
        while (true)
        {
            RandomNumberGenerator.Fill(bytes);
            bytes[6] = (byte)((bytes[6] & 0x0F) | 0x40);
            bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
            var id = Read(bytes);
            if (!id.IsZero && id != MetadataTopicId && !id.ToString().StartsWith('-'))
            {
                return id;
            }
        }
    }

    public static KafkaUuid Read(ReadOnlySpan<byte> source) =>
        new(BinaryPrimitives.ReadInt64BigEndian(source), BinaryPrimitives.ReadInt64BigEndian(source[8..]));

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteInt64BigEndian(destination, MostSignificantBits);
        BinaryPrimitives.WriteInt64BigEndian(destination[8..], LeastSignificantBits);
    }

    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[16];
        Write(bytes);
        return Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    public static KafkaUuid Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string base64 = text.Replace('-', '+').Replace('_', '/');
        base64 += new string('=', (4 - (base64.Length % 4)) % 4);
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(base64);
        }
        catch (FormatException e)
        {
            throw new FormatException($"'{text}' is not a Kafka UUID (22 characters of URL-safe base64).", e);
        }

        if (bytes.Length != 16)
        {
            throw new FormatException($"'{text}' is not a Kafka UUID: it decodes to {bytes.Length} bytes, not 16.");
        }

        return Read(bytes);
    }
}
