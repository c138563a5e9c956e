using Aspire.Kafka.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aspire.Kafka.Coordinator.Groups;

/// <summary>
/// The classic group protocol (Kafka's GroupCoordinator): JoinGroup, SyncGroup, Heartbeat,
/// LeaveGroup and the timers (join deadline, initial rebalance delay, sync deadline, session
/// expiry) as a deterministic state machine. Every call takes the current time in ms; the
/// service calls <see cref="Tick"/> periodically with the clock, tests with the time they want.
/// Answers that wait for others (a join waiting for the rebalance, a follower's sync waiting for
/// the leader) are tasks completed by later calls. It works on domain types (Groups/GroupRequests.cs);
/// Apis/ApiNN*.cs translate the wire. A group is read and changed under the lock of its
/// <c>__consumer_offsets</c> partition only (<see cref="GroupPartition"/>), and its records are
/// queued to that partition's <see cref="PartitionAppender"/> under the same lock, so they reach the
/// log in the order they were decided.
/// </summary>
public sealed partial class GroupCoordinator
{
    private readonly GroupMetadataManager _manager;
    private readonly ILogger _logger;
    private readonly Lock _expiryGate = new();
    private long _nextOffsetExpiryCheckMs = long.MinValue;

    public GroupCoordinator(GroupMetadataManager manager, ILogger<GroupCoordinator>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(manager);
        _manager = manager;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _manager.OnGroupUnloaded = group => FailWaiting(group, ErrorCode.NotCoordinator);
    }

    public GroupMetadataManager Manager => _manager;

    /// <summary>Generations completed (joins that ended in CompletingRebalance), for metrics.</summary>
    public long RebalancesCompleted => Interlocked.Read(ref _rebalances);

    /// <summary>Partition offsets committed (written and visible), for metrics.</summary>
    public long OffsetsCommitted => Interlocked.Read(ref _offsetsCommitted);

    /// <summary>Appends to <c>__consumer_offsets</c> (each one Produce with acks=all), for metrics.</summary>
    public long LogAppends => _manager.Writes.Appends;

    /// <summary>Writes (offset commits, group records…) those appends carried: more than <see cref="LogAppends"/> when writes were batched.</summary>
    public long LogWrites => _manager.Writes.Writes;

    private long _rebalances;
    private long _offsetsCommitted;

    /// <summary>Groups by state and the number of members, for metrics.</summary>
    public (IReadOnlyDictionary<GroupState, int> Groups, int Members) Snapshot()
    {
        var states = new Dictionary<GroupState, int>();
        int members = 0;
        foreach (GroupPartition p in _manager.Partitions)
        {
            lock (p.Gate)
            {
                foreach (GroupMetadata g in p.Groups)
                {
                    states[g.State] = states.GetValueOrDefault(g.State) + 1;
                    members += g.Members.Count;
                }
            }
        }

        return (states, members);
    }

    private GroupConfig Config => _manager.Config;

    /// <summary>
    /// Runs <paramref name="operation"/> under the lock of <paramref name="groupId"/>'s partition
    /// (<paramref name="unowned"/> when this node does not own it), then starts the partition's
    /// queued writes.
    /// </summary>
    private T OnGroup<T>(string groupId, Func<ErrorCode, T> unowned, Func<GroupPartition, T> operation)
    {
        GroupPartition? partition = _manager.PartitionOf(groupId);
        if (partition is null)
        {
            return unowned(ErrorCode.NotCoordinator);
        }

        T result;
        lock (partition.Gate)
        {
            ErrorCode state = partition.State;
            result = state == ErrorCode.None ? operation(partition) : unowned(state);
        }

        partition.Appender.Flush();
        return result;
    }

    // ---------------------------------------------------------------- JoinGroup

    /// <summary>JoinGroup (<see cref="JoinGroupArgs.RequireKnownMemberId"/>: KIP-394's MEMBER_ID_REQUIRED round for a new dynamic member).</summary>
    public Task<JoinGroupResult> JoinGroupAsync(JoinGroupArgs join, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(join);
        string groupId = join.GroupId;
        if (string.IsNullOrEmpty(groupId))
        {
            return Reject(ErrorCode.InvalidGroupId, join.MemberId, "JoinGroup without a group id");
        }

        if (groupId == GroupRecords.ClaimGroupId)
        {
            return Reject(ErrorCode.InvalidGroupId, join.MemberId, $"JoinGroup for the reserved group id {GroupRecords.ClaimGroupId}");
        }

        return OnGroup(groupId, error => Task.FromResult(JoinGroupResult.Failed(error, join.MemberId)), partition => Join(partition, join, nowMs));
    }

    private Task<JoinGroupResult> Join(GroupPartition partition, JoinGroupArgs join, long nowMs)
    {
        string groupId = join.GroupId;
        string memberId = join.MemberId;
        IReadOnlyList<GroupProtocol> protocols = join.Protocols;
        if (join.SessionTimeoutMs < Config.MinSessionTimeoutMs || join.SessionTimeoutMs > Config.MaxSessionTimeoutMs)
        {
            return Reject(ErrorCode.InvalidSessionTimeout, memberId,
                $"JoinGroup of {groupId} asks for session timeout {join.SessionTimeoutMs} ms, outside [{Config.MinSessionTimeoutMs}, {Config.MaxSessionTimeoutMs}]");
        }

        GroupMetadata? group = partition.Get(groupId);
        if (group is null)
        {
            if (memberId.Length > 0)
            {
                return Reject(ErrorCode.UnknownMemberId, memberId, $"JoinGroup of {groupId} by member {memberId}: the group does not exist");
            }

            if (join.ProtocolType.Length == 0 || protocols.Count == 0)
            {
                return Reject(ErrorCode.InconsistentGroupProtocol, memberId, $"JoinGroup of {groupId} without a protocol type or protocols");
            }

            group = partition.GetOrCreate(groupId, nowMs);
        }

        if (group.State == GroupState.Dead)
        {
            return Task.FromResult(JoinGroupResult.Failed(ErrorCode.CoordinatorNotAvailable, memberId));
        }

        if (!group.SupportsProtocols(join.ProtocolType, protocols))
        {
            return Reject(ErrorCode.InconsistentGroupProtocol, memberId,
                $"JoinGroup of {groupId}: protocol type {join.ProtocolType} / [{string.Join(',', protocols.Select(p => p.Name))}] does not fit the group's members");
        }

        var args = new JoinArgs(memberId, join.GroupInstanceId, join.ClientId, join.ClientHost, join.RebalanceTimeoutMs, join.SessionTimeoutMs, join.ProtocolType, protocols);
        return memberId.Length == 0
            ? JoinUnknownMember(group, args, join.RequireKnownMemberId, nowMs)
            : JoinKnownMember(group, args, nowMs);
    }

    private sealed record JoinArgs(string MemberId, string? GroupInstanceId, string ClientId, string ClientHost, int RebalanceTimeoutMs, int SessionTimeoutMs,
        string ProtocolType, IReadOnlyList<GroupProtocol> Protocols);

    private Task<JoinGroupResult> JoinUnknownMember(GroupMetadata group, JoinArgs join, bool requireKnownMemberId, long nowMs)
    {
        string newMemberId = $"{join.ClientId}-{Guid.NewGuid()}";
        if (join.GroupInstanceId is { } instanceId && group.StaticMembers.TryGetValue(instanceId, out string? oldMemberId) && group.Members.ContainsKey(oldMemberId))
        {
            // A static member restarting: it takes over its old identity and assignment.
            MemberMetadata member = group.Members[oldMemberId];
            member.AwaitingJoin?.TrySetResult(JoinGroupResult.Failed(ErrorCode.FencedInstanceId, oldMemberId));
            member.AwaitingJoin = null;
            member.AwaitingSync?.TrySetResult(SyncGroupResult.Failed(ErrorCode.FencedInstanceId));
            member.AwaitingSync = null;
            group.ReplaceStaticMember(oldMemberId, newMemberId);
            member.ClientId = join.ClientId;
            member.ClientHost = join.ClientHost;
            member.SessionTimeoutMs = join.SessionTimeoutMs;
            member.RebalanceTimeoutMs = join.RebalanceTimeoutMs;
            member.LastHeartbeatMs = nowMs;
            _logger.LogInformation("Static member {Instance} of group {Group} rejoined as {New} (was {Old}).", instanceId, group.GroupId, newMemberId, oldMemberId);
            if (group.State == GroupState.Stable && member.Matches(join.Protocols))
            {
                // Same subscription: no rebalance; it gets the current generation back once the
                // group with its new member id is written.
                return AnswerWhenWrittenAsync(Write(group, [GroupRecords.Group(group)]), CurrentGeneration(group, newMemberId, skipAssignment: true));
            }

            return UpdateMemberAndRebalance(group, member, join.Protocols, nowMs, "a static member rejoined with new metadata");
        }

        if (group.Members.Count + group.PendingMembers.Count >= Config.MaxSize)
        {
            return Reject(ErrorCode.GroupMaxSizeReached, "", $"JoinGroup of {group.GroupId}: the group already has {group.Members.Count} members (group.max.size {Config.MaxSize})");
        }

        if (join.GroupInstanceId is null && requireKnownMemberId)
        {
            // KIP-394: the member must come back with this id before it counts.
            group.PendingMembers[newMemberId] = nowMs + join.SessionTimeoutMs;
            return Task.FromResult(JoinGroupResult.Failed(ErrorCode.MemberIdRequired, newMemberId));
        }

        return AddMemberAndRebalance(group, join with { MemberId = newMemberId }, nowMs);
    }

    private static async Task<JoinGroupResult> AnswerWhenWrittenAsync(Task<ErrorCode> written, JoinGroupResult ready)
    {
        ErrorCode error = await written.ConfigureAwait(false);
        return error == ErrorCode.None ? ready : JoinGroupResult.Failed(error, ready.MemberId);
    }

    private Task<JoinGroupResult> JoinKnownMember(GroupMetadata group, JoinArgs join, long nowMs)
    {
        string memberId = join.MemberId;
        if (group.PendingMembers.ContainsKey(memberId))
        {
            return AddMemberAndRebalance(group, join, nowMs);
        }

        if (group.IsStaticMemberFenced(memberId, join.GroupInstanceId))
        {
            return Reject(ErrorCode.FencedInstanceId, memberId, $"JoinGroup of {group.GroupId}: instance {join.GroupInstanceId} is now another member than {memberId}");
        }

        if (!group.Members.TryGetValue(memberId, out MemberMetadata? member) || group.State is GroupState.Empty or GroupState.Dead)
        {
            return Reject(ErrorCode.UnknownMemberId, memberId, $"JoinGroup of {group.GroupId}: member {memberId} is unknown");
        }

        member.SessionTimeoutMs = join.SessionTimeoutMs;
        member.RebalanceTimeoutMs = join.RebalanceTimeoutMs;
        member.LastHeartbeatMs = nowMs;
        switch (group.State)
        {
            case GroupState.PreparingRebalance:
                return UpdateMemberAndRebalance(group, member, join.Protocols, nowMs, "member rejoined");
            case GroupState.CompletingRebalance:
                // The member may have missed its JoinGroup response: same metadata, same generation.
                return member.Matches(join.Protocols)
                    ? Task.FromResult(CurrentGeneration(group, memberId, skipAssignment: false))
                    : UpdateMemberAndRebalance(group, member, join.Protocols, nowMs, $"member {memberId} rejoined with new metadata");
            default: // Stable
                return memberId == group.LeaderId || !member.Matches(join.Protocols)
                    ? UpdateMemberAndRebalance(group, member, join.Protocols, nowMs, memberId == group.LeaderId ? $"leader {memberId} rejoined" : $"member {memberId} rejoined with new metadata")
                    : Task.FromResult(CurrentGeneration(group, memberId, skipAssignment: false));
        }
    }

    private Task<JoinGroupResult> AddMemberAndRebalance(GroupMetadata group, JoinArgs join, long nowMs)
    {
        var member = new MemberMetadata(join.MemberId, join.GroupInstanceId, join.ClientId, join.ClientHost, join.RebalanceTimeoutMs,
            join.SessionTimeoutMs, join.ProtocolType, join.Protocols)
        {
            IsNew = true,
            LastHeartbeatMs = nowMs,
            AwaitingJoin = NewJoin(),
        };
        Task<JoinGroupResult> task = member.AwaitingJoin.Task;
        group.PendingMembers.Remove(join.MemberId);
        group.Add(member);
        if (group.InInitialDelay)
        {
            group.NewMemberAdded = true;
        }

        MaybePrepareRebalance(group, nowMs, $"member {join.MemberId} joined");
        TryCompleteJoin(group, nowMs);
        return task;
    }

    private Task<JoinGroupResult> UpdateMemberAndRebalance(GroupMetadata group, MemberMetadata member, IReadOnlyList<GroupProtocol> protocols, long nowMs, string reason)
    {
        member.Protocols = protocols;
        member.AwaitingJoin?.TrySetResult(JoinGroupResult.Failed(ErrorCode.RebalanceInProgress, member.MemberId));
        member.AwaitingJoin = NewJoin();
        Task<JoinGroupResult> task = member.AwaitingJoin.Task;
        MaybePrepareRebalance(group, nowMs, reason);
        TryCompleteJoin(group, nowMs);
        return task;
    }

    private JoinGroupResult CurrentGeneration(GroupMetadata group, string memberId, bool skipAssignment)
    {
        bool leader = memberId == group.LeaderId;
        return new JoinGroupResult(ErrorCode.None, group.GenerationId, group.ProtocolType, group.ProtocolName, group.LeaderId ?? "", memberId,
            leader ? MemberList(group) : [], leader && skipAssignment);
    }

    private static List<JoinedMember> MemberList(GroupMetadata group) =>
        [.. group.MembersInOrder.Select(m => new JoinedMember(m.MemberId, m.GroupInstanceId, m.MetadataFor(group.ProtocolName)))];

    private void MaybePrepareRebalance(GroupMetadata group, long nowMs, string reason)
    {
        if (group.State is GroupState.Stable or GroupState.CompletingRebalance or GroupState.Empty)
        {
            PrepareRebalance(group, nowMs, reason);
        }
    }

    private void PrepareRebalance(GroupMetadata group, long nowMs, string reason)
    {
        if (group.State == GroupState.CompletingRebalance)
        {
            foreach (MemberMetadata m in group.Members.Values)
            {
                m.Assignment = [];
                m.AwaitingSync?.TrySetResult(SyncGroupResult.Failed(ErrorCode.RebalanceInProgress));
                m.AwaitingSync = null;
            }
        }

        bool wasEmpty = group.State == GroupState.Empty;
        group.TransitionTo(GroupState.PreparingRebalance, nowMs, reason);
        if (wasEmpty && Config.InitialRebalanceDelayMs > 0)
        {
            group.InInitialDelay = true;
            group.NewMemberAdded = false;
            group.JoinDeadlineMs = nowMs + Config.InitialRebalanceDelayMs;
            group.InitialDelayLimitMs = nowMs + Math.Max(group.MaxRebalanceTimeoutMs, Config.InitialRebalanceDelayMs);
        }
        else
        {
            group.InInitialDelay = false;
            group.JoinDeadlineMs = nowMs + group.MaxRebalanceTimeoutMs;
        }

        _logger.LogInformation("Preparing to rebalance group {Group} in generation {Generation}: {Reason}.", group.GroupId, group.GenerationId, reason);
    }

    private void TryCompleteJoin(GroupMetadata group, long nowMs)
    {
        if (group.State == GroupState.PreparingRebalance && !group.InInitialDelay && group.HasAllMembersJoined)
        {
            CompleteJoin(group, nowMs);
        }
    }

    private void CompleteJoin(GroupMetadata group, long nowMs)
    {
        group.InInitialDelay = false;
        foreach (MemberMetadata late in group.Members.Values.Where(m => m.AwaitingJoin is null && !m.IsStatic).ToList())
        {
            _logger.LogInformation("Member {Member} of group {Group} did not rejoin in time and is removed.", late.MemberId, group.GroupId);
            late.AwaitingSync?.TrySetResult(SyncGroupResult.Failed(ErrorCode.UnknownMemberId));
            group.Remove(late.MemberId);
        }

        if (group.IsEmpty)
        {
            group.GenerationId++;
            group.ProtocolName = null;
            group.LeaderId = null;
            group.TransitionTo(GroupState.Empty, nowMs);
            WriteInBackground(group, [GroupRecords.Group(group)]);
            _logger.LogInformation("Group {Group} is empty in generation {Generation}.", group.GroupId, group.GenerationId);
            return;
        }

        if (group.LeaderId is null || group.Members[group.LeaderId].AwaitingJoin is null)
        {
            group.LeaderId = group.MembersInOrder.FirstOrDefault(m => m.AwaitingJoin is not null)?.MemberId ?? group.LeaderId;
        }

        group.GenerationId++;
        Interlocked.Increment(ref _rebalances);
        group.ProtocolName = group.SelectProtocol();
        group.TransitionTo(GroupState.CompletingRebalance, nowMs);
        group.SyncDeadlineMs = nowMs + group.MaxRebalanceTimeoutMs;
        List<JoinedMember> all = MemberList(group);
        foreach (MemberMetadata member in group.Members.Values)
        {
            member.HasSynced = false;
            if (member.AwaitingJoin is { } waiting)
            {
                bool leader = member.MemberId == group.LeaderId;
                waiting.TrySetResult(new JoinGroupResult(ErrorCode.None, group.GenerationId, group.ProtocolType, group.ProtocolName, group.LeaderId!, member.MemberId,
                    leader ? all : []));
                member.AwaitingJoin = null;
                member.IsNew = false;
                member.LastHeartbeatMs = nowMs;
            }
        }

        _logger.LogInformation("Group {Group} generation {Generation}: {Members} members, protocol {Protocol}, leader {Leader}.",
            group.GroupId, group.GenerationId, group.Members.Count, group.ProtocolName, group.LeaderId);
    }

    // ---------------------------------------------------------------- SyncGroup

    public Task<SyncGroupResult> SyncGroupAsync(SyncGroupArgs request, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(request);
        return OnGroup(request.GroupId, error => Task.FromResult(SyncGroupResult.Failed(error)), partition => Sync(request, partition.Get(request.GroupId), nowMs));
    }

    /// <summary>
    /// The leader's assignment is written (acks=all) before any member sees it; a failed write fails
    /// the syncs and restarts the rebalance. Runs under the partition's lock when the write ended.
    /// </summary>
    private void AssignmentWritten(GroupMetadata group, int generation, ErrorCode error, long nowMs)
    {
        if (group.Owner is not { } partition || !partition.IsCurrent(group) || group.State != GroupState.CompletingRebalance || group.GenerationId != generation)
        {
            return;
        }

        if (error == ErrorCode.None)
        {
            group.TransitionTo(GroupState.Stable, nowMs);
            foreach (MemberMetadata m in group.Members.Values)
            {
                m.AwaitingSync?.TrySetResult(new SyncGroupResult(ErrorCode.None, group.ProtocolType, group.ProtocolName, m.Assignment));
                m.AwaitingSync = null;
            }

            _logger.LogInformation("Group {Group} is stable in generation {Generation}.", group.GroupId, generation);
        }
        else
        {
            foreach (MemberMetadata m in group.Members.Values)
            {
                m.Assignment = [];
                m.AwaitingSync?.TrySetResult(SyncGroupResult.Failed(error));
                m.AwaitingSync = null;
            }

            PrepareRebalance(group, nowMs, $"storing the assignment failed with {error}");
        }
    }

    private Task<SyncGroupResult> Sync(SyncGroupArgs request, GroupMetadata? group, long nowMs)
    {
        if (group is null || group.State == GroupState.Empty)
        {
            return RejectSync(ErrorCode.UnknownMemberId, $"SyncGroup of {request.GroupId} by {request.MemberId}: no such group or member");
        }

        if (group.State == GroupState.Dead)
        {
            return Task.FromResult(SyncGroupResult.Failed(ErrorCode.CoordinatorNotAvailable));
        }

        if (group.IsStaticMemberFenced(request.MemberId, request.GroupInstanceId))
        {
            return RejectSync(ErrorCode.FencedInstanceId, $"SyncGroup of {request.GroupId}: instance {request.GroupInstanceId} is now another member than {request.MemberId}");
        }

        if (!group.Members.TryGetValue(request.MemberId, out MemberMetadata? member))
        {
            return RejectSync(ErrorCode.UnknownMemberId, $"SyncGroup of {request.GroupId}: member {request.MemberId} is unknown");
        }

        if (request.GenerationId != group.GenerationId)
        {
            return RejectSync(ErrorCode.IllegalGeneration, $"SyncGroup of {request.GroupId} by {request.MemberId}: generation {request.GenerationId}, the group is at {group.GenerationId}");
        }

        if ((request.ProtocolType is not null && request.ProtocolType != group.ProtocolType) || (request.ProtocolName is not null && request.ProtocolName != group.ProtocolName))
        {
            return RejectSync(ErrorCode.InconsistentGroupProtocol, $"SyncGroup of {request.GroupId}: protocol {request.ProtocolType}/{request.ProtocolName} is not the group's {group.ProtocolType}/{group.ProtocolName}");
        }

        member.LastHeartbeatMs = nowMs;
        switch (group.State)
        {
            case GroupState.PreparingRebalance:
                return Task.FromResult(SyncGroupResult.Failed(ErrorCode.RebalanceInProgress));
            case GroupState.Stable:
                return Task.FromResult(new SyncGroupResult(ErrorCode.None, group.ProtocolType, group.ProtocolName, member.Assignment));
            default: // CompletingRebalance
                member.AwaitingSync?.TrySetResult(SyncGroupResult.Failed(ErrorCode.RebalanceInProgress));
                member.AwaitingSync = new TaskCompletionSource<SyncGroupResult>(TaskCreationOptions.RunContinuationsAsynchronously);
                member.HasSynced = true;
                Task<SyncGroupResult> task = member.AwaitingSync.Task;
                if (member.MemberId == group.LeaderId)
                {
                    var assignments = new Dictionary<string, byte[]>(StringComparer.Ordinal);
                    foreach ((string assignedMember, byte[] assignment) in request.Assignments)
                    {
                        assignments[assignedMember] = assignment;
                    }

                    foreach (MemberMetadata m in group.Members.Values)
                    {
                        m.Assignment = assignments.GetValueOrDefault(m.MemberId) ?? [];
                    }

                    int generation = group.GenerationId;
                    Write(group, [GroupRecords.Group(group)], error => AssignmentWritten(group, generation, error, nowMs));
                }

                return task;
        }
    }

    // ---------------------------------------------------------------- Heartbeat

    public ErrorCode Heartbeat(HeartbeatArgs request, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(request);
        return OnGroup(request.GroupId, error => error, partition => Heartbeat(partition, request, nowMs));
    }

    private ErrorCode Heartbeat(GroupPartition partition, HeartbeatArgs request, long nowMs)
    {
        GroupMetadata? group = partition.Get(request.GroupId);
        if (group is null)
        {
            return Log(ErrorCode.UnknownMemberId, $"Heartbeat of {request.GroupId} by {request.MemberId}: no such group");
        }

        if (group.State == GroupState.Dead)
        {
            return ErrorCode.CoordinatorNotAvailable;
        }

        if (group.IsStaticMemberFenced(request.MemberId, request.GroupInstanceId))
        {
            return Log(ErrorCode.FencedInstanceId, $"Heartbeat of {request.GroupId}: instance {request.GroupInstanceId} is now another member than {request.MemberId}");
        }

        if (!group.Members.TryGetValue(request.MemberId, out MemberMetadata? member))
        {
            return Log(ErrorCode.UnknownMemberId, $"Heartbeat of {request.GroupId}: member {request.MemberId} is unknown");
        }

        if (request.GenerationId != group.GenerationId)
        {
            return Log(ErrorCode.IllegalGeneration, $"Heartbeat of {request.GroupId} by {request.MemberId}: generation {request.GenerationId}, the group is at {group.GenerationId}");
        }

        switch (group.State)
        {
            case GroupState.Empty:
                return ErrorCode.UnknownMemberId;
            case GroupState.PreparingRebalance:
                member.LastHeartbeatMs = nowMs;
                return ErrorCode.RebalanceInProgress;
            default:
                member.LastHeartbeatMs = nowMs;
                return ErrorCode.None;
        }
    }

    // ---------------------------------------------------------------- LeaveGroup

    /// <summary>LeaveGroup for one or more members (v3+ batches, by member id or group.instance.id). Returns the top-level error and one per member.</summary>
    public (ErrorCode Error, IReadOnlyList<ErrorCode> Members) LeaveGroup(string groupId, IReadOnlyList<(string MemberId, string? GroupInstanceId)> members, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(members);
        return OnGroup<(ErrorCode, IReadOnlyList<ErrorCode>)>(groupId, error => (error, [.. members.Select(_ => error)]), partition =>
        {
            GroupMetadata? group = partition.Get(groupId);
            if (group is null)
            {
                return (ErrorCode.None, [.. members.Select(_ => ErrorCode.UnknownMemberId)]);
            }

            if (group.State == GroupState.Dead)
            {
                return (ErrorCode.CoordinatorNotAvailable, [.. members.Select(_ => ErrorCode.CoordinatorNotAvailable)]);
            }

            var errors = new List<ErrorCode>(members.Count);
            foreach ((string memberId, string? instanceId) in members)
            {
                errors.Add(Leave(group, memberId, instanceId, nowMs));
            }

            return (ErrorCode.None, errors);
        });
    }

    private ErrorCode Leave(GroupMetadata group, string memberId, string? instanceId, long nowMs)
    {
        if (instanceId is not null)
        {
            if (!group.StaticMembers.TryGetValue(instanceId, out string? current))
            {
                return Log(ErrorCode.UnknownMemberId, $"LeaveGroup of {group.GroupId}: instance {instanceId} is unknown");
            }

            if (memberId.Length > 0 && memberId != current)
            {
                return Log(ErrorCode.FencedInstanceId, $"LeaveGroup of {group.GroupId}: instance {instanceId} is now another member than {memberId}");
            }

            RemoveMember(group, current, nowMs, "left the group");
            return ErrorCode.None;
        }

        if (group.PendingMembers.Remove(memberId))
        {
            TryCompleteJoin(group, nowMs);
            return ErrorCode.None;
        }

        if (!group.Members.ContainsKey(memberId))
        {
            return Log(ErrorCode.UnknownMemberId, $"LeaveGroup of {group.GroupId}: member {memberId} is unknown");
        }

        RemoveMember(group, memberId, nowMs, "left the group");
        return ErrorCode.None;
    }

    private void RemoveMember(GroupMetadata group, string memberId, long nowMs, string reason)
    {
        if (!group.Members.TryGetValue(memberId, out MemberMetadata? member))
        {
            return;
        }

        member.AwaitingJoin?.TrySetResult(JoinGroupResult.Failed(ErrorCode.UnknownMemberId, memberId));
        member.AwaitingSync?.TrySetResult(SyncGroupResult.Failed(ErrorCode.UnknownMemberId));
        group.Remove(memberId);
        _logger.LogInformation("Member {Member} of group {Group} {Reason}.", memberId, group.GroupId, reason);
        switch (group.State)
        {
            case GroupState.Stable or GroupState.CompletingRebalance:
                PrepareRebalance(group, nowMs, $"member {memberId} {reason}");
                TryCompleteJoin(group, nowMs);
                break;
            case GroupState.PreparingRebalance:
                TryCompleteJoin(group, nowMs);
                break;
        }
    }

    // ---------------------------------------------------------------- timers

    /// <summary>Runs the timers due at <paramref name="nowMs"/>: pending-member and session expiry, join and sync deadlines, offset expiry.</summary>
    public void Tick(long nowMs)
    {
        bool expireOffsets;
        lock (_expiryGate)
        {
            expireOffsets = nowMs >= _nextOffsetExpiryCheckMs;
            if (expireOffsets)
            {
                _nextOffsetExpiryCheckMs = nowMs + Config.OffsetsRetentionCheckIntervalMs;
            }
        }

        foreach (GroupPartition partition in _manager.Partitions)
        {
            lock (partition.Gate)
            {
                if (partition.State == ErrorCode.None)
                {
                    Tick(partition, nowMs, expireOffsets);
                }
            }

            partition.Appender.Flush();
        }
    }

    private void Tick(GroupPartition partition, long nowMs, bool expireOffsets)
    {
        foreach (GroupMetadata group in partition.Groups.ToList())
        {
            foreach (string pending in group.PendingMembers.Where(p => p.Value <= nowMs).Select(p => p.Key).ToList())
            {
                group.PendingMembers.Remove(pending);
                _logger.LogInformation("Pending member {Member} of group {Group} did not come back in time.", pending, group.GroupId);
            }

            foreach (MemberMetadata expired in group.Members.Values.Where(m => !m.ShouldKeepAlive(nowMs, Config.NewMemberJoinTimeoutMs)).ToList())
            {
                RemoveMember(group, expired.MemberId, nowMs, $"session expired ({expired.SessionTimeoutMs} ms without a heartbeat)");
            }

            if (group.State == GroupState.PreparingRebalance && nowMs >= group.JoinDeadlineMs)
            {
                if (group.InInitialDelay && group.NewMemberAdded && nowMs < group.InitialDelayLimitMs)
                {
                    group.NewMemberAdded = false;
                    group.JoinDeadlineMs = Math.Min(nowMs + Config.InitialRebalanceDelayMs, group.InitialDelayLimitMs);
                }
                else
                {
                    CompleteJoin(group, nowMs);
                }
            }
            else
            {
                TryCompleteJoin(group, nowMs);
            }

            if (group.State == GroupState.CompletingRebalance && nowMs >= group.SyncDeadlineMs)
            {
                foreach (MemberMetadata late in group.Members.Values.Where(m => !m.HasSynced).ToList())
                {
                    RemoveMember(group, late.MemberId, nowMs, "did not send SyncGroup in time");
                }
            }
        }

        if (expireOffsets)
        {
            CleanupExpiredOffsets(partition, nowMs);
        }
    }

    /// <summary>A partition was unloaded: every waiting request of its groups gets <paramref name="error"/>.</summary>
    private static void FailWaiting(GroupMetadata group, ErrorCode error)
    {
        foreach (MemberMetadata m in group.Members.Values)
        {
            m.AwaitingJoin?.TrySetResult(JoinGroupResult.Failed(error, m.MemberId));
            m.AwaitingJoin = null;
            m.AwaitingSync?.TrySetResult(SyncGroupResult.Failed(error));
            m.AwaitingSync = null;
        }
    }

    // ---------------------------------------------------------------- helpers

    private static TaskCompletionSource<JoinGroupResult> NewJoin() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private Task<JoinGroupResult> Reject(ErrorCode error, string memberId, string sentence) =>
        Task.FromResult(JoinGroupResult.Failed(Log(error, sentence), memberId));

    private Task<SyncGroupResult> RejectSync(ErrorCode error, string sentence) => Task.FromResult(SyncGroupResult.Failed(Log(error, sentence)));

    private ErrorCode Log(ErrorCode error, string sentence)
    {
        _logger.LogInformation("{Sentence}: {Error}.", sentence, error);
        return error;
    }

    /// <summary>Queues <paramref name="records"/> of <paramref name="group"/> to its partition's writer (under the partition's lock).</summary>
    private static Task<ErrorCode> Write(GroupMetadata group, IReadOnlyList<GroupLogRecord> records, Action<ErrorCode>? onWritten = null) =>
        group.Owner is { } partition ? partition.Appender.Enqueue(records, onWritten) : Task.FromResult(ErrorCode.NotCoordinator);

    /// <summary>A write nobody waits for (the group became empty, expired offsets…): a failure is logged.</summary>
    private void WriteInBackground(GroupMetadata group, IReadOnlyList<GroupLogRecord> records) =>
        Write(group, records, error =>
        {
            if (error != ErrorCode.None)
            {
                _logger.LogWarning("Writing {Count} records of group {Group} to __consumer_offsets-{Partition} failed: {Error}.", records.Count, group.GroupId, group.Partition, error);
            }
        });
}
