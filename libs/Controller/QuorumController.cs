using Aspire.Kafka.Metadata;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Protocol.MetadataRecords;

namespace Aspire.Kafka.Controller;

/// <summary>What one <see cref="QuorumController.Tick"/> did.</summary>
public sealed record TickResult(IReadOnlyList<int> FencedNodes, int LeadersBalanced, int UncleanElections, int CoordinatorMoves, bool WroteNoOp);

/// <summary>
/// The metadata state machine of the KRaft controller (Kafka's QuorumController), as pure,
/// deterministic code: no sockets, no Raft, no clock. Time comes in as milliseconds.
/// <para>
/// Two images: <see cref="CommittedImage"/> holds what the Raft log has committed (changed only
/// by <see cref="Replay(IReadOnlyList{ApiMessageAndVersion}, long, int)"/>); <see cref="LatestImage"/>
/// adds the records this active controller has produced but Raft has not committed yet, so the
/// next request sees the previous one's effect (Kafka applies at write time and reverts on
/// failure the same way). <see cref="Renounce"/> drops the uncommitted part.
/// </para>
/// <para>
/// Flow: request → operation (validate, decide) → <see cref="ControllerResult{T}"/> (records +
/// response) → the service appends the records to Raft in order → on commit it calls
/// <c>Replay</c> → when the committed offset reaches <see cref="ControllerResult{T}.ResponseOffset"/>
/// it sends the response.
/// </para>
/// Not thread-safe: call everything from one event loop, as Kafka's controller does.
/// </summary>
public sealed class QuorumController
{
    /// <summary>The BrokerRegistration feature that marks a node as a group coordinator (range 1..1).</summary>
    public const string CoordinatorFeature = CoordinatorsImage.CoordinatorFeature;

    private readonly Random _random;
    private readonly ConfigurationControlManager _configs;
    private readonly ReplicationControlManager _replication;
    private readonly ClusterControlManager _cluster;
    private readonly List<long> _pendingLastOffsets = [];
    private long _nextImbalanceCheckMs;
    private long _lastWriteMs;

    public QuorumController(QuorumControllerConfig config, IReplicaPlacer? placer = null)
    {
        Config = config ?? throw new ArgumentNullException(nameof(config));
        _random = config.RandomSeed is { } seed ? new Random(seed) : new Random();
        _configs = new ConfigurationControlManager(config);
        _replication = new ReplicationControlManager(config, _configs, placer ?? new StripedReplicaPlacer(), NewTopicId);
        HeartbeatManager = new BrokerHeartbeatManager(config.BrokerSessionTimeoutMs);
        _cluster = new ClusterControlManager(config, HeartbeatManager, _replication, () => NextWriteOffset);
    }

    public QuorumControllerConfig Config { get; }

    /// <summary>The state the metadata log has committed.</summary>
    public MetadataImage CommittedImage { get; private set; } = MetadataImage.Empty;

    /// <summary>The committed state plus this controller's records in flight (equal to <see cref="CommittedImage"/> when inactive).</summary>
    public MetadataImage LatestImage { get; private set; } = MetadataImage.Empty;

    public bool IsActive { get; private set; }

    /// <summary>The Raft epoch this controller leads (when active).</summary>
    public int Epoch { get; private set; } = -1;

    /// <summary>The log offset the next record will be written at (when active).</summary>
    public long NextWriteOffset { get; private set; }

    public BrokerHeartbeatManager HeartbeatManager { get; }

    public ConfigurationControlManager Configs => _configs;

    // ================================================================ lifecycle and replay

    /// <summary>
    /// This node became the Raft leader for <paramref name="epoch"/>; records it writes start at
    /// <paramref name="nextWriteOffset"/> (the log end after the leader's own control record). Call
    /// it once the high watermark has reached the start of the new epoch and every committed record
    /// before it has been replayed (KIP-595: a new leader tells its state machine only then). Every
    /// registered node gets a fresh lease. Returns the bootstrap records (metadata.version) when the
    /// log holds none yet.
    /// </summary>
    public ControllerResult<ApiError> Activate(int epoch, long nextWriteOffset, long nowMs)
    {
        IsActive = true;
        Epoch = epoch;
        NextWriteOffset = nextWriteOffset;
        LatestImage = CommittedImage;
        _pendingLastOffsets.Clear();
        HeartbeatManager.Clear();
        foreach (int id in CommittedImage.Cluster.Nodes.Keys)
        {
            HeartbeatManager.Register(id, nowMs);
        }

        _nextImbalanceCheckMs = nowMs + (Config.LeaderImbalanceCheckIntervalSeconds * 1000);
        _lastWriteMs = nowMs;
        ControllerWriteContext ctx = NewContext();
        if (CommittedImage.Features.MetadataVersion == 0)
        {
            ctx.Add(RecordVersions.Of(new FeatureLevelRecord { Name = RecordVersions.MetadataVersionFeature, FeatureLevel = RecordVersions.MetadataVersion }));
        }

        return Finish(ctx, ApiError.None, nowMs);
    }

    /// <summary>Leadership lost (or an append failed): forget the uncommitted records and the leases.</summary>
    public void Renounce()
    {
        IsActive = false;
        Epoch = -1;
        LatestImage = CommittedImage;
        _pendingLastOffsets.Clear();
        HeartbeatManager.Clear();
    }

    /// <summary>Replaces the committed state with a snapshot's (a standby catching up from FetchSnapshot, or a restart).</summary>
    public void LoadSnapshot(MetadataImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (IsActive)
        {
            throw new InvalidOperationException("An active controller cannot load a snapshot; renounce first.");
        }

        CommittedImage = image;
        LatestImage = image;
    }

    /// <summary>Applies one committed record at <paramref name="offset"/>.</summary>
    public void Replay(ApiMessageAndVersion record, long offset, int epoch = 0) => Replay([record], offset, epoch);

    /// <summary>
    /// Applies committed records (offsets <paramref name="baseOffset"/>, +1, …) to
    /// <see cref="CommittedImage"/>: the one replay path, for the records this controller wrote
    /// and for everyone else's. Records at or below the committed offset are skipped.
    /// </summary>
    public void Replay(IReadOnlyList<ApiMessageAndVersion> records, long baseOffset, int epoch = 0)
    {
        ArgumentNullException.ThrowIfNull(records);
        var delta = new MetadataDelta(CommittedImage);
        long last = CommittedImage.Offset;
        for (int i = 0; i < records.Count; i++)
        {
            long offset = baseOffset + i;
            if (offset <= last)
            {
                continue;
            }

            delta.Replay(records[i]);
            last = offset;
        }

        if (last == CommittedImage.Offset)
        {
            return;
        }

        CommittedImage = delta.Apply(new MetadataProvenance(last, epoch));
        if (!IsActive)
        {
            LatestImage = CommittedImage;
            return;
        }

        while (_pendingLastOffsets.Count > 0 && _pendingLastOffsets[0] <= last)
        {
            _pendingLastOffsets.RemoveAt(0);
        }

        if (last >= NextWriteOffset)
        {
            // Records this controller did not write: its in-flight view is stale.
            NextWriteOffset = last + 1;
            _pendingLastOffsets.Clear();
        }

        if (_pendingLastOffsets.Count == 0)
        {
            LatestImage = CommittedImage;
        }
    }

    /// <summary>Convenience for log followers: decodes record values (MetadataRecordSerde) and replays them.</summary>
    public void ReplaySerialized(IReadOnlyList<ReadOnlyMemory<byte>> values, long baseOffset, int epoch = 0) =>
        Replay([.. values.Select(v => MetadataRecordSerde.Read(v))], baseOffset, epoch);

    private void EnsureActive()
    {
        if (!IsActive)
        {
            throw new NotControllerException("This controller is not the active controller.");
        }
    }

    private ControllerWriteContext NewContext() => new(LatestImage, NextWriteOffset);

    private ControllerResult<T> Finish<T>(ControllerWriteContext ctx, T response, long nowMs)
    {
        IReadOnlyList<ApiMessageAndVersion> records = [.. ctx.Records];
        long responseOffset;
        if (records.Count > 0)
        {
            LatestImage = ctx.Image;
            NextWriteOffset += records.Count;
            responseOffset = NextWriteOffset - 1;
            _pendingLastOffsets.Add(responseOffset);
            _lastWriteMs = nowMs;
        }
        else
        {
            responseOffset = _pendingLastOffsets.Count > 0 ? _pendingLastOffsets[^1] : CommittedImage.Offset;
        }

        return new ControllerResult<T>(records, response, ctx.BaseOffset, responseOffset);
    }

    private KafkaUuid NewTopicId(MetadataImage image)
    {
        Span<byte> bytes = stackalloc byte[16];
        while (true)
        {
            _random.NextBytes(bytes);
            KafkaUuid id = KafkaUuid.Read(bytes);
            if (!id.IsZero && id != KafkaUuid.MetadataTopicId && image.Topics.GetTopic(id) is null)
            {
                return id;
            }
        }
    }

    // ================================================================ nodes

    /// <summary>
    /// BrokerRegistration (brokers and coordinators): a new registration record whose epoch is its
    /// own log offset; the node starts fenced. A different incarnation while the old one's lease
    /// is valid is DUPLICATE_BROKER_REGISTRATION; the same incarnation may re-register (a retry),
    /// which fences it again until it catches up. A node carrying the <see cref="CoordinatorFeature"/>
    /// feature registers as a coordinator.
    /// </summary>
    public ControllerResult<BrokerRegistrationResponse> RegisterBroker(BrokerRegistrationRequest request, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(request);
        EnsureActive();
        ControllerWriteContext ctx = NewContext();
        return Finish(ctx, _cluster.RegisterBroker(ctx, request, nowMs), nowMs);
    }

    /// <summary>
    /// BrokerHeartbeat: renews the lease and drives the node's state — unfence once caught up to
    /// its registration (wantFence=false, currentMetadataOffset ≥ registration offset), fence on
    /// request, controlled shutdown (move leadership and ISR membership away, then grant
    /// shouldShutDown once the other active nodes have the records that did so).
    /// </summary>
    public ControllerResult<BrokerHeartbeatResponse> ProcessBrokerHeartbeat(BrokerHeartbeatRequest request, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(request);
        EnsureActive();
        ControllerWriteContext ctx = NewContext();
        return Finish(ctx, _cluster.ProcessBrokerHeartbeat(ctx, request, nowMs), nowMs);
    }

    /// <summary>UnregisterBroker: moves leadership off the node and removes its registration.</summary>
    public ControllerResult<ApiError> UnregisterBroker(int brokerId, long nowMs)
    {
        EnsureActive();
        ControllerWriteContext ctx = NewContext();
        return Finish(ctx, _cluster.UnregisterBroker(ctx, brokerId), nowMs);
    }

    // ================================================================ producer ids

    /// <summary>
    /// AllocateProducerIds: the next block of producer ids for a registered node (its current
    /// broker epoch), recorded in a ProducerIdsRecord; answer once that record commits.
    /// </summary>
    public ControllerResult<AllocateProducerIdsResponse> AllocateProducerIds(AllocateProducerIdsRequest request, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(request);
        EnsureActive();
        ControllerWriteContext ctx = NewContext();
        return Finish(ctx, ProducerIdControlManager.Allocate(ctx, request), nowMs);
    }

    // ================================================================ periodic work

    /// <summary>
    /// The controller's periodic work at <paramref name="nowMs"/>: fence nodes whose lease lapsed
    /// (moving leaders off them and shrinking ISRs, or moving their coordinator partitions), keep
    /// the coordinator assignment complete and balanced, elect unclean leaders where a topic allows
    /// it, rebalance preferred leaders every leader.imbalance.check.interval.seconds when
    /// auto.leader.rebalance.enable, and write a NoOpRecord when idle for metadata.max.idle.interval.ms.
    /// </summary>
    public ControllerResult<TickResult> Tick(long nowMs)
    {
        EnsureActive();
        ControllerWriteContext ctx = NewContext();
        IReadOnlyList<int> fenced = _cluster.FenceStaleNodes(ctx, nowMs);

        int coordinatorMoves = CoordinatorControlManager.Rebalance(ctx);
        int unclean = _replication.MaybeElectUncleanLeaders(ctx);
        int balanced = 0;
        if (Config.AutoLeaderRebalanceEnable && nowMs >= _nextImbalanceCheckMs)
        {
            balanced = _replication.MaybeBalancePartitionLeaders(ctx);
            _nextImbalanceCheckMs = nowMs + (Config.LeaderImbalanceCheckIntervalSeconds * 1000);
        }

        bool noOp = false;
        if (ctx.Records.Count == 0 && Config.MetadataMaxIdleIntervalMs > 0 && nowMs - _lastWriteMs >= Config.MetadataMaxIdleIntervalMs)
        {
            ctx.Add(RecordVersions.Of(new NoOpRecord()));
            noOp = true;
        }

        return Finish(ctx, new TickResult(fenced, balanced, unclean, coordinatorMoves, noOp), nowMs);
    }

    // ================================================================ topics and partitions

    public ControllerResult<CreateTopicsResponse> CreateTopics(CreateTopicsRequest request, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(request);
        EnsureActive();
        ControllerWriteContext ctx = NewContext();
        CreateTopicsResponse response = _replication.CreateTopics(ctx, request);
        CoordinatorControlManager.Rebalance(ctx);
        return Finish(ctx, response, nowMs);
    }

    /// <summary>Creates <c>__consumer_offsets</c> (offsets.topic.num.partitions, offsets.topic.replication.factor capped to the usable brokers, cleanup.policy=compact) unless it exists, and assigns its partitions to coordinators.</summary>
    public ControllerResult<ApiError> EnsureConsumerOffsetsTopic(long nowMs)
    {
        EnsureActive();
        ControllerWriteContext ctx = NewContext();
        if (ctx.Image.Topics.GetTopic(CoordinatorsImage.ConsumerOffsetsTopic) is not null)
        {
            CoordinatorControlManager.Rebalance(ctx);
            return Finish(ctx, ApiError.None, nowMs);
        }

        var request = new CreateTopicsRequest();
        request.Topics.Add(new CreateTopicsRequest.CreatableTopic { Name = CoordinatorsImage.ConsumerOffsetsTopic, NumPartitions = -1, ReplicationFactor = -1 });
        CreateTopicsResponse.CreatableTopicResult result = _replication.CreateTopics(ctx, request).Topics[0];
        CoordinatorControlManager.Rebalance(ctx);
        return Finish(ctx, new ApiError(result.ErrorCode, result.ErrorMessage), nowMs);
    }

    public ControllerResult<DeleteTopicsResponse> DeleteTopics(DeleteTopicsRequest request, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(request);
        EnsureActive();
        ControllerWriteContext ctx = NewContext();
        DeleteTopicsResponse response = _replication.DeleteTopics(ctx, request);
        return Finish(ctx, response, nowMs);
    }

    public ControllerResult<CreatePartitionsResponse> CreatePartitions(CreatePartitionsRequest request, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(request);
        EnsureActive();
        ControllerWriteContext ctx = NewContext();
        CreatePartitionsResponse response = _replication.CreatePartitions(ctx, request);
        CoordinatorControlManager.Rebalance(ctx);
        return Finish(ctx, response, nowMs);
    }

    /// <summary>AlterPartition from a partition leader (ISR changes, leader recovery), with the request's API version.</summary>
    public ControllerResult<AlterPartitionResponse> AlterPartition(AlterPartitionRequest request, short version, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(request);
        EnsureActive();
        ControllerWriteContext ctx = NewContext();
        AlterPartitionResponse response = _replication.AlterPartition(ctx, request, version);
        return Finish(ctx, response, nowMs);
    }

    public ControllerResult<ElectLeadersResponse> ElectLeaders(ElectLeadersRequest request, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(request);
        EnsureActive();
        ControllerWriteContext ctx = NewContext();
        ElectLeadersResponse response = _replication.ElectLeaders(ctx, request);
        return Finish(ctx, response, nowMs);
    }

    // ================================================================ configs

    public ControllerResult<IncrementalAlterConfigsResponse> IncrementalAlterConfigs(IncrementalAlterConfigsRequest request, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(request);
        EnsureActive();
        ControllerWriteContext ctx = NewContext();
        IncrementalAlterConfigsResponse response = _configs.IncrementalAlterConfigs(ctx, request);
        return Finish(ctx, response, nowMs);
    }

    /// <summary>The legacy AlterConfigs: replaces all of a resource's dynamic configs.</summary>
    public ControllerResult<AlterConfigsResponse> LegacyAlterConfigs(AlterConfigsRequest request, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(request);
        EnsureActive();
        ControllerWriteContext ctx = NewContext();
        AlterConfigsResponse response = _configs.LegacyAlterConfigs(ctx, request);
        return Finish(ctx, response, nowMs);
    }

    /// <summary>DescribeConfigs over the latest state; answer after <see cref="ControllerResult{T}.ResponseOffset"/> commits.</summary>
    public ControllerResult<DescribeConfigsResponse> DescribeConfigs(DescribeConfigsRequest request, long nowMs, short version = 4)
    {
        ArgumentNullException.ThrowIfNull(request);
        ControllerWriteContext ctx = NewContext();
        return Finish(ctx, _configs.DescribeConfigs(LatestImage, request, version), nowMs);
    }
}
