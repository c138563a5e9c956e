using System.Globalization;
using System.Text.Json;

namespace Aspire.Kafka.ProtocolGenerator;

/// <summary>One JSON message spec: a request, response, header, metadata record or data struct.</summary>
internal sealed class MessageSpec
{
    public required string Name { get; init; }
    public required string Kind { get; init; }
    public short? ApiKey { get; init; }
    public required Versions ValidVersions { get; init; }
    public required Versions FlexibleVersions { get; init; }
    public Versions DeprecatedVersions { get; init; } = Versions.None;
    public bool LatestVersionUnstable { get; init; }
    public IReadOnlyList<string> Listeners { get; init; } = [];
    public required IReadOnlyList<FieldSpec> Fields { get; init; }
    public IReadOnlyList<StructSpec> CommonStructs { get; init; } = [];
    public required string SourceFile { get; init; }
}

/// <summary>A named struct: commonStructs entries and inline struct-typed fields.</summary>
internal sealed class StructSpec
{
    public required string Name { get; init; }
    public required Versions Versions { get; init; }
    public required IReadOnlyList<FieldSpec> Fields { get; init; }
}

internal sealed class FieldSpec
{
    public required string Name { get; init; }
    public required FieldType Type { get; init; }
    public required Versions Versions { get; init; }
    public Versions NullableVersions { get; init; } = Versions.None;
    public Versions TaggedVersions { get; init; } = Versions.None;
    public int? Tag { get; init; }
    public bool Ignorable { get; init; }
    public string? Default { get; init; }
    public Versions? FlexibleVersionsOverride { get; init; }
    public bool ZeroCopy { get; init; }
    public string? EntityType { get; init; }
    public string? About { get; init; }
    public IReadOnlyList<FieldSpec>? Fields { get; init; }

    public bool IsNullable => !NullableVersions.IsEmpty;
}

/// <summary>A field type: a primitive, a struct, or an array of either.</summary>
internal sealed record FieldType(string Name, bool IsArray, FieldType? Element)
{
    private static readonly HashSet<string> Primitives =
        ["bool", "int8", "int16", "uint16", "int32", "uint32", "int64", "float64", "string", "bytes", "uuid", "records"];

    public bool IsPrimitive => !IsArray && Primitives.Contains(Name);

    public bool IsStruct => !IsArray && !Primitives.Contains(Name);

    public static FieldType Parse(string text)
    {
        if (text.StartsWith("[]", StringComparison.Ordinal))
        {
            FieldType element = Parse(text[2..]);
            return new FieldType(text, true, element);
        }

        return new FieldType(text, false, null);
    }
}

internal static class SpecReader
{
    private static readonly JsonDocumentOptions Options = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    public static MessageSpec Read(string path)
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(path), Options);
        JsonElement root = document.RootElement;
        string name = root.GetProperty("name").GetString()!;
        Versions valid = Versions.Parse(root.GetProperty("validVersions").GetString(), Versions.None);
        Versions flexible = Versions.Parse(Str(root, "flexibleVersions"), Versions.None);
        return new MessageSpec
        {
            Name = name,
            Kind = root.GetProperty("type").GetString()!,
            ApiKey = root.TryGetProperty("apiKey", out JsonElement key)
                ? key.ValueKind == JsonValueKind.String ? short.Parse(key.GetString()!, CultureInfo.InvariantCulture) : key.GetInt16()
                : null,
            ValidVersions = valid,
            FlexibleVersions = flexible,
            DeprecatedVersions = Versions.Parse(Str(root, "deprecatedVersions"), Versions.None),
            LatestVersionUnstable = root.TryGetProperty("latestVersionUnstable", out JsonElement unstable) && unstable.GetBoolean(),
            Listeners = root.TryGetProperty("listeners", out JsonElement listeners)
                ? listeners.EnumerateArray().Select(l => l.GetString()!).ToList()
                : [],
            Fields = ReadFields(root, path),
            CommonStructs = root.TryGetProperty("commonStructs", out JsonElement common)
                ? common.EnumerateArray().Select(s => new StructSpec
                {
                    Name = s.GetProperty("name").GetString()!,
                    Versions = Versions.Parse(Str(s, "versions"), Versions.All),
                    Fields = ReadFields(s, path),
                }).ToList()
                : [],
            SourceFile = Path.GetFileName(path),
        };
    }

    private static string? Str(JsonElement element, string property) =>
        element.TryGetProperty(property, out JsonElement value) ? value.GetString() : null;

    private static List<FieldSpec> ReadFields(JsonElement owner, string path)
    {
        if (!owner.TryGetProperty("fields", out JsonElement fields))
        {
            return [];
        }

        var result = new List<FieldSpec>();
        foreach (JsonElement f in fields.EnumerateArray())
        {
            string fieldName = f.GetProperty("name").GetString()!;
            string versionsText = Str(f, "versions")
                ?? throw new InvalidDataException($"{path}: field {fieldName} has no versions.");
            Versions versions = Versions.Parse(versionsText, Versions.None);
            Versions tagged = Versions.Parse(Str(f, "taggedVersions"), Versions.None);
            string? defaultText = null;
            if (f.TryGetProperty("default", out JsonElement d))
            {
                defaultText = d.ValueKind switch
                {
                    JsonValueKind.String => d.GetString(),
                    JsonValueKind.True => "true",
                    JsonValueKind.False => "false",
                    JsonValueKind.Number => d.GetRawText(),
                    JsonValueKind.Null => "null",
                    _ => throw new InvalidDataException($"{path}: field {fieldName} has a default of kind {d.ValueKind}."),
                };
            }

            result.Add(new FieldSpec
            {
                Name = Pascal(fieldName),
                Type = FieldType.Parse(f.GetProperty("type").GetString()!),
                Versions = versions,
                NullableVersions = Versions.Parse(Str(f, "nullableVersions"), Versions.None),
                TaggedVersions = tagged,
                Tag = f.TryGetProperty("tag", out JsonElement tag)
                    ? tag.ValueKind == JsonValueKind.String ? int.Parse(tag.GetString()!, CultureInfo.InvariantCulture) : tag.GetInt32()
                    : null,
                Ignorable = f.TryGetProperty("ignorable", out JsonElement ign) && ign.GetBoolean(),
                Default = defaultText,
                FlexibleVersionsOverride = Str(f, "flexibleVersions") is { } fv ? Versions.Parse(fv, Versions.None) : null,
                ZeroCopy = f.TryGetProperty("zeroCopy", out JsonElement zc) && zc.GetBoolean(),
                EntityType = Str(f, "entityType"),
                About = Str(f, "about"),
                Fields = f.TryGetProperty("fields", out _) ? ReadFields(f, path) : null,
            });

            if (!tagged.IsEmpty && result[^1].Tag is null)
            {
                throw new InvalidDataException($"{path}: field {fieldName} has taggedVersions but no tag.");
            }
        }

        return result;
    }

    /// <summary>Kafka capitalizes field names for its generated accessors; so do we (group-coordinator specs use camelCase).</summary>
    public static string Pascal(string name) =>
        string.IsNullOrEmpty(name) ? name : char.ToUpper(name[0], CultureInfo.InvariantCulture) + name[1..];
}
