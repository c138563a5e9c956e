using Aspire.Kafka.Metadata;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.GroupCoordinator;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aspire.Kafka.Coordinator.Groups;

/// <summary>
/// The <c>__consumer_offsets</c> partitions this coordinator owns (Kafka's GroupMetadataManager):
/// which are owned and loaded, replay of a gained partition from the log, unloading a lost one.
/// Each owned partition is a <see cref="GroupPartition"/> with its own lock, its groups and its
/// writer; the map of them has a lock of its own that is never held while a partition's is taken.
/// </summary>
public sealed class GroupMetadataManager
{
    private readonly Dictionary<int, GroupPartition> _owned = [];
    private readonly Lock _ownedGate = new();
    private readonly ILogger _logger;

    public GroupMetadataManager(GroupConfig config, IGroupLog log, ILogger<GroupMetadataManager>? logger = null)
    {
        Config = config;
        Log = log;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        PartitionCount = config.OffsetsTopicPartitions;
        Writes = new PartitionAppender.Options(log, config.CommitTimeoutMs, _logger, FencedOut);
    }

    public GroupConfig Config { get; }

    public IGroupLog Log { get; }

    /// <summary>What every partition's writer shares (the log, the commit timeout, the append counters).</summary>
    internal PartitionAppender.Options Writes { get; }

    /// <summary>Partitions of <c>__consumer_offsets</c> (from the metadata image once it has the topic).</summary>
    public int PartitionCount { get; set; }

    /// <summary>Called (under the partition's lock) for each group of a partition that is unloaded: fail its waiting requests.</summary>
    internal Action<GroupMetadata>? OnGroupUnloaded { get; set; }

    public int PartitionFor(string groupId) => CoordinatorsImage.PartitionFor(groupId, PartitionCount);

    public IReadOnlyCollection<int> OwnedPartitions
    {
        get
        {
            lock (_ownedGate)
            {
                return [.. _owned.Keys];
            }
        }
    }

    public bool IsLoaded(int partition)
    {
        GroupPartition? p = Partition(partition);
        if (p is null)
        {
            return false;
        }

        lock (p.Gate)
        {
            return p.State == ErrorCode.None;
        }
    }

    /// <summary>The owned partition <paramref name="partition"/> (loaded or not); null when this node does not own it.</summary>
    internal GroupPartition? Partition(int partition)
    {
        lock (_ownedGate)
        {
            return _owned.GetValueOrDefault(partition);
        }
    }

    /// <summary>The owned partition of <paramref name="groupId"/>; null (NOT_COORDINATOR) when this node does not own it.</summary>
    internal GroupPartition? PartitionOf(string groupId) => Partition(PartitionFor(groupId));

    /// <summary>Every owned partition, for the timers and ListGroups (each to be read under its own lock).</summary>
    internal IReadOnlyList<GroupPartition> Partitions
    {
        get
        {
            lock (_ownedGate)
            {
                return [.. _owned.Values];
            }
        }
    }

    /// <summary>The group <paramref name="groupId"/> as cached now (for tests and diagnostics; null when absent or not owned).</summary>
    internal GroupMetadata? Get(string groupId)
    {
        GroupPartition? p = PartitionOf(groupId);
        if (p is null)
        {
            return null;
        }

        lock (p.Gate)
        {
            return p.Unloaded ? null : p.Get(groupId);
        }
    }

    /// <summary>
    /// This node now owns <paramref name="partition"/> (assignment <paramref name="epoch"/>): replays it
    /// from the log; requests for its groups get COORDINATOR_LOAD_IN_PROGRESS until the returned task ends.
    /// Retries reads until the partition is loaded or lost.
    /// </summary>
    public async Task LoadPartitionAsync(int partition, int epoch, Func<long> now, CancellationToken cancellationToken)
    {
        var owned = new GroupPartition(partition, epoch, Writes);
        GroupPartition? replaced;
        lock (_ownedGate)
        {
            if (_owned.TryGetValue(partition, out replaced) && replaced.Epoch == epoch)
            {
                return;
            }

            _owned[partition] = owned;
        }

        if (replaced is not null)
        {
            Unload(replaced);
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
                RemoveIfCurrent(owned);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _logger.LogWarning("Loading __consumer_offsets-{Partition} failed, retrying: {Message}", partition, e.Message);
                await Task.Delay(backoff, cancellationToken).ConfigureAwait(false);
                backoff = TimeSpan.FromMilliseconds(Math.Min(2000, backoff.TotalMilliseconds * 2));
                if (Partition(partition) != owned)
                {
                    return;
                }

                continue;
            }

            lock (owned.Gate)
            {
                if (owned.Unloaded)
                {
                    return;
                }

                int groups = Replay(owned, records, now());
                owned.Loaded = true;
                _logger.LogInformation("Loaded __consumer_offsets-{Partition} (epoch {Epoch}): {Records} records, {Groups} groups.", partition, epoch, records.Count, groups);
                return;
            }
        }
    }

    /// <summary>The assignment epoch this node owns <paramref name="partition"/> at; null when it does not own it.</summary>
    public int? OwnedEpoch(int partition) => Partition(partition)?.Epoch;

    /// <summary>This node no longer owns <paramref name="partition"/>: its groups are dropped (their requests answered NOT_COORDINATOR).</summary>
    public void UnloadPartition(int partition)
    {
        GroupPartition? removed;
        lock (_ownedGate)
        {
            if (!_owned.Remove(partition, out removed))
            {
                return;
            }
        }

        Unload(removed);
        _logger.LogInformation("Unloaded __consumer_offsets-{Partition}.", partition);
    }

    /// <summary>A write found the partition fenced by a newer owner: unload it unless it was replaced meanwhile.</summary>
    private void FencedOut(GroupPartition partition)
    {
        if (RemoveIfCurrent(partition))
        {
            _logger.LogInformation("Unloaded __consumer_offsets-{Partition}.", partition.Id);
        }
    }

    private bool RemoveIfCurrent(GroupPartition partition)
    {
        lock (_ownedGate)
        {
            if (!_owned.TryGetValue(partition.Id, out GroupPartition? current) || current != partition)
            {
                return false;
            }

            _owned.Remove(partition.Id);
        }

        Unload(partition);
        return true;
    }

    private void Unload(GroupPartition partition)
    {
        lock (partition.Gate)
        {
            partition.Unloaded = true;
            foreach (GroupMetadata group in partition.DropGroups())
            {
                group.EndRebalance("Unloaded");
                OnGroupUnloaded?.Invoke(group);
            }
        }
    }

    private int Replay(GroupPartition owned, IReadOnlyList<GroupLogRecord> records, long nowMs)
    {
        int partition = owned.Id;
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

            owned.Add(group);
            count++;
        }

        return count;
    }
}
