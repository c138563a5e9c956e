using System.Collections.Immutable;

namespace Aspire.Kafka.Metadata;

/// <summary>Kafka's ConfigResource.Type codes (as in ConfigRecord and the config APIs).</summary>
public enum ConfigResourceType : sbyte
{
    Unknown = 0,
    Topic = 2,
    Broker = 4,
    BrokerLogger = 8,
    ClientMetrics = 16,
    Group = 32,
}

/// <summary>A resource configs apply to: a topic by name, a broker by id, or "" for the cluster-wide broker default.</summary>
public readonly record struct ConfigResource(ConfigResourceType Type, string Name)
{
    public static ConfigResource Topic(string name) => new(ConfigResourceType.Topic, name);

    public static ConfigResource Broker(int id) => new(ConfigResourceType.Broker, id.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>The cluster-wide default for broker configs (resource name "").</summary>
    public static ConfigResource ClusterDefault => new(ConfigResourceType.Broker, "");

    public override string ToString() => $"{Type}:{(Name.Length == 0 ? "<default>" : Name)}";
}

/// <summary>Dynamic configs per resource as written by ConfigRecords (Kafka's ConfigurationsImage).</summary>
public sealed class ConfigurationsImage
{
    public static readonly ConfigurationsImage Empty = new(ImmutableDictionary<ConfigResource, ImmutableSortedDictionary<string, string>>.Empty);

    public ConfigurationsImage(ImmutableDictionary<ConfigResource, ImmutableSortedDictionary<string, string>> resources)
    {
        Resources = resources;
    }

    public ImmutableDictionary<ConfigResource, ImmutableSortedDictionary<string, string>> Resources { get; }

    public bool IsEmpty => Resources.IsEmpty;

    /// <summary>The configs set on a resource (empty when none).</summary>
    public ImmutableSortedDictionary<string, string> ConfigMap(ConfigResource resource) =>
        Resources.GetValueOrDefault(resource) ?? ImmutableSortedDictionary<string, string>.Empty;

    public string? Get(ConfigResource resource, string key) =>
        Resources.TryGetValue(resource, out var map) && map.TryGetValue(key, out string? value) ? value : null;
}

/// <summary>Finalized feature levels (Kafka's FeaturesImage), e.g. metadata.version.</summary>
public sealed class FeaturesImage
{
    public static readonly FeaturesImage Empty = new(ImmutableSortedDictionary<string, short>.Empty);

    public FeaturesImage(ImmutableSortedDictionary<string, short> finalizedVersions)
    {
        FinalizedVersions = finalizedVersions;
    }

    public ImmutableSortedDictionary<string, short> FinalizedVersions { get; }

    /// <summary>The finalized metadata.version, or 0 when none was written.</summary>
    public short MetadataVersion => FinalizedVersions.GetValueOrDefault(RecordVersions.MetadataVersionFeature);
}

/// <summary>The next producer id block start (Kafka's ProducerIdsImage).</summary>
public sealed record ProducerIdsImage(long NextProducerId)
{
    public static readonly ProducerIdsImage Empty = new(0L);
}

/// <summary>The offset and epoch of the last record an image contains (Kafka's MetadataProvenance).</summary>
public readonly record struct MetadataProvenance(long LastContainedOffset, int LastContainedEpoch)
{
    public static readonly MetadataProvenance Empty = new(-1, -1);
}
