using Aspire.Kafka.Protocol;

namespace Aspire.Kafka.Coordinator.Groups;

/// <summary>
/// One <c>__consumer_offsets</c> partition this node owns at one assignment epoch (the shard of
/// Kafka's coordinator runtime): its load state, its groups, its lock and its writer. Everything
/// about its groups happens under <see cref="Gate"/>; groups of other partitions never wait for it.
/// An unloaded partition object is never reused: a later load makes a new one.
/// </summary>
internal sealed class GroupPartition
{
    private readonly Dictionary<string, GroupMetadata> _groups = new(StringComparer.Ordinal);

    public GroupPartition(int id, int epoch, PartitionAppender.Options writes)
    {
        Id = id;
        Epoch = epoch;
        Appender = new PartitionAppender(this, writes);
    }

    public int Id { get; }

    /// <summary>The assignment epoch this node owns the partition at (the producer epoch it writes with).</summary>
    public int Epoch { get; }

    /// <summary>Guards everything below and the appender's queue.</summary>
    public Lock Gate { get; } = new();

    /// <summary>Replayed: requests are served. Under <see cref="Gate"/>.</summary>
    public bool Loaded { get; set; }

    /// <summary>Lost (or replaced by a newer load): requests get NOT_COORDINATOR. Under <see cref="Gate"/>.</summary>
    public bool Unloaded { get; set; }

    public PartitionAppender Appender { get; }

    /// <summary>NONE, NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS. Under <see cref="Gate"/>.</summary>
    public ErrorCode State => Unloaded ? ErrorCode.NotCoordinator : Loaded ? ErrorCode.None : ErrorCode.CoordinatorLoadInProgress;

    public GroupMetadata? Get(string groupId) => _groups.GetValueOrDefault(groupId);

    public GroupMetadata GetOrCreate(string groupId, long nowMs)
    {
        if (!_groups.TryGetValue(groupId, out GroupMetadata? group))
        {
            group = new GroupMetadata(groupId, Id, nowMs) { Owner = this };
            _groups[groupId] = group;
        }

        return group;
    }

    public void Add(GroupMetadata group)
    {
        group.Owner = this;
        _groups[group.GroupId] = group;
    }

    public void Remove(GroupMetadata group)
    {
        if (IsCurrent(group))
        {
            _groups.Remove(group.GroupId);
        }
    }

    /// <summary>Whether this group object is still the cached one (not unloaded or deleted meanwhile).</summary>
    public bool IsCurrent(GroupMetadata group) => !Unloaded && _groups.TryGetValue(group.GroupId, out GroupMetadata? current) && ReferenceEquals(current, group);

    public IReadOnlyCollection<GroupMetadata> Groups => _groups.Values;

    /// <summary>Drops every group (the partition is lost); returns them so their waiters can be failed.</summary>
    public List<GroupMetadata> DropGroups()
    {
        List<GroupMetadata> dropped = [.. _groups.Values];
        _groups.Clear();
        return dropped;
    }
}
