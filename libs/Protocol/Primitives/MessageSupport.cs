using System.Text;

namespace Aspire.Kafka.Protocol;

/// <summary>A range of versions, inclusive; <see cref="None"/> is empty.</summary>
public readonly record struct VersionRange(short Lowest, short Highest)
{
    public static readonly VersionRange None = new(1, 0);

    public bool IsEmpty => Lowest > Highest;

    public bool Contains(short version) => version >= Lowest && version <= Highest;

    public override string ToString() =>
        IsEmpty ? "none" : Highest == short.MaxValue ? $"{Lowest}+" : Lowest == Highest ? $"{Lowest}" : $"{Lowest}-{Highest}";
}

/// <summary>Any generated message or record: writes itself at a version.</summary>
public interface IKafkaMessage
{
    void Write(KafkaWriter writer, short version);
}

/// <summary>A generated top-level message type.</summary>
public interface IKafkaMessage<TSelf> : IKafkaMessage
    where TSelf : IKafkaMessage<TSelf>
{
    static abstract VersionRange ValidVersions { get; }

    static abstract VersionRange FlexibleVersions { get; }

    static abstract TSelf Read(ref KafkaReader reader, short version);
}

/// <summary>A message that has an API key (requests, responses, metadata records).</summary>
public interface IApiMessage : IKafkaMessage
{
    short ApiKey { get; }
}

/// <summary>A generated message type with an API key.</summary>
public interface IApiMessage<TSelf> : IApiMessage, IKafkaMessage<TSelf>
    where TSelf : IApiMessage<TSelf>
{
    /// <summary>The API key of this message type (usable from generic code, unlike the const).</summary>
    static abstract short MessageApiKey { get; }
}

/// <summary>Reads a message of a type known only at run time (dispatch by API key).</summary>
public delegate IKafkaMessage MessageReader(ref KafkaReader reader, short version);

/// <summary>One API (or metadata record type): its versions and readers. Generated tables list them all.</summary>
public sealed record ApiMessageType(
    short ApiKey,
    string Name,
    VersionRange ValidVersions,
    VersionRange DeprecatedVersions,
    VersionRange RequestFlexibleVersions,
    VersionRange ResponseFlexibleVersions,
    IReadOnlyList<string> Listeners,
    bool LatestVersionUnstable,
    MessageReader ReadRequest,
    MessageReader? ReadResponse)
{
    /// <summary>
    /// Request header version: 2 for flexible versions, else 1; ControlledShutdown v0 alone uses header v0.
    /// </summary>
    public short RequestHeaderVersion(short apiVersion) =>
        RequestFlexibleVersions.Contains(apiVersion) ? (short)2 : ApiKey == ApiKeys.ControlledShutdown && apiVersion == 0 ? (short)0 : (short)1;

    /// <summary>
    /// Response header version: 1 for flexible versions, else 0 — except ApiVersions, whose response
    /// always uses header v0 so a client that does not know the broker's versions can read it.
    /// </summary>
    public short ResponseHeaderVersion(short apiVersion) =>
        ApiKey != ApiKeys.ApiVersions && ResponseFlexibleVersions.Contains(apiVersion) ? (short)1 : (short)0;
}

public static partial class ApiMessageTypes
{
    private static readonly Dictionary<short, ApiMessageType> ByKey = All.ToDictionary(t => t.ApiKey);

    /// <summary>The API with this key, or null when we do not know it.</summary>
    public static ApiMessageType? Find(short apiKey) => ByKey.GetValueOrDefault(apiKey);
}

public static partial class MetadataRecordType
{
    private static readonly Dictionary<short, ApiMessageType> ByKey = All.ToDictionary(t => t.ApiKey);

    public static ApiMessageType? Find(short recordType) => ByKey.GetValueOrDefault(recordType);
}

/// <summary>One field of a generated class as the spec describes it (for tooling and tests).</summary>
public sealed record FieldDescriptor(
    string Name,
    string Type,
    VersionRange Versions,
    VersionRange NullableVersions,
    VersionRange TaggedVersions,
    int Tag,
    bool Ignorable,
    string? Default,
    Type? StructType);

/// <summary>A tagged field the reader did not know; kept as raw bytes and written back unchanged.</summary>
public sealed class RawTaggedField : IEquatable<RawTaggedField>
{
    public RawTaggedField(int tag, byte[] data)
    {
        Tag = tag;
        Data = data;
    }

    public int Tag { get; }

    public byte[] Data { get; }

    public bool Equals(RawTaggedField? other) => other is not null && Tag == other.Tag && Data.AsSpan().SequenceEqual(other.Data);

    public override bool Equals(object? obj) => obj is RawTaggedField other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Tag, Data.Length);

    public override string ToString() => $"tag {Tag}: {Data.Length} bytes";
}

/// <summary>Equality and description helpers the generated code uses.</summary>
public static class ProtocolEquality
{
    public static bool BytesEqual(byte[]? a, byte[]? b) =>
        a is null ? b is null : b is not null && a.AsSpan().SequenceEqual(b);

    public static bool BytesEqual(ReadOnlyMemory<byte>? a, ReadOnlyMemory<byte>? b) =>
        a is not { } x ? b is null : b is { } y && x.Span.SequenceEqual(y.Span);

    public static bool BytesEqual(ReadOnlyMemory<byte> a, ReadOnlyMemory<byte> b) => a.Span.SequenceEqual(b.Span);

    public static bool ListEqual<T>(List<T>? a, List<T>? b)
    {
        if (a is null || b is null)
        {
            return a is null && b is null;
        }

        if (a.Count != b.Count)
        {
            return false;
        }

        EqualityComparer<T> comparer = EqualityComparer<T>.Default;
        for (int i = 0; i < a.Count; i++)
        {
            if (!comparer.Equals(a[i], b[i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Unknown tagged fields: null and empty mean the same.</summary>
    public static bool TaggedFieldsEqual(List<RawTaggedField>? a, List<RawTaggedField>? b) =>
        (a is null || a.Count == 0) ? (b is null || b.Count == 0) : ListEqual(a, b);

    public static string Describe<T>(List<T>? list)
    {
        if (list is null)
        {
            return "null";
        }

        var sb = new StringBuilder("[");
        for (int i = 0; i < list.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }

            sb.Append(list[i]);
        }

        return sb.Append(']').ToString();
    }

    public static string Describe(byte[]? bytes) => bytes is null ? "null" : $"bytes[{bytes.Length}]";

    public static string Describe(ReadOnlyMemory<byte>? bytes) => bytes is { } b ? $"bytes[{b.Length}]" : "null";

    public static string Describe(ReadOnlyMemory<byte> bytes) => $"bytes[{bytes.Length}]";
}
