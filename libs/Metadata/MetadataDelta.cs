using System.Collections.Immutable;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.MetadataRecords;

namespace Aspire.Kafka.Metadata;

/// <summary>A record that contradicts the image it is replayed on (e.g. a change for an unknown partition).</summary>
public sealed class MetadataReplayException : Exception
{
    public MetadataReplayException(string message) : base(message) { }
}

/// <summary>
/// Changes to a <see cref="MetadataImage"/>: replay records one by one, then <see cref="Apply"/>
/// builds the next image (Kafka's MetadataDelta). Also tells a broker which of its partitions
/// changed (<see cref="GetLocalChanges"/>) and a coordinator which groups' partitions it gained
/// or lost (<see cref="GetCoordinatorChanges"/>). Not thread-safe; one delta per batch.
/// </summary>
public sealed class MetadataDelta
{
    private readonly MetadataImage _image;
    private readonly Dictionary<string, short> _featureChanges = new(StringComparer.Ordinal);
    private readonly Dictionary<int, BrokerRegistration?> _nodeChanges = [];
    private readonly Dictionary<KafkaUuid, TopicDelta> _changedTopics = [];
    private readonly HashSet<KafkaUuid> _deletedTopicIds = [];
    private readonly Dictionary<ConfigResource, ConfigResourceDelta> _configChanges = [];
    private readonly Dictionary<int, CoordinatorAssignment?> _assignmentChanges = [];
    private long? _nextProducerId;

    public MetadataDelta(MetadataImage image)
    {
        _image = image ?? throw new ArgumentNullException(nameof(image));
    }

    /// <summary>The image this delta applies to.</summary>
    public MetadataImage Image => _image;

    /// <summary>Topics created or changed by this delta (by id).</summary>
    public IReadOnlyDictionary<KafkaUuid, TopicDelta> ChangedTopics => _changedTopics;

    /// <summary>Ids of topics of the base image that this delta deletes.</summary>
    public IReadOnlyCollection<KafkaUuid> DeletedTopicIds => _deletedTopicIds;

    /// <summary>Node ids registered, changed or unregistered by this delta.</summary>
    public IReadOnlyCollection<int> ChangedNodes => _nodeChanges.Keys;

    /// <summary>Config resources changed by this delta.</summary>
    public IReadOnlyCollection<ConfigResource> ChangedConfigResources => _configChanges.Keys;

    /// <summary><c>__consumer_offsets</c> partitions whose coordinator assignment changed.</summary>
    public IReadOnlyCollection<int> ChangedCoordinatorAssignments => _assignmentChanges.Keys;

    public bool FeaturesChanged => _featureChanges.Count > 0;

    public void Replay(ApiMessageAndVersion record) => Replay(record.Message);

    public void Replay(IApiMessage record)
    {
        switch (record)
        {
            case RegisterBrokerRecord r:
                _nodeChanges[r.BrokerId] = BrokerRegistration.FromRecord(r);
                break;
            case RegisterCoordinatorRecord r:
                _nodeChanges[r.CoordinatorId] = BrokerRegistration.FromRecord(r);
                break;
            case UnregisterBrokerRecord r:
                _ = NodeOrThrow(r.BrokerId, r.BrokerEpoch, "unregister");
                _nodeChanges[r.BrokerId] = null;
                break;
            case FenceBrokerRecord r:
                _nodeChanges[r.Id] = NodeOrThrow(r.Id, r.Epoch, "fence") with { Fenced = true };
                break;
            case UnfenceBrokerRecord r:
                _nodeChanges[r.Id] = NodeOrThrow(r.Id, r.Epoch, "unfence") with { Fenced = false };
                break;
            case BrokerRegistrationChangeRecord r:
                ReplayRegistrationChange(r);
                break;
            case TopicRecord r:
                ReplayTopic(r);
                break;
            case PartitionRecord r:
                TopicOrThrow(r.TopicId, "PartitionRecord").Set(r.PartitionId, PartitionRegistration.FromRecord(r));
                break;
            case PartitionChangeRecord r:
            {
                TopicDelta topic = TopicOrThrow(r.TopicId, "PartitionChangeRecord");
                PartitionRegistration current = topic.Current(r.PartitionId)
                    ?? throw new MetadataReplayException($"PartitionChangeRecord for unknown partition {r.PartitionId} of topic {topic.Name} ({r.TopicId}).");
                topic.Set(r.PartitionId, current.Merge(r));
                break;
            }

            case RemoveTopicRecord r:
                ReplayRemoveTopic(r);
                break;
            case ConfigRecord r:
            {
                var resource = new ConfigResource((ConfigResourceType)r.ResourceType, r.ResourceName);
                ConfigDelta(resource).Changes[r.Name] = r.Value;
                break;
            }

            case FeatureLevelRecord r:
                _featureChanges[r.Name] = r.FeatureLevel;
                break;
            case ProducerIdsRecord r:
                _nextProducerId = r.NextProducerId;
                break;
            case CoordinatorAssignmentRecord r:
                _assignmentChanges[r.PartitionId] = new CoordinatorAssignment(r.PartitionId, r.CoordinatorId, r.AssignmentEpoch);
                break;
            case NoOpRecord:
                break;
            default:
                // Records this project does not act on (ACLs, quotas, SCRAM, delegation tokens,
                // controller registrations, migration state, transactions markers): kept out of the image.
                break;
        }
    }

    private void ReplayRegistrationChange(BrokerRegistrationChangeRecord r)
    {
        BrokerRegistration node = NodeOrThrow(r.BrokerId, r.BrokerEpoch, "change registration of");
        node = r.Fenced switch
        {
            -1 => node with { Fenced = false },
            0 => node,
            1 => node with { Fenced = true },
            _ => throw new MetadataReplayException($"Invalid fencing change {r.Fenced} for node {r.BrokerId}."),
        };
        node = r.InControlledShutdown switch
        {
            0 => node,
            1 => node with { InControlledShutdown = true },
            _ => throw new MetadataReplayException($"Invalid controlled shutdown change {r.InControlledShutdown} for node {r.BrokerId}."),
        };
        _nodeChanges[r.BrokerId] = node;
    }

    private void ReplayTopic(TopicRecord r)
    {
        if (_changedTopics.ContainsKey(r.TopicId) || (_image.Topics.TopicsById.ContainsKey(r.TopicId) && !_deletedTopicIds.Contains(r.TopicId)))
        {
            throw new MetadataReplayException($"TopicRecord for topic {r.Name} with id {r.TopicId}, which already exists.");
        }

        _changedTopics[r.TopicId] = new TopicDelta(null, r.Name, r.TopicId);
    }

    private void ReplayRemoveTopic(RemoveTopicRecord r)
    {
        string name;
        if (_changedTopics.Remove(r.TopicId, out TopicDelta? changed))
        {
            name = changed.Name;
            if (changed.Base is not null)
            {
                _deletedTopicIds.Add(r.TopicId);
            }
        }
        else if (_image.Topics.GetTopic(r.TopicId) is { } existing && !_deletedTopicIds.Contains(r.TopicId))
        {
            name = existing.Name;
            _deletedTopicIds.Add(r.TopicId);
        }
        else
        {
            throw new MetadataReplayException($"RemoveTopicRecord for unknown topic id {r.TopicId}.");
        }

        // As Kafka: a deleted topic's configs go with it.
        ConfigResourceDelta configs = ConfigDelta(ConfigResource.Topic(name));
        configs.Reset = true;
        configs.Changes.Clear();

        if (name == CoordinatorsImage.ConsumerOffsetsTopic)
        {
            foreach (int partition in _image.Coordinators.Assignments.Keys.Concat(_assignmentChanges.Keys).ToList())
            {
                _assignmentChanges[partition] = null;
            }
        }
    }

    private ConfigResourceDelta ConfigDelta(ConfigResource resource)
    {
        if (!_configChanges.TryGetValue(resource, out ConfigResourceDelta? delta))
        {
            delta = new ConfigResourceDelta();
            _configChanges[resource] = delta;
        }

        return delta;
    }

    /// <summary>The node as of the records replayed so far, or null.</summary>
    public BrokerRegistration? CurrentNode(int id) =>
        _nodeChanges.TryGetValue(id, out BrokerRegistration? changed) ? changed : _image.Cluster.Node(id);

    private BrokerRegistration NodeOrThrow(int id, long epoch, string action)
    {
        BrokerRegistration node = CurrentNode(id) ?? throw new MetadataReplayException($"Tried to {action} node {id}, but it is not registered.");
        if (node.Epoch != epoch)
        {
            throw new MetadataReplayException($"Tried to {action} node {id} with epoch {epoch}, but its current epoch is {node.Epoch}.");
        }

        return node;
    }

    private TopicDelta TopicOrThrow(KafkaUuid topicId, string recordName)
    {
        if (_changedTopics.TryGetValue(topicId, out TopicDelta? delta))
        {
            return delta;
        }

        if (_deletedTopicIds.Contains(topicId) || _image.Topics.GetTopic(topicId) is not { } topic)
        {
            throw new MetadataReplayException($"{recordName} for unknown topic id {topicId}.");
        }

        delta = new TopicDelta(topic, topic.Name, topic.Id);
        _changedTopics[topicId] = delta;
        return delta;
    }

    /// <summary>Builds the image that results from the records replayed so far.</summary>
    public MetadataImage Apply(MetadataProvenance provenance) => new(
        provenance,
        ApplyFeatures(),
        ApplyCluster(),
        ApplyTopics(),
        ApplyConfigs(),
        _nextProducerId is { } next ? new ProducerIdsImage(next) : _image.ProducerIds,
        ApplyCoordinators());

    private FeaturesImage ApplyFeatures()
    {
        if (_featureChanges.Count == 0)
        {
            return _image.Features;
        }

        var builder = _image.Features.FinalizedVersions.ToBuilder();
        foreach ((string name, short level) in _featureChanges)
        {
            // Level 0 means "not finalized" (Kafka removes the feature).
            if (level == 0)
            {
                builder.Remove(name);
            }
            else
            {
                builder[name] = level;
            }
        }

        return new FeaturesImage(builder.ToImmutable());
    }

    private ClusterImage ApplyCluster()
    {
        if (_nodeChanges.Count == 0)
        {
            return _image.Cluster;
        }

        var builder = _image.Cluster.Nodes.ToBuilder();
        foreach ((int id, BrokerRegistration? node) in _nodeChanges)
        {
            if (node is null)
            {
                builder.Remove(id);
            }
            else
            {
                builder[id] = node;
            }
        }

        return new ClusterImage(builder.ToImmutable());
    }

    private TopicsImage ApplyTopics()
    {
        if (_changedTopics.Count == 0 && _deletedTopicIds.Count == 0)
        {
            return _image.Topics;
        }

        var byId = _image.Topics.TopicsById.ToBuilder();
        var byName = _image.Topics.TopicsByName.ToBuilder();
        foreach (KafkaUuid id in _deletedTopicIds)
        {
            if (byId.Remove(id, out TopicImage? removed) && byName.TryGetValue(removed.Name, out TopicImage? named) && named.Id == id)
            {
                byName.Remove(removed.Name);
            }
        }

        foreach (TopicDelta delta in _changedTopics.Values)
        {
            TopicImage topic = delta.ToImage();
            byId[topic.Id] = topic;
            byName[topic.Name] = topic;
        }

        return new TopicsImage(byId.ToImmutable(), byName.ToImmutable());
    }

    private ConfigurationsImage ApplyConfigs()
    {
        if (_configChanges.Count == 0)
        {
            return _image.Configs;
        }

        var resources = _image.Configs.Resources.ToBuilder();
        foreach ((ConfigResource resource, ConfigResourceDelta delta) in _configChanges)
        {
            var map = (delta.Reset ? ImmutableSortedDictionary<string, string>.Empty : _image.Configs.ConfigMap(resource)).ToBuilder();
            foreach ((string key, string? value) in delta.Changes)
            {
                if (value is null)
                {
                    map.Remove(key);
                }
                else
                {
                    map[key] = value;
                }
            }

            if (map.Count == 0)
            {
                resources.Remove(resource);
            }
            else
            {
                resources[resource] = map.ToImmutable();
            }
        }

        return new ConfigurationsImage(resources.ToImmutable());
    }

    private CoordinatorsImage ApplyCoordinators()
    {
        if (_assignmentChanges.Count == 0)
        {
            return _image.Coordinators;
        }

        var builder = _image.Coordinators.Assignments.ToBuilder();
        foreach ((int partition, CoordinatorAssignment? assignment) in _assignmentChanges)
        {
            if (assignment is null)
            {
                builder.Remove(partition);
            }
            else
            {
                builder[partition] = assignment;
            }
        }

        return new CoordinatorsImage(builder.ToImmutable());
    }

    /// <summary>
    /// What this delta changes for the replicas a broker hosts (Kafka's TopicsDelta.localChanges):
    /// partitions it now leads, partitions it now follows (each only when the partition changed),
    /// and partitions it must stop hosting (topic deleted, or the broker left the replica set).
    /// </summary>
    public LocalReplicaChanges GetLocalChanges(int brokerId)
    {
        var deletes = new List<LocalPartition>();
        var leaders = new List<LocalPartition>();
        var followers = new List<LocalPartition>();
        foreach (KafkaUuid id in _deletedTopicIds.OrderBy(i => i.ToString(), StringComparer.Ordinal))
        {
            TopicImage topic = _image.Topics.TopicsById[id];
            foreach ((int partitionId, PartitionRegistration partition) in topic.Partitions)
            {
                if (partition.Replicas.Contains(brokerId))
                {
                    deletes.Add(new LocalPartition(topic.Name, topic.Id, partitionId, partition, partition));
                }
            }
        }

        foreach (TopicDelta topic in _changedTopics.Values.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            foreach ((int partitionId, PartitionRegistration partition) in topic.ChangedPartitions.OrderBy(p => p.Key))
            {
                PartitionRegistration? previous = topic.Base?.Partition(partitionId);
                var local = new LocalPartition(topic.Name, topic.Id, partitionId, partition, previous);
                if (partition.Replicas.Contains(brokerId))
                {
                    (partition.Leader == brokerId ? leaders : followers).Add(local);
                }
                else if (previous is not null && previous.Replicas.Contains(brokerId))
                {
                    deletes.Add(local);
                }
            }
        }

        return new LocalReplicaChanges(deletes, leaders, followers);
    }

    /// <summary>
    /// The <c>__consumer_offsets</c> partitions a coordinator node gains (newly assigned, or
    /// re-assigned with a new epoch) and loses in this delta.
    /// </summary>
    public CoordinatorChanges GetCoordinatorChanges(int nodeId)
    {
        var gained = new List<CoordinatorAssignment>();
        var lost = new List<CoordinatorAssignment>();
        foreach ((int partition, CoordinatorAssignment? now) in _assignmentChanges.OrderBy(c => c.Key))
        {
            CoordinatorAssignment? before = _image.Coordinators.Assignment(partition);
            bool hadIt = before is not null && before.CoordinatorId == nodeId;
            bool hasIt = now is not null && now.CoordinatorId == nodeId;
            if (hasIt && (!hadIt || before!.AssignmentEpoch != now!.AssignmentEpoch))
            {
                gained.Add(now!);
            }

            if (hadIt && !hasIt)
            {
                lost.Add(before!);
            }
        }

        return new CoordinatorChanges(gained, lost);
    }

    private sealed class ConfigResourceDelta
    {
        public bool Reset { get; set; }

        public Dictionary<string, string?> Changes { get; } = new(StringComparer.Ordinal);
    }
}

/// <summary>A topic created or changed in a <see cref="MetadataDelta"/> (Kafka's TopicDelta).</summary>
public sealed class TopicDelta
{
    private readonly Dictionary<int, PartitionRegistration> _changed = [];

    internal TopicDelta(TopicImage? baseImage, string name, KafkaUuid id)
    {
        Base = baseImage;
        Name = name;
        Id = id;
    }

    /// <summary>The topic before this delta, or null when the delta creates it.</summary>
    public TopicImage? Base { get; }

    public string Name { get; }

    public KafkaUuid Id { get; }

    public bool IsCreated => Base is null;

    public IReadOnlyDictionary<int, PartitionRegistration> ChangedPartitions => _changed;

    internal PartitionRegistration? Current(int partitionId) =>
        _changed.TryGetValue(partitionId, out PartitionRegistration? p) ? p : Base?.Partition(partitionId);

    internal void Set(int partitionId, PartitionRegistration partition) => _changed[partitionId] = partition;

    internal TopicImage ToImage()
    {
        var partitions = (Base?.Partitions ?? ImmutableSortedDictionary<int, PartitionRegistration>.Empty).SetItems(_changed);
        return new TopicImage(Name, Id, partitions);
    }
}

/// <summary>One partition in <see cref="LocalReplicaChanges"/>: its state after the delta (for deletes: the last known state) and before.</summary>
public sealed record LocalPartition(string TopicName, KafkaUuid TopicId, int PartitionId, PartitionRegistration Partition, PartitionRegistration? Previous)
{
    /// <summary>True when the leader or its epoch changed: a broker must (re)run become-leader / become-follower.</summary>
    public bool LeaderChanged => Previous is null || Previous.Leader != Partition.Leader || Previous.LeaderEpoch != Partition.LeaderEpoch;
}

/// <summary>Leadership changes for one broker (Kafka's LocalReplicaChanges).</summary>
public sealed record LocalReplicaChanges(
    IReadOnlyList<LocalPartition> Deletes,
    IReadOnlyList<LocalPartition> Leaders,
    IReadOnlyList<LocalPartition> Followers)
{
    public bool IsEmpty => Deletes.Count == 0 && Leaders.Count == 0 && Followers.Count == 0;
}

/// <summary>Coordinator partitions a coordinator node gained and lost in one delta.</summary>
public sealed record CoordinatorChanges(IReadOnlyList<CoordinatorAssignment> Gained, IReadOnlyList<CoordinatorAssignment> Lost)
{
    public bool IsEmpty => Gained.Count == 0 && Lost.Count == 0;
}
