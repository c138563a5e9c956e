using Aspire.Kafka.Metadata;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Protocol.MetadataRecords;

namespace Aspire.Kafka.Controller;

/// <summary>
/// Topics, partitions, replicas, ISR and leadership (Kafka's ReplicationControlManager). Every
/// method decides over the write context's image and adds records to it; nothing is applied to
/// the controller's state here.
/// </summary>
internal sealed class ReplicationControlManager
{
    private readonly QuorumControllerConfig _config;
    private readonly ConfigurationControlManager _configs;
    private readonly IReplicaPlacer _placer;
    private readonly Func<MetadataImage, KafkaUuid> _newTopicId;

    public ReplicationControlManager(QuorumControllerConfig config, ConfigurationControlManager configs, IReplicaPlacer placer, Func<MetadataImage, KafkaUuid> newTopicId)
    {
        _config = config;
        _configs = configs;
        _placer = placer;
        _newTopicId = newTopicId;
    }

    // ---------------------------------------------------------------- CreateTopics

    public CreateTopicsResponse CreateTopics(ControllerWriteContext ctx, CreateTopicsRequest request)
    {
        var response = new CreateTopicsResponse();
        var duplicates = request.Topics.GroupBy(t => t.Name, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
        foreach (CreateTopicsRequest.CreatableTopic topic in request.Topics)
        {
            var result = new CreateTopicsResponse.CreatableTopicResult { Name = topic.Name, ErrorMessage = null };
            response.Topics.Add(result);
            try
            {
                if (duplicates.Contains(topic.Name))
                {
                    throw new ControllerApiException(Errors.InvalidRequest, "Duplicate topic name.");
                }

                CreateTopic(ctx, topic, request.ValidateOnly, result);
            }
            catch (ControllerApiException e)
            {
                result.ErrorCode = e.Code;
                result.ErrorMessage = e.Message;
                result.NumPartitions = -1;
                result.ReplicationFactor = -1;
                result.Configs = [];
            }
        }

        return response;
    }

    private void CreateTopic(ControllerWriteContext ctx, CreateTopicsRequest.CreatableTopic topic, bool validateOnly, CreateTopicsResponse.CreatableTopicResult result)
    {
        MetadataImage image = ctx.Image;
        string name = topic.Name;
        if (TopicNames.Validate(name) is { } invalidName)
        {
            throw new ControllerApiException(Errors.InvalidTopicException, invalidName);
        }

        if (image.Topics.GetTopic(name) is not null)
        {
            throw new ControllerApiException(Errors.TopicAlreadyExists, $"Topic '{name}' already exists.");
        }

        string normalized = name.Replace('.', '_');
        foreach (string existing in image.Topics.TopicsByName.Keys)
        {
            if (existing.Replace('.', '_') == normalized)
            {
                throw new ControllerApiException(Errors.InvalidTopicException, $"Topic '{name}' collides with existing topic: {existing}");
            }
        }

        var configs = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (CreateTopicsRequest.CreatableTopicConfig config in topic.Configs)
        {
            if (TopicConfigs.Validate(config.Name, config.Value) is { } invalid)
            {
                throw new ControllerApiException(Errors.InvalidConfig, invalid);
            }

            if (!configs.TryAdd(config.Name, config.Value!.Trim()))
            {
                throw new ControllerApiException(Errors.InvalidConfig, $"Duplicate topic config name: {config.Name}");
            }
        }

        bool isOffsetsTopic = name == CoordinatorsImage.ConsumerOffsetsTopic;
        if (isOffsetsTopic)
        {
            configs.TryAdd(TopicConfigs.CleanupPolicy, "compact");
        }

        IReadOnlyList<int[]> assignments;
        IReadOnlyList<int[]> isrs;
        if (topic.Assignments.Count > 0)
        {
            if (topic.NumPartitions != -1)
            {
                throw new ControllerApiException(Errors.InvalidRequest, "A manual partition assignment was specified, but numPartitions was not set to -1.");
            }

            if (topic.ReplicationFactor != -1)
            {
                throw new ControllerApiException(Errors.InvalidRequest, "A manual partition assignment was specified, but replicationFactor was not set to -1.");
            }

            var byIndex = topic.Assignments.OrderBy(a => a.PartitionIndex).ToList();
            for (int i = 0; i < byIndex.Count; i++)
            {
                if (byIndex[i].PartitionIndex != i)
                {
                    throw new ControllerApiException(Errors.InvalidReplicaAssignment,
                        $"Partitions should be a consecutive 0-based integer sequence, but the manual partition assignment has partitions [{string.Join(", ", topic.Assignments.Select(a => a.PartitionIndex))}].");
                }
            }

            (assignments, isrs) = ValidateManualAssignments(image, byIndex.Select(a => a.BrokerIds).ToList(), expectedReplicas: null, firstPartition: 0);
        }
        else
        {
            int numPartitions = topic.NumPartitions == -1 ? (isOffsetsTopic ? _config.OffsetsTopicNumPartitions : _config.NumPartitions) : topic.NumPartitions;
            if (numPartitions <= 0)
            {
                throw new ControllerApiException(Errors.InvalidPartitions, "Number of partitions was set to an invalid non-positive value.");
            }

            IReadOnlyList<UsableBroker> usable = StripedReplicaPlacer.UsableBrokers(image);
            short replicationFactor = topic.ReplicationFactor;
            if (replicationFactor == -1)
            {
                replicationFactor = isOffsetsTopic
                    ? (short)Math.Max(1, Math.Min(_config.OffsetsTopicReplicationFactor, usable.Count))
                    : _config.DefaultReplicationFactor;
            }

            if (replicationFactor <= 0)
            {
                throw new ControllerApiException(Errors.InvalidReplicationFactor, "Replication factor must be larger than 0, or -1 to use the default value.");
            }

            assignments = _placer.Place(numPartitions, replicationFactor, usable);
            isrs = assignments;
        }

        result.NumPartitions = assignments.Count;
        result.ReplicationFactor = (short)assignments[0].Length;
        result.Configs = [.. _configs.DescribeTopic(image, name, configs).Select(e => new CreateTopicsResponse.CreatableTopicConfigs
        {
            Name = e.Name,
            Value = e.Value,
            ReadOnly = false,
            ConfigSource = (sbyte)e.Source,
            IsSensitive = false,
        })];
        if (validateOnly)
        {
            return;
        }

        KafkaUuid topicId = _newTopicId(image);
        result.TopicId = topicId;
        ctx.Add(RecordVersions.Of(new TopicRecord { Name = name, TopicId = topicId }));
        foreach ((string key, string value) in configs)
        {
            ctx.Add(RecordVersions.Of(new ConfigRecord { ResourceType = (sbyte)ConfigResourceType.Topic, ResourceName = name, Name = key, Value = value }));
        }

        for (int p = 0; p < assignments.Count; p++)
        {
            ctx.Add(RecordVersions.Of(NewPartitionRecord(topicId, p, assignments[p], isrs[p])));
        }
    }

    private static PartitionRecord NewPartitionRecord(KafkaUuid topicId, int partitionId, int[] replicas, int[] isr) => new()
    {
        TopicId = topicId,
        PartitionId = partitionId,
        Replicas = [.. replicas],
        Isr = [.. isr],
        Leader = isr[0],
        LeaderEpoch = 0,
        PartitionEpoch = 0,
    };

    /// <summary>Checks manual replica lists; the ISR of each is its active brokers (the first of them leads).</summary>
    private static (IReadOnlyList<int[]> Replicas, IReadOnlyList<int[]> Isrs) ValidateManualAssignments(MetadataImage image, List<List<int>> lists, int? expectedReplicas, int firstPartition)
    {
        var replicas = new List<int[]>();
        var isrs = new List<int[]>();
        int? size = expectedReplicas;
        for (int i = 0; i < lists.Count; i++)
        {
            int partition = firstPartition + i;
            List<int> brokers = lists[i];
            if (brokers.Count == 0)
            {
                throw new ControllerApiException(Errors.InvalidReplicaAssignment, $"The manual partition assignment includes an empty replica list for partition {partition}.");
            }

            if (size is { } expected && brokers.Count != expected)
            {
                throw new ControllerApiException(Errors.InvalidReplicaAssignment,
                    $"The manual partition assignment includes a partition with {brokers.Count} replica(s), but this is not consistent with previous partitions, which have {expected} replica(s).");
            }

            size = brokers.Count;
            var seen = new HashSet<int>();
            foreach (int broker in brokers)
            {
                if (!seen.Add(broker))
                {
                    throw new ControllerApiException(Errors.InvalidReplicaAssignment, $"The manual partition assignment includes the broker {broker} more than once.");
                }

                if (image.Cluster.Broker(broker) is null)
                {
                    throw new ControllerApiException(Errors.InvalidReplicaAssignment,
                        image.Cluster.Node(broker) is { IsCoordinator: true }
                            ? $"The manual partition assignment includes node {broker}, which is a group coordinator and cannot host replicas."
                            : $"The manual partition assignment includes broker {broker}, but no such broker is registered.");
                }
            }

            int[] isr = [.. brokers.Where(image.Cluster.IsActiveBroker)];
            if (isr.Length == 0)
            {
                throw new ControllerApiException(Errors.InvalidReplicaAssignment,
                    $"All brokers specified in the manual partition assignment for partition {partition} are fenced or in controlled shutdown.");
            }

            replicas.Add([.. brokers]);
            isrs.Add(isr);
        }

        return (replicas, isrs);
    }

    // ---------------------------------------------------------------- DeleteTopics

    public DeleteTopicsResponse DeleteTopics(ControllerWriteContext ctx, DeleteTopicsRequest request)
    {
        var response = new DeleteTopicsResponse();
        List<(string? Name, KafkaUuid Id)> targets = request.Topics.Count > 0
            ? [.. request.Topics.Select(t => (t.Name, t.TopicId))]
            : [.. request.TopicNames.Select(n => ((string?)n, KafkaUuid.Zero))];
        var seenNames = new HashSet<string>(StringComparer.Ordinal);
        var seenIds = new HashSet<KafkaUuid>();
        var duplicateNames = targets.Where(t => t.Name is not null && t.Id.IsZero).GroupBy(t => t.Name!, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
        var duplicateIds = targets.Where(t => !t.Id.IsZero).GroupBy(t => t.Id).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet();
        foreach ((string? name, KafkaUuid id) in targets)
        {
            var result = new DeleteTopicsResponse.DeletableTopicResult { Name = name, TopicId = id, ErrorMessage = null };
            response.Responses.Add(result);
            ApiError error = DeleteTopic(ctx, name, id, duplicateNames, duplicateIds, result);
            result.ErrorCode = error.Code;
            result.ErrorMessage = error.Message;
        }

        return response;
    }

    private ApiError DeleteTopic(ControllerWriteContext ctx, string? name, KafkaUuid id, HashSet<string> duplicateNames, HashSet<KafkaUuid> duplicateIds, DeleteTopicsResponse.DeletableTopicResult result)
    {
        if (name is not null && !id.IsZero)
        {
            return new ApiError(Errors.InvalidRequest, "You may not specify both topic name and topic id.");
        }

        if (name is null && id.IsZero)
        {
            return new ApiError(Errors.InvalidRequest, "Neither topic name nor id were specified.");
        }

        if (id.IsZero ? duplicateNames.Contains(name!) : duplicateIds.Contains(id))
        {
            return new ApiError(Errors.InvalidRequest, id.IsZero ? "Duplicate topic name." : "Duplicate topic id.");
        }

        if (!_config.DeleteTopicEnable)
        {
            return new ApiError(Errors.TopicDeletionDisabled, "Topic deletion is disabled.");
        }

        TopicImage? topic = id.IsZero ? ctx.Image.Topics.GetTopic(name!) : ctx.Image.Topics.GetTopic(id);
        if (topic is null)
        {
            return id.IsZero
                ? new ApiError(Errors.UnknownTopicOrPartition, "This server does not host this topic-partition.")
                : new ApiError(Errors.UnknownTopicId, "This server does not host this topic ID.");
        }

        result.Name = topic.Name;
        result.TopicId = topic.Id;
        ctx.Add(RecordVersions.Of(new RemoveTopicRecord { TopicId = topic.Id }));
        return ApiError.None;
    }

    // ---------------------------------------------------------------- CreatePartitions

    public CreatePartitionsResponse CreatePartitions(ControllerWriteContext ctx, CreatePartitionsRequest request)
    {
        var response = new CreatePartitionsResponse();
        var duplicates = request.Topics.GroupBy(t => t.Name, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
        foreach (CreatePartitionsRequest.CreatePartitionsTopic topic in request.Topics)
        {
            var result = new CreatePartitionsResponse.CreatePartitionsTopicResult { Name = topic.Name, ErrorMessage = null };
            response.Results.Add(result);
            try
            {
                if (duplicates.Contains(topic.Name))
                {
                    throw new ControllerApiException(Errors.InvalidRequest, "Duplicate topic name.");
                }

                CreatePartitions(ctx, topic, request.ValidateOnly);
            }
            catch (ControllerApiException e)
            {
                result.ErrorCode = e.Code;
                result.ErrorMessage = e.Message;
            }
        }

        return response;
    }

    private void CreatePartitions(ControllerWriteContext ctx, CreatePartitionsRequest.CreatePartitionsTopic request, bool validateOnly)
    {
        MetadataImage image = ctx.Image;
        TopicImage topic = image.Topics.GetTopic(request.Name)
            ?? throw new ControllerApiException(Errors.UnknownTopicOrPartition, "This server does not host this topic-partition.");
        int current = topic.Partitions.Count;
        if (request.Count < current)
        {
            throw new ControllerApiException(Errors.InvalidPartitions, $"The topic {topic.Name} currently has {current} partition(s); {request.Count} would not be an increase.");
        }

        if (request.Count == current)
        {
            throw new ControllerApiException(Errors.InvalidPartitions, $"Topic already has {current} partition(s).");
        }

        int additional = request.Count - current;
        int replicationFactor = topic.Partitions.Values.First().Replicas.Count;
        IReadOnlyList<int[]> assignments;
        IReadOnlyList<int[]> isrs;
        if (request.Assignments is { Count: > 0 } manual)
        {
            if (manual.Count != additional)
            {
                throw new ControllerApiException(Errors.InvalidReplicaAssignment, $"Attempted to add {additional} additional partition(s), but only {manual.Count} assignment(s) were specified.");
            }

            (assignments, isrs) = ValidateManualAssignments(image, [.. manual.Select(a => a.BrokerIds)], replicationFactor, current);
        }
        else
        {
            assignments = _placer.Place(additional, (short)replicationFactor, StripedReplicaPlacer.UsableBrokers(image));
            isrs = assignments;
        }

        if (validateOnly)
        {
            return;
        }

        for (int i = 0; i < assignments.Count; i++)
        {
            ctx.Add(RecordVersions.Of(NewPartitionRecord(topic.Id, current + i, assignments[i], isrs[i])));
        }
    }

    // ---------------------------------------------------------------- AlterPartition

    public AlterPartitionResponse AlterPartition(ControllerWriteContext ctx, AlterPartitionRequest request, short version)
    {
        var response = new AlterPartitionResponse();
        MetadataImage image = ctx.Image;
        BrokerRegistration? broker = image.Cluster.Broker(request.BrokerId);
        if (broker is null || (request.BrokerEpoch != -1 && broker.Epoch != request.BrokerEpoch))
        {
            response.ErrorCode = Errors.StaleBrokerEpoch;
            return response;
        }

        bool byId = version >= 2;
        foreach (AlterPartitionRequest.TopicData topicData in request.Topics)
        {
            var topicResult = new AlterPartitionResponse.TopicData { TopicName = byId ? "" : topicData.TopicName, TopicId = byId ? topicData.TopicId : KafkaUuid.Zero };
            response.Topics.Add(topicResult);
            TopicImage? topic = byId ? image.Topics.GetTopic(topicData.TopicId) : image.Topics.GetTopic(topicData.TopicName);
            foreach (AlterPartitionRequest.PartitionData data in topicData.Partitions)
            {
                var partitionResult = new AlterPartitionResponse.PartitionData { PartitionIndex = data.PartitionIndex };
                topicResult.Partitions.Add(partitionResult);
                if (topic is null)
                {
                    partitionResult.ErrorCode = byId ? Errors.UnknownTopicId : Errors.UnknownTopicOrPartition;
                    continue;
                }

                PartitionRegistration? partition = topic.Partition(data.PartitionIndex);
                if (partition is null)
                {
                    partitionResult.ErrorCode = Errors.UnknownTopicOrPartition;
                    continue;
                }

                short error = ValidateAlterPartition(image, request.BrokerId, partition, data, version);
                if (error != Errors.None)
                {
                    partitionResult.ErrorCode = error;
                    continue;
                }

                List<int> newIsr = version >= 3 ? [.. data.NewIsrWithEpochs.Select(b => b.BrokerId)] : data.NewIsr;
                PartitionChangeRecord? record = new PartitionChangeBuilder(partition, topic.Id, data.PartitionIndex, image.Cluster.IsActiveBroker)
                    .SetTargetIsr(newIsr)
                    .SetTargetLeaderRecoveryState((LeaderRecoveryState)data.LeaderRecoveryState)
                    .Build();
                PartitionRegistration after = partition;
                if (record is not null)
                {
                    ctx.Add(RecordVersions.Of(record));
                    after = partition.Merge(record);
                }

                partitionResult.LeaderId = after.Leader;
                partitionResult.LeaderEpoch = after.LeaderEpoch;
                partitionResult.Isr = [.. after.Isr];
                partitionResult.LeaderRecoveryState = (sbyte)after.LeaderRecoveryState;
                partitionResult.PartitionEpoch = after.PartitionEpoch;
            }
        }

        return response;
    }

    private static short ValidateAlterPartition(MetadataImage image, int brokerId, PartitionRegistration partition, AlterPartitionRequest.PartitionData data, short version)
    {
        // A request from the future: this controller is probably no longer the active one.
        if (data.LeaderEpoch > partition.LeaderEpoch || data.PartitionEpoch > partition.PartitionEpoch)
        {
            return Errors.NotController;
        }

        if (brokerId != partition.Leader)
        {
            return Errors.InvalidRequest;
        }

        if (data.LeaderEpoch != partition.LeaderEpoch)
        {
            return Errors.FencedLeaderEpoch;
        }

        if (data.PartitionEpoch != partition.PartitionEpoch)
        {
            return Errors.InvalidUpdateVersion;
        }

        List<(int Id, long Epoch)> newIsr = version >= 3
            ? [.. data.NewIsrWithEpochs.Select(b => (b.BrokerId, b.BrokerEpoch))]
            : [.. data.NewIsr.Select(b => (b, -1L))];
        if (newIsr.Select(b => b.Id).Distinct().Count() != newIsr.Count || newIsr.Any(b => !partition.Replicas.Contains(b.Id)))
        {
            return Errors.InvalidRequest;
        }

        if (!newIsr.Any(b => b.Id == partition.Leader))
        {
            return Errors.InvalidRequest;
        }

        var requestedRecovery = (LeaderRecoveryState)data.LeaderRecoveryState;
        if ((requestedRecovery == LeaderRecoveryState.Recovering && newIsr.Count > 1)
            || (partition.LeaderRecoveryState == LeaderRecoveryState.Recovered && requestedRecovery == LeaderRecoveryState.Recovering))
        {
            return Errors.InvalidRequest;
        }

        foreach ((int id, long epoch) in newIsr)
        {
            if (id == partition.Leader)
            {
                continue;
            }

            BrokerRegistration? replica = image.Cluster.Broker(id);
            if (replica is null || !replica.IsActive || (epoch != -1 && replica.Epoch != epoch))
            {
                return version == 0 ? Errors.OperationNotAttempted : Errors.IneligibleReplica;
            }
        }

        return Errors.None;
    }

    // ---------------------------------------------------------------- ElectLeaders

    public ElectLeadersResponse ElectLeaders(ControllerWriteContext ctx, ElectLeadersRequest request)
    {
        var response = new ElectLeadersResponse();
        if (request.ElectionType is not (0 or 1))
        {
            response.ErrorCode = Errors.InvalidRequest;
            return response;
        }

        bool preferred = request.ElectionType == 0;
        MetadataImage image = ctx.Image;
        bool all = request.TopicPartitions is null;
        IEnumerable<(string Topic, IEnumerable<int> Partitions)> targets = all
            ? image.Topics.InNameOrder().Select(t => (t.Name, (IEnumerable<int>)t.Partitions.Keys))
            : request.TopicPartitions!.Select(t => (t.Topic, (IEnumerable<int>)t.Partitions));
        foreach ((string topicName, IEnumerable<int> partitions) in targets)
        {
            var topicResult = new ElectLeadersResponse.ReplicaElectionResult { Topic = topicName };
            TopicImage? topic = image.Topics.GetTopic(topicName);
            foreach (int partitionId in partitions)
            {
                ApiError error = ElectLeader(ctx, image, topic, topicName, partitionId, preferred);
                if (all && error.Code == Errors.ElectionNotNeeded)
                {
                    continue;
                }

                topicResult.PartitionResult.Add(new ElectLeadersResponse.PartitionResult { PartitionId = partitionId, ErrorCode = error.Code, ErrorMessage = error.Message });
            }

            if (topicResult.PartitionResult.Count > 0 || !all)
            {
                response.ReplicaElectionResults.Add(topicResult);
            }
        }

        return response;
    }

    private ApiError ElectLeader(ControllerWriteContext ctx, MetadataImage image, TopicImage? topic, string topicName, int partitionId, bool preferred)
    {
        PartitionRegistration? partition = topic?.Partition(partitionId);
        if (topic is null || partition is null)
        {
            return new ApiError(Errors.UnknownTopicOrPartition, "The topic or partition does not exist.");
        }

        if (preferred ? partition.HasPreferredLeader : partition.HasLeader)
        {
            return new ApiError(Errors.ElectionNotNeeded, preferred ? "The preferred replica is already the leader." : "The partition already has a leader.");
        }

        PartitionChangeRecord? record = new PartitionChangeBuilder(partition, topic.Id, partitionId, image.Cluster.IsActiveBroker)
            .SetElection(preferred ? PartitionChangeBuilder.Election.Preferred : PartitionChangeBuilder.Election.Unclean)
            .Build();
        if (record is null || (preferred && record.Leader != partition.PreferredReplica))
        {
            return preferred
                ? new ApiError(Errors.PreferredLeaderNotAvailable, $"Failed to elect leader for partition {topicName}-{partitionId}: the preferred replica {partition.PreferredReplica} is not in the ISR or not active.")
                : new ApiError(Errors.EligibleLeadersNotAvailable, $"Failed to elect leader for partition {topicName}-{partitionId}: no replica is active.");
        }

        ctx.Add(RecordVersions.Of(record));
        return ApiError.None;
    }

    // ---------------------------------------------------------------- node lifecycle

    /// <summary>
    /// The node is fenced, shutting down or unregistered (its new state is already in the
    /// context's image): move leadership off it and take it out of every ISR — but never empty
    /// an ISR; a partition whose last in-sync replica goes away keeps it and has no leader (unless
    /// unclean election is enabled for the topic and another replica is active).
    /// </summary>
    public int HandleBrokerFenced(ControllerWriteContext ctx, int brokerId)
    {
        MetadataImage image = ctx.Image;
        bool IsAcceptable(int r) => r != brokerId && image.Cluster.IsActiveBroker(r);
        var records = new List<PartitionChangeRecord>();
        foreach (TopicImage topic in image.Topics.InNameOrder())
        {
            bool unclean = _configs.UncleanLeaderElectionEnabled(image, topic.Name);
            foreach ((int partitionId, PartitionRegistration partition) in topic.Partitions)
            {
                if (partition.Leader != brokerId && !partition.Isr.Contains(brokerId))
                {
                    continue;
                }

                PartitionChangeRecord? record = new PartitionChangeBuilder(partition, topic.Id, partitionId, IsAcceptable)
                    .SetTargetIsr([.. partition.Isr.Where(r => r != brokerId)])
                    .SetElection(unclean ? PartitionChangeBuilder.Election.Unclean : PartitionChangeBuilder.Election.Online)
                    .Build();
                if (record is not null)
                {
                    records.Add(record);
                }
            }
        }

        ctx.AddRange(records.Select(RecordVersions.Of));
        return records.Count;
    }

    /// <summary>The broker is unfenced (already in the image): elect it for leaderless partitions it can lead.</summary>
    public int HandleBrokerUnfenced(ControllerWriteContext ctx, int brokerId)
    {
        MetadataImage image = ctx.Image;
        var records = new List<PartitionChangeRecord>();
        foreach (TopicImage topic in image.Topics.InNameOrder())
        {
            bool unclean = _configs.UncleanLeaderElectionEnabled(image, topic.Name);
            foreach ((int partitionId, PartitionRegistration partition) in topic.Partitions)
            {
                if (partition.HasLeader || !partition.Replicas.Contains(brokerId))
                {
                    continue;
                }

                PartitionChangeRecord? record = new PartitionChangeBuilder(partition, topic.Id, partitionId, image.Cluster.IsActiveBroker)
                    .SetElection(unclean ? PartitionChangeBuilder.Election.Unclean : PartitionChangeBuilder.Election.Online)
                    .Build();
                if (record is not null)
                {
                    records.Add(record);
                }
            }
        }

        ctx.AddRange(records.Select(RecordVersions.Of));
        return records.Count;
    }

    /// <summary>Leaderless partitions of topics with unclean.leader.election.enable get any active replica (Kafka's periodic unclean election).</summary>
    public int MaybeElectUncleanLeaders(ControllerWriteContext ctx)
    {
        MetadataImage image = ctx.Image;
        var records = new List<PartitionChangeRecord>();
        foreach (TopicImage topic in image.Topics.InNameOrder())
        {
            if (!topic.Partitions.Values.Any(p => !p.HasLeader) || !_configs.UncleanLeaderElectionEnabled(image, topic.Name))
            {
                continue;
            }

            foreach ((int partitionId, PartitionRegistration partition) in topic.Partitions)
            {
                if (!partition.HasLeader
                    && new PartitionChangeBuilder(partition, topic.Id, partitionId, image.Cluster.IsActiveBroker)
                        .SetElection(PartitionChangeBuilder.Election.Unclean).Build() is { } record)
                {
                    records.Add(record);
                }
            }
        }

        ctx.AddRange(records.Select(RecordVersions.Of));
        return records.Count;
    }

    /// <summary>
    /// auto.leader.rebalance.enable: for every broker whose share of partitions it prefers to lead
    /// but does not is above leader.imbalance.per.broker.percentage, elect it back where it is in
    /// the ISR and active. Returns the number of partitions moved.
    /// </summary>
    public int MaybeBalancePartitionLeaders(ControllerWriteContext ctx)
    {
        MetadataImage image = ctx.Image;
        var preferredCount = new Dictionary<int, int>();
        var notLeading = new Dictionary<int, List<(TopicImage Topic, int PartitionId, PartitionRegistration Partition)>>();
        foreach (TopicImage topic in image.Topics.InNameOrder())
        {
            foreach ((int partitionId, PartitionRegistration partition) in topic.Partitions)
            {
                int preferred = partition.PreferredReplica;
                if (preferred < 0)
                {
                    continue;
                }

                preferredCount[preferred] = preferredCount.GetValueOrDefault(preferred) + 1;
                if (partition.Leader != preferred)
                {
                    if (!notLeading.TryGetValue(preferred, out var list))
                    {
                        notLeading[preferred] = list = [];
                    }

                    list.Add((topic, partitionId, partition));
                }
            }
        }

        var records = new List<PartitionChangeRecord>();
        foreach ((int broker, var partitions) in notLeading.OrderBy(n => n.Key))
        {
            if (!image.Cluster.IsActiveBroker(broker) || partitions.Count * 100L <= (long)_config.LeaderImbalancePerBrokerPercentage * preferredCount[broker])
            {
                continue;
            }

            foreach ((TopicImage topic, int partitionId, PartitionRegistration partition) in partitions)
            {
                if (!partition.Isr.Contains(broker))
                {
                    continue;
                }

                PartitionChangeRecord? record = new PartitionChangeBuilder(partition, topic.Id, partitionId, image.Cluster.IsActiveBroker)
                    .SetElection(PartitionChangeBuilder.Election.Preferred)
                    .Build();
                if (record is not null && record.Leader == broker)
                {
                    records.Add(record);
                }
            }
        }

        ctx.AddRange(records.Select(RecordVersions.Of));
        return records.Count;
    }
}
