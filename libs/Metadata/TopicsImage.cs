using System.Collections.Immutable;
using Aspire.Kafka.Protocol;

namespace Aspire.Kafka.Metadata;

/// <summary>One topic: its id, name and partitions (Kafka's TopicImage).</summary>
public sealed class TopicImage
{
    public TopicImage(string name, KafkaUuid id, ImmutableSortedDictionary<int, PartitionRegistration> partitions)
    {
        Name = name;
        Id = id;
        Partitions = partitions;
    }

    public string Name { get; }

    public KafkaUuid Id { get; }

    public ImmutableSortedDictionary<int, PartitionRegistration> Partitions { get; }

    public PartitionRegistration? Partition(int partitionId) => Partitions.GetValueOrDefault(partitionId);

    public override string ToString() => $"{Name} ({Id}, {Partitions.Count} partitions)";
}

/// <summary>Every topic by id and by name (Kafka's TopicsImage).</summary>
public sealed class TopicsImage
{
    public static readonly TopicsImage Empty = new(ImmutableDictionary<KafkaUuid, TopicImage>.Empty, ImmutableDictionary<string, TopicImage>.Empty);

    public TopicsImage(ImmutableDictionary<KafkaUuid, TopicImage> topicsById, ImmutableDictionary<string, TopicImage> topicsByName)
    {
        TopicsById = topicsById;
        TopicsByName = topicsByName;
    }

    public ImmutableDictionary<KafkaUuid, TopicImage> TopicsById { get; }

    public ImmutableDictionary<string, TopicImage> TopicsByName { get; }

    public bool IsEmpty => TopicsById.IsEmpty;

    public TopicImage? GetTopic(string name) => TopicsByName.GetValueOrDefault(name);

    public TopicImage? GetTopic(KafkaUuid id) => TopicsById.GetValueOrDefault(id);

    public PartitionRegistration? GetPartition(KafkaUuid id, int partitionId) => GetTopic(id)?.Partition(partitionId);

    /// <summary>Topics in name order (deterministic iteration).</summary>
    public IEnumerable<TopicImage> InNameOrder() => TopicsByName.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => t.Value);
}
