using Aspire.Kafka.Protocol.MetadataRecords;

namespace Aspire.Kafka.Metadata;

/// <summary>
/// The cluster metadata at one offset of the metadata log (Kafka's MetadataImage). Immutable:
/// a <see cref="MetadataDelta"/> replays records on top of an image and produces the next one.
/// </summary>
public sealed class MetadataImage
{
    public static readonly MetadataImage Empty = new(
        MetadataProvenance.Empty,
        FeaturesImage.Empty,
        ClusterImage.Empty,
        TopicsImage.Empty,
        ConfigurationsImage.Empty,
        ProducerIdsImage.Empty,
        CoordinatorsImage.Empty);

    public MetadataImage(
        MetadataProvenance provenance,
        FeaturesImage features,
        ClusterImage cluster,
        TopicsImage topics,
        ConfigurationsImage configs,
        ProducerIdsImage producerIds,
        CoordinatorsImage coordinators)
    {
        Provenance = provenance;
        Features = features;
        Cluster = cluster;
        Topics = topics;
        Configs = configs;
        ProducerIds = producerIds;
        Coordinators = coordinators;
    }

    public MetadataProvenance Provenance { get; }

    /// <summary>The offset of the last record applied (-1 for the empty image).</summary>
    public long Offset => Provenance.LastContainedOffset;

    public FeaturesImage Features { get; }

    public ClusterImage Cluster { get; }

    public TopicsImage Topics { get; }

    public ConfigurationsImage Configs { get; }

    public ProducerIdsImage ProducerIds { get; }

    public CoordinatorsImage Coordinators { get; }

    public bool IsEmpty =>
        Features.FinalizedVersions.IsEmpty && Cluster.IsEmpty && Topics.IsEmpty && Configs.IsEmpty
        && ProducerIds.NextProducerId == 0 && Coordinators.IsEmpty;

    /// <summary>
    /// The coordinator of a consumer group: its <c>__consumer_offsets</c> partition (Kafka's hash)
    /// and the assigned coordinator node when that node is registered and active. Null when the
    /// offsets topic does not exist yet (the broker asks the controller to create it).
    /// </summary>
    public CoordinatorLookup? FindCoordinator(string groupId)
    {
        TopicImage? offsets = Topics.GetTopic(CoordinatorsImage.ConsumerOffsetsTopic);
        if (offsets is null || offsets.Partitions.Count == 0)
        {
            return null;
        }

        int partition = CoordinatorsImage.PartitionFor(groupId, offsets.Partitions.Count);
        CoordinatorAssignment? assignment = Coordinators.Assignment(partition);
        BrokerRegistration? node = assignment is { IsAssigned: true } ? Cluster.Coordinators.GetValueOrDefault(assignment.CoordinatorId) : null;
        return new CoordinatorLookup(partition, assignment, node is { IsActive: true } ? node : null);
    }

    /// <summary>Builds an image from a snapshot's records (the inverse of <see cref="ToRecords"/>).</summary>
    public static MetadataImage FromRecords(IEnumerable<ApiMessageAndVersion> records, MetadataProvenance provenance)
    {
        ArgumentNullException.ThrowIfNull(records);
        var delta = new MetadataDelta(Empty);
        foreach (ApiMessageAndVersion record in records)
        {
            delta.Replay(record);
        }

        return delta.Apply(provenance);
    }

    /// <summary><see cref="ToRecords"/> serialized (<see cref="MetadataRecordSerde"/>): the values a metadata snapshot holds.</summary>
    public List<ReadOnlyMemory<byte>> ToSerializedRecords() => [.. ToRecords().Select(r => (ReadOnlyMemory<byte>)MetadataRecordSerde.Serialize(r))];

    /// <summary>
    /// The records that rebuild this image from empty, in a deterministic order (what a snapshot
    /// holds; Kafka's MetadataImage.write).
    /// </summary>
    public IEnumerable<ApiMessageAndVersion> ToRecords()
    {
        foreach ((string name, short level) in Features.FinalizedVersions)
        {
            yield return RecordVersions.Of(new FeatureLevelRecord { Name = name, FeatureLevel = level });
        }

        foreach (BrokerRegistration node in Cluster.Nodes.Values)
        {
            yield return node.ToRecord();
        }

        foreach (TopicImage topic in Topics.InNameOrder())
        {
            yield return RecordVersions.Of(new TopicRecord { Name = topic.Name, TopicId = topic.Id });
            foreach ((int partitionId, PartitionRegistration partition) in topic.Partitions)
            {
                yield return RecordVersions.Of(partition.ToRecord(topic.Id, partitionId));
            }
        }

        foreach (var resource in Configs.Resources.OrderBy(r => r.Key.Type).ThenBy(r => r.Key.Name, StringComparer.Ordinal))
        {
            foreach ((string key, string value) in resource.Value)
            {
                yield return RecordVersions.Of(new ConfigRecord { ResourceType = (sbyte)resource.Key.Type, ResourceName = resource.Key.Name, Name = key, Value = value });
            }
        }

        if (ProducerIds.NextProducerId != 0)
        {
            yield return RecordVersions.Of(new ProducerIdsRecord { BrokerId = -1, BrokerEpoch = -1, NextProducerId = ProducerIds.NextProducerId });
        }

        foreach (CoordinatorAssignment assignment in Coordinators.Assignments.Values)
        {
            yield return RecordVersions.Of(new CoordinatorAssignmentRecord { PartitionId = assignment.PartitionId, CoordinatorId = assignment.CoordinatorId, AssignmentEpoch = assignment.AssignmentEpoch });
        }
    }

    /// <summary>A readable, deterministic dump of the image (every record of <see cref="ToRecords"/>, one per line).</summary>
    public string Describe() =>
        $"offset={Provenance.LastContainedOffset} epoch={Provenance.LastContainedEpoch}\n" + string.Join("\n", ToRecords().Select(r => r.ToString()));
}

/// <summary>The answer to FindCoordinator from an image.</summary>
/// <param name="Partition">The group's <c>__consumer_offsets</c> partition.</param>
/// <param name="Assignment">The partition's coordinator assignment, if any.</param>
/// <param name="Coordinator">The assigned node when it is registered and active; null means COORDINATOR_NOT_AVAILABLE.</param>
public sealed record CoordinatorLookup(int Partition, CoordinatorAssignment? Assignment, BrokerRegistration? Coordinator);
