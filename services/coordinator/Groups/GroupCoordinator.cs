using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aspire.Kafka.Coordinator.Groups;

/// <summary>
/// The classic group protocol (Kafka's GroupCoordinator): JoinGroup, SyncGroup, Heartbeat,
/// LeaveGroup and the timers (join deadline, initial rebalance delay, sync deadline, session
/// expiry) as a deterministic state machine. Every call takes the current time in ms; the
/// service calls <see cref="Tick"/> periodically with the clock, tests with the time they want.
/// Answers that wait for others (a join waiting for the rebalance, a follower's sync waiting for
/// the leader) are tasks completed by later calls.
/// </summary>
public sealed partial class GroupCoordinator
{
    private readonly GroupMetadataManager _manager;
    private readonly ILogger _logger;
    private readonly List<(int Partition, List<GroupLogRecord> Records)> _deferredWrites = [];
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

    private long _rebalances;
    private long _offsetsCommitted;

    /// <summary>Groups by state and the number of members, for metrics.</summary>
    public (IReadOnlyDictionary<GroupState, int> Groups, int Members) Snapshot()
    {
        lock (Gate)
        {
            IReadOnlyList<GroupMetadata> groups = _manager.Groups;
            return (groups.GroupBy(g => g.State).ToDictionary(g => g.Key, g => g.Count()), groups.Sum(g => g.Members.Count));
        }
    }

    private GroupConfig Config => _manager.Config;

    private Lock Gate => _manager.Gate;

    // ---------------------------------------------------------------- JoinGroup

    /// <summary>
    /// JoinGroup. <paramref name="version"/> decides KIP-394 (v4+: a new dynamic member first gets
    /// MEMBER_ID_REQUIRED with its id) and the rebalance timeout (v0: the session timeout).
    /// </summary>
    public Task<JoinGroupResult> JoinGroupAsync(JoinGroupRequest request, short version, string clientId, string clientHost, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(request);
        Task<JoinGroupResult> answer;
        GroupLogRecord? persist = null;
        GroupMetadata? persistGroup = null;
        lock (Gate)
        {
            answer = Join(request, version, clientId, clientHost, nowMs, ref persist, ref persistGroup);
        }

        FlushDeferredWrites();
        return persist is not null && persistGroup is not null ? PersistThenAnswerAsync(answer, persistGroup.Partition, persist) : answer;
    }

    private async Task<JoinGroupResult> PersistThenAnswerAsync(Task<JoinGroupResult> answer, int partition, GroupLogRecord persist)
    {
        JoinGroupResult ready = await answer.ConfigureAwait(false);
        ErrorCode error = await AppendAsync(partition, [persist]).ConfigureAwait(false);
        return error == ErrorCode.None ? ready : JoinGroupResult.Failed(error, ready.MemberId);
    }

    private Task<JoinGroupResult> Join(JoinGroupRequest request, short version, string clientId, string clientHost, long nowMs,
        ref GroupLogRecord? persist, ref GroupMetadata? persistGroup)
    {
        string groupId = request.GroupId;
        string memberId = request.MemberId ?? "";
        List<GroupProtocol> protocols = [.. request.Protocols.Select(p => new GroupProtocol(p.Name, p.Metadata))];
        int rebalanceTimeoutMs = version == 0 || request.RebalanceTimeoutMs < 0 ? request.SessionTimeoutMs : request.RebalanceTimeoutMs;
        if (string.IsNullOrEmpty(groupId))
        {
            return Reject(ErrorCode.InvalidGroupId, memberId, "JoinGroup without a group id");
        }

        if (groupId == GroupRecords.ClaimGroupId)
        {
            return Reject(ErrorCode.InvalidGroupId, memberId, $"JoinGroup for the reserved group id {GroupRecords.ClaimGroupId}");
        }

        ErrorCode ownership = _manager.CheckOwnership(groupId);
        if (ownership != ErrorCode.None)
        {
            return Task.FromResult(JoinGroupResult.Failed(ownership, memberId));
        }

        if (request.SessionTimeoutMs < Config.MinSessionTimeoutMs || request.SessionTimeoutMs > Config.MaxSessionTimeoutMs)
        {
            return Reject(ErrorCode.InvalidSessionTimeout, memberId,
                $"JoinGroup of {groupId} asks for session timeout {request.SessionTimeoutMs} ms, outside [{Config.MinSessionTimeoutMs}, {Config.MaxSessionTimeoutMs}]");
        }

        GroupMetadata? group = _manager.Get(groupId);
        if (group is null)
        {
            if (memberId.Length > 0)
            {
                return Reject(ErrorCode.UnknownMemberId, memberId, $"JoinGroup of {groupId} by member {memberId}: the group does not exist");
            }

            if (request.ProtocolType.Length == 0 || protocols.Count == 0)
            {
                return Reject(ErrorCode.InconsistentGroupProtocol, memberId, $"JoinGroup of {groupId} without a protocol type or protocols");
            }

            group = _manager.GetOrCreate(groupId, nowMs);
        }

        if (group.State == GroupState.Dead)
        {
            return Task.FromResult(JoinGroupResult.Failed(ErrorCode.CoordinatorNotAvailable, memberId));
        }

        if (!group.SupportsProtocols(request.ProtocolType, protocols))
        {
            return Reject(ErrorCode.InconsistentGroupProtocol, memberId,
                $"JoinGroup of {groupId}: protocol type {request.ProtocolType} / [{string.Join(',', protocols.Select(p => p.Name))}] does not fit the group's members");
        }

        var join = new JoinArgs(memberId, request.GroupInstanceId, clientId, clientHost, rebalanceTimeoutMs, request.SessionTimeoutMs, request.ProtocolType, protocols);
        return memberId.Length == 0
            ? JoinUnknownMember(group, join, requireKnownMemberId: version >= 4, nowMs, ref persist, ref persistGroup)
            : JoinKnownMember(group, join, nowMs);
    }

    private sealed record JoinArgs(string MemberId, string? GroupInstanceId, string ClientId, string ClientHost, int RebalanceTimeoutMs, int SessionTimeoutMs,
        string ProtocolType, IReadOnlyList<GroupProtocol> Protocols);

    private Task<JoinGroupResult> JoinUnknownMember(GroupMetadata group, JoinArgs join, bool requireKnownMemberId, long nowMs,
        ref GroupLogRecord? persist, ref GroupMetadata? persistGroup)
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
                // Same subscription: no rebalance; it gets the current generation back.
                persist = GroupRecords.Group(group);
                persistGroup = group;
                return Task.FromResult(CurrentGeneration(group, newMemberId, skipAssignment: true));
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
            Defer(group.Partition, GroupRecords.Group(group));
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

    public Task<SyncGroupResult> SyncGroupAsync(SyncGroupRequest request, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(request);
        Task<SyncGroupResult> answer;
        GroupMetadata? group;
        GroupLogRecord? persist = null;
        int generation = -1;
        lock (Gate)
        {
            group = _manager.Get(request.GroupId);
            answer = Sync(request, group, nowMs, ref persist, ref generation);
        }

        return persist is not null && group is not null ? StoreAssignmentAsync(answer, group, persist, generation, nowMs) : answer;
    }

    /// <summary>The leader's assignment is written (acks=all) before any member sees it; a failed write fails the syncs and restarts the rebalance.</summary>
    private async Task<SyncGroupResult> StoreAssignmentAsync(Task<SyncGroupResult> answer, GroupMetadata group, GroupLogRecord persist, int generation, long nowMs)
    {
        ErrorCode error = await AppendAsync(group.Partition, [persist]).ConfigureAwait(false);
        lock (Gate)
        {
            if (_manager.IsCurrent(group) && group.State == GroupState.CompletingRebalance && group.GenerationId == generation)
            {
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
        }

        FlushDeferredWrites();
        return await answer.ConfigureAwait(false);
    }

    private Task<SyncGroupResult> Sync(SyncGroupRequest request, GroupMetadata? group, long nowMs, ref GroupLogRecord? persist, ref int generation)
    {
        ErrorCode ownership = _manager.CheckOwnership(request.GroupId);
        if (ownership != ErrorCode.None)
        {
            return Task.FromResult(SyncGroupResult.Failed(ownership));
        }

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
                    foreach (SyncGroupRequest.SyncGroupRequestAssignment a in request.Assignments)
                    {
                        assignments[a.MemberId] = a.Assignment;
                    }

                    foreach (MemberMetadata m in group.Members.Values)
                    {
                        m.Assignment = assignments.GetValueOrDefault(m.MemberId) ?? [];
                    }

                    persist = GroupRecords.Group(group);
                    generation = group.GenerationId;
                }

                return task;
        }
    }

    // ---------------------------------------------------------------- Heartbeat

    public ErrorCode Heartbeat(HeartbeatRequest request, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (Gate)
        {
            ErrorCode ownership = _manager.CheckOwnership(request.GroupId);
            if (ownership != ErrorCode.None)
            {
                return ownership;
            }

            GroupMetadata? group = _manager.Get(request.GroupId);
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
    }

    // ---------------------------------------------------------------- LeaveGroup

    /// <summary>LeaveGroup for one or more members (v3+ batches, by member id or group.instance.id). Returns the top-level error and one per member.</summary>
    public (ErrorCode Error, IReadOnlyList<ErrorCode> Members) LeaveGroup(string groupId, IReadOnlyList<(string MemberId, string? GroupInstanceId)> members, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(members);
        try
        {
            lock (Gate)
            {
                ErrorCode ownership = _manager.CheckOwnership(groupId);
                if (ownership != ErrorCode.None)
                {
                    return (ownership, [.. members.Select(_ => ownership)]);
                }

                GroupMetadata? group = _manager.Get(groupId);
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
            }
        }
        finally
        {
            FlushDeferredWrites();
        }
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
        lock (Gate)
        {
            foreach (GroupMetadata group in _manager.Groups)
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

            if (nowMs >= _nextOffsetExpiryCheckMs)
            {
                _nextOffsetExpiryCheckMs = nowMs + Config.OffsetsRetentionCheckIntervalMs;
                CleanupExpiredOffsets(nowMs);
            }
        }

        FlushDeferredWrites();
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

    private void Defer(int partition, GroupLogRecord record)
    {
        (int Partition, List<GroupLogRecord> Records) batch = _deferredWrites.FirstOrDefault(w => w.Partition == partition);
        if (batch.Records is null)
        {
            _deferredWrites.Add((partition, [record]));
        }
        else
        {
            batch.Records.Add(record);
        }
    }

    /// <summary>Starts the writes decided under the lock (group became empty, expired offsets…); failures are logged.</summary>
    private void FlushDeferredWrites()
    {
        List<(int Partition, List<GroupLogRecord> Records)> writes;
        lock (Gate)
        {
            if (_deferredWrites.Count == 0)
            {
                return;
            }

            writes = [.. _deferredWrites];
            _deferredWrites.Clear();
        }

        foreach ((int partition, List<GroupLogRecord> records) in writes)
        {
            _ = WriteInBackgroundAsync(partition, records);
        }
    }

    private async Task WriteInBackgroundAsync(int partition, List<GroupLogRecord> records)
    {
        ErrorCode error = await AppendAsync(partition, records).ConfigureAwait(false);
        if (error != ErrorCode.None)
        {
            _logger.LogWarning("Writing {Count} records to __consumer_offsets-{Partition} failed: {Error}.", records.Count, partition, error);
        }
    }

    /// <summary>Appends with acks=all within offsets.commit.timeout.ms; NONE, or the error the clients should see.</summary>
    private async Task<ErrorCode> AppendAsync(int partition, IReadOnlyList<GroupLogRecord> records)
    {
        if (_manager.OwnedEpoch(partition) is not { } epoch)
        {
            return ErrorCode.NotCoordinator;
        }

        using var timeout = new CancellationTokenSource(Config.CommitTimeoutMs);
        try
        {
            await _manager.Log.AppendAsync(partition, epoch, records, timeout.Token).ConfigureAwait(false);
            lock (Gate)
            {
                return _manager.OwnedEpoch(partition) == epoch ? ErrorCode.None : ErrorCode.NotCoordinator;
            }
        }
        catch (CoordinatorFencedException e)
        {
            // A newer owner wrote the partition (the controller moved it while this node could not
            // hear it): stop serving its groups; clients look the coordinator up again.
            _logger.LogWarning("{Message} Unloading it.", e.Message);
            if (_manager.OwnedEpoch(partition) == epoch)
            {
                _manager.UnloadPartition(partition);
            }

            return ErrorCode.NotCoordinator;
        }
        catch (Exception e)
        {
            _logger.LogWarning("Appending to __consumer_offsets-{Partition} failed: {Message}", partition, e.Message);
            lock (Gate)
            {
                return _manager.OwnedPartitions.Contains(partition) ? ErrorCode.CoordinatorNotAvailable : ErrorCode.NotCoordinator;
            }
        }
    }
}
