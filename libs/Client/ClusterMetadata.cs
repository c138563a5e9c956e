using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Client;

/// <summary>A partition as Metadata describes it.</summary>
public sealed record PartitionMetadata(
    int Partition,
    ErrorCode Error,
    int LeaderId,
    int LeaderEpoch,
    IReadOnlyList<int> Replicas,
    IReadOnlyList<int> Isr,
    IReadOnlyList<int> OfflineReplicas);

/// <summary>A topic as Metadata describes it.</summary>
public sealed record TopicMetadata(string Name, KafkaUuid TopicId, ErrorCode Error, bool IsInternal, IReadOnlyList<PartitionMetadata> Partitions)
{
    public PartitionMetadata? Partition(int partition) => Partitions.FirstOrDefault(p => p.Partition == partition);
}

/// <summary>
/// An immutable snapshot of the cluster (Kafka's Cluster): nodes, controller, and the topics
/// asked about so far. <see cref="KafkaClient"/> replaces it as Metadata responses arrive.
/// </summary>
public sealed class ClusterMetadata
{
    public static readonly ClusterMetadata Empty = new(null, -1, new Dictionary<int, KafkaNode>(), new Dictionary<string, TopicMetadata>(), DateTimeOffset.MinValue);

    public ClusterMetadata(string? clusterId, int controllerId, IReadOnlyDictionary<int, KafkaNode> brokers,
        IReadOnlyDictionary<string, TopicMetadata> topics, DateTimeOffset fetchedAt)
    {
        ClusterId = clusterId;
        ControllerId = controllerId;
        Brokers = brokers;
        Topics = topics;
        FetchedAt = fetchedAt;
    }

    public string? ClusterId { get; }

    /// <summary>The node to send controller-bound admin requests to (-1: unknown).</summary>
    public int ControllerId { get; }

    public IReadOnlyDictionary<int, KafkaNode> Brokers { get; }

    public IReadOnlyDictionary<string, TopicMetadata> Topics { get; }

    public DateTimeOffset FetchedAt { get; }

    public KafkaNode? Controller => Brokers.GetValueOrDefault(ControllerId);

    /// <summary>The partition's leader node, when the snapshot knows one.</summary>
    public KafkaNode? LeaderFor(string topic, int partition) =>
        Topics.GetValueOrDefault(topic)?.Partition(partition) is { LeaderId: >= 0 } p ? Brokers.GetValueOrDefault(p.LeaderId) : null;

    /// <summary>
    /// This snapshot updated with a Metadata response: nodes and controller replaced, the
    /// response's topics replaced, other topics kept (or dropped when <paramref name="allTopics"/>).
    /// </summary>
    public ClusterMetadata Merge(MetadataResponse response, DateTimeOffset now, bool allTopics)
    {
        var brokers = response.Brokers.ToDictionary(b => b.NodeId, b => new KafkaNode(b.NodeId, b.Host, b.Port, b.Rack));
        var topics = allTopics ? new Dictionary<string, TopicMetadata>(StringComparer.Ordinal) : new Dictionary<string, TopicMetadata>(Topics, StringComparer.Ordinal);
        foreach (MetadataResponse.MetadataResponseTopic t in response.Topics)
        {
            if (t.Name is null)
            {
                continue;
            }

            var partitions = t.Partitions
                .OrderBy(p => p.PartitionIndex)
                .Select(p => new PartitionMetadata(p.PartitionIndex, (ErrorCode)p.ErrorCode, p.LeaderId, p.LeaderEpoch, p.ReplicaNodes, p.IsrNodes, p.OfflineReplicas))
                .ToList();
            topics[t.Name] = new TopicMetadata(t.Name, t.TopicId, (ErrorCode)t.ErrorCode, t.IsInternal, partitions);
        }

        return new ClusterMetadata(response.ClusterId ?? ClusterId, response.ControllerId, brokers, topics, now);
    }
}
