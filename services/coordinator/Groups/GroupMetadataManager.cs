using Aspire.Kafka.Metadata;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.GroupCoordinator;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aspire.Kafka.Coordinator.Groups;

/// <summary>
/// The group and offset cache of the <c>__consumer_offsets</c> partitions this coordinator owns
/// (Kafka's GroupMetadataManager): which partitions are owned and loaded, the groups in them,
/// replay of a gained partition from the log, unloading a lost one, and writing records.
/// Everything is guarded by <see cref="Gate"/>, which <see cref="GroupCoordinator"/> shares.
/// </summary>
public sealed class GroupMetadataManager
{
    private readonly Dictionary<int, OwnedPartition> _owned = [];
    private readonly Dictionary<string, GroupMetadata> _groups = new(StringComparer.Ordinal);
    private readonly ILogger _logger;

    public GroupMetadataManager(GroupConfig config, IGroupLog log, ILogger<GroupMetadataManager>? logger = null)
    {
        Config = config;
        Log = log;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        PartitionCount = config.OffsetsTopicPartitions;
    }

    public GroupConfig Config { get; }

    public IGroupLog Log { get; }

    internal Lock Gate { get; } = new();

    /// <summary>Partitions of <c>__consumer_offsets</c> (from the metadata image once it has the topic).</summary>
    public int PartitionCount { get; set; }

    /// <summary>Called when an owned partition's groups are dropped (lost ownership): fail their waiting requests.</summary>
    internal Action<GroupMetadata>? OnGroupUnloaded { get; set; }

    public int PartitionFor(string groupId) => CoordinatorsImage.PartitionFor(groupId, PartitionCount);

    public IReadOnlyCollection<int> OwnedPartitions
    {
        get
        {
            lock (Gate)
            {
                return [.. _owned.Keys];
            }
        }
    }

    public bool IsLoaded(int partition)
    {
        lock (Gate)
        {
            return _owned.TryGetValue(partition, out OwnedPartition? p) && p.Loaded;
        }
    }

    /// <summary>NONE, NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS for a group. Call under <see cref="Gate"/>.</summary>
    internal ErrorCode CheckOwnership(string groupId)
    {
        if (!_owned.TryGetValue(PartitionFor(groupId), out OwnedPartition? p))
        {
            return ErrorCode.NotCoordinator;
        }

        return p.Loaded ? ErrorCode.None : ErrorCode.CoordinatorLoadInProgress;
    }

    internal bool AnyLoading => _owned.Values.Any(p => !p.Loaded);

    internal GroupMetadata? Get(string groupId) => _groups.GetValueOrDefault(groupId);

    internal GroupMetadata GetOrCreate(string groupId, long nowMs)
    {
        if (!_groups.TryGetValue(groupId, out GroupMetadata? group))
        {
            group = new GroupMetadata(groupId, PartitionFor(groupId), nowMs);
            _groups[groupId] = group;
        }

        return group;
    }

    internal void RemoveGroup(GroupMetadata group)
    {
        if (_groups.TryGetValue(group.GroupId, out GroupMetadata? current) && ReferenceEquals(current, group))
        {
            _groups.Remove(group.GroupId);
        }
    }

    /// <summary>Whether this group object is still the cached one (not unloaded or deleted meanwhile).</summary>
    internal bool IsCurrent(GroupMetadata group) => _groups.TryGetValue(group.GroupId, out GroupMetadata? current) && ReferenceEquals(current, group);

    internal IReadOnlyList<GroupMetadata> Groups => [.. _groups.Values];

    /// <summary>
    /// This node now owns <paramref name="partition"/> (assignment <paramref name="epoch"/>): replays it
    /// from the log; requests for its groups get COORDINATOR_LOAD_IN_PROGRESS until the returned task ends.
    /// Retries reads until the partition is loaded or lost.
    /// </summary>
    public async Task LoadPartitionAsync(int partition, int epoch, Func<long> now, CancellationToken cancellationToken)
    {
        var owned = new OwnedPartition(epoch);
        lock (Gate)
        {
            if (_owned.TryGetValue(partition, out OwnedPartition? existing) && existing.Epoch == epoch)
            {
                return;
            }

            UnloadGroups(partition);
            _owned[partition] = owned;
        }

        TimeSpan backoff = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            IReadOnlyList<GroupLogRecord> records;
            try
            {
                // Claim first: from then on the previous owner cannot append, so the read below
                // ends after everything it wrote.
                await Log.ClaimAsync(partition, epoch, cancellationToken).ConfigureAwait(false);
                records = await Log.ReadAllAsync(partition, cancellationToken).ConfigureAwait(false);
            }
            catch (CoordinatorFencedException e)
            {
                _logger.LogWarning("Not loading __consumer_offsets-{Partition}: {Message}", partition, e.Message);
                lock (Gate)
                {
                    if (_owned.TryGetValue(partition, out OwnedPartition? current) && ReferenceEquals(current, owned))
                    {
                        _owned.Remove(partition);
                    }
                }

                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _logger.LogWarning("Loading __consumer_offsets-{Partition} failed, retrying: {Message}", partition, e.Message);
                await Task.Delay(backoff, cancellationToken).ConfigureAwait(false);
                backoff = TimeSpan.FromMilliseconds(Math.Min(2000, backoff.TotalMilliseconds * 2));
                lock (Gate)
                {
                    if (!_owned.TryGetValue(partition, out OwnedPartition? current) || !ReferenceEquals(current, owned))
                    {
                        return;
                    }
                }

                continue;
            }

            lock (Gate)
            {
                if (!_owned.TryGetValue(partition, out OwnedPartition? current) || !ReferenceEquals(current, owned))
                {
                    return;
                }

                int groups = Replay(partition, records, now());
                owned.Loaded = true;
                _logger.LogInformation("Loaded __consumer_offsets-{Partition} (epoch {Epoch}): {Records} records, {Groups} groups.", partition, epoch, records.Count, groups);
                return;
            }
        }
    }

    /// <summary>The assignment epoch this node owns <paramref name="partition"/> at; null when it does not own it.</summary>
    public int? OwnedEpoch(int partition)
    {
        lock (Gate)
        {
            return _owned.TryGetValue(partition, out OwnedPartition? p) ? p.Epoch : null;
        }
    }

    /// <summary>This node no longer owns <paramref name="partition"/>: its groups are dropped (their requests answered NOT_COORDINATOR).</summary>
    public void UnloadPartition(int partition)
    {
        lock (Gate)
        {
            if (_owned.Remove(partition))
            {
                UnloadGroups(partition);
                _logger.LogInformation("Unloaded __consumer_offsets-{Partition}.", partition);
            }
        }
    }

    private void UnloadGroups(int partition)
    {
        foreach (GroupMetadata group in _groups.Values.Where(g => g.Partition == partition).ToList())
        {
            _groups.Remove(group.GroupId);
            group.EndRebalance("Unloaded");
            OnGroupUnloaded?.Invoke(group);
        }
    }

    private int Replay(int partition, IReadOnlyList<GroupLogRecord> records, long nowMs)
    {
        var offsets = new Dictionary<string, Dictionary<(string, int), CommittedOffset>>(StringComparer.Ordinal);
        var groups = new Dictionary<string, GroupMetadataValue?>(StringComparer.Ordinal);
        foreach (GroupLogRecord record in records)
        {
            GroupRecords.Decoded? decoded;
            try
            {
                decoded = GroupRecords.Decode(record.Key, record.Value);
            }
            catch (KafkaProtocolException e)
            {
                _logger.LogWarning("Skipping an undecodable record in __consumer_offsets-{Partition}: {Message}", partition, e.Message);
                continue;
            }

            switch (decoded)
            {
                case GroupRecords.OffsetRecord o:
                    if (!offsets.TryGetValue(o.GroupId, out Dictionary<(string, int), CommittedOffset>? map))
                    {
                        offsets[o.GroupId] = map = [];
                    }

                    if (o.Offset is null)
                    {
                        map.Remove((o.Topic, o.Partition));
                    }
                    else
                    {
                        map[(o.Topic, o.Partition)] = o.Offset;
                    }

                    break;
                case GroupRecords.GroupRecord g:
                    groups[g.GroupId] = g.Value;
                    if (g.Value is null)
                    {
                        offsets.Remove(g.GroupId);
                    }

                    break;
            }
        }

        int count = 0;
        foreach (string groupId in groups.Keys.Union(offsets.Keys).Distinct())
        {
            GroupMetadataValue? value = groups.GetValueOrDefault(groupId);
            Dictionary<(string, int), CommittedOffset>? groupOffsets = offsets.GetValueOrDefault(groupId);
            if (value is null && (groupOffsets is null || groupOffsets.Count == 0))
            {
                continue;
            }

            var group = new GroupMetadata(groupId, partition, nowMs);
            if (value is not null)
            {
                group.ProtocolType = value.ProtocolType.Length == 0 ? null : value.ProtocolType;
                group.GenerationId = value.Generation;
                group.ProtocolName = value.Protocol;
                foreach (GroupMetadataValue.MemberMetadata m in value.Members)
                {
                    var member = new MemberMetadata(m.MemberId, m.GroupInstanceId, m.ClientId, m.ClientHost,
                        m.RebalanceTimeout < 0 ? m.SessionTimeout : m.RebalanceTimeout, m.SessionTimeout, value.ProtocolType,
                        [new GroupProtocol(value.Protocol ?? "", m.Subscription)])
                    {
                        Assignment = m.Assignment,
                        LastHeartbeatMs = nowMs,
                    };
                    group.Add(member);
                }

                group.LeaderId = value.Leader is { } leader && group.Members.ContainsKey(leader) ? leader : group.LeaderId;
                group.TransitionTo(group.IsEmpty ? GroupState.Empty : GroupState.Stable, value.CurrentStateTimestamp >= 0 ? value.CurrentStateTimestamp : nowMs);
                group.ProtocolType = value.ProtocolType.Length == 0 ? null : value.ProtocolType;
            }

            foreach (KeyValuePair<(string, int), CommittedOffset> o in groupOffsets ?? [])
            {
                group.Offsets[o.Key] = o.Value;
            }

            _groups[groupId] = group;
            count++;
        }

        return count;
    }

    private sealed class OwnedPartition(int epoch)
    {
        public int Epoch { get; } = epoch;

        public bool Loaded { get; set; }
    }
}
