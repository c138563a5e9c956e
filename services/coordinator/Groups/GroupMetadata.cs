using System.Diagnostics;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.ServiceDefaults.Kafka;

namespace Aspire.Kafka.Coordinator.Groups;

/// <summary>Kafka's group states (classic protocol).</summary>
public enum GroupState
{
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

/// <summary>One protocol a member supports (the assignor name and its subscription bytes).</summary>
public sealed record GroupProtocol(string Name, byte[] Metadata);

/// <summary>A committed offset as stored (OffsetCommitValue).</summary>
public sealed record CommittedOffset(long Offset, int LeaderEpoch, string Metadata, long CommitTimestamp, long ExpireTimestamp);

/// <summary>What a JoinGroup answers; the API shapes it per version.</summary>
public sealed record JoinGroupResult(
    ErrorCode Error,
    int GenerationId,
    string? ProtocolType,
    string? ProtocolName,
    string LeaderId,
    string MemberId,
    IReadOnlyList<JoinedMember> Members,
    bool SkipAssignment = false)
{
    public static JoinGroupResult Failed(ErrorCode error, string memberId = "") => new(error, -1, null, null, "", memberId, []);
}

/// <summary>A member as the leader sees it in its JoinGroup response.</summary>
public sealed record JoinedMember(string MemberId, string? GroupInstanceId, byte[] Metadata);

/// <summary>What a SyncGroup answers.</summary>
public sealed record SyncGroupResult(ErrorCode Error, string? ProtocolType, string? ProtocolName, byte[] Assignment)
{
    public static SyncGroupResult Failed(ErrorCode error) => new(error, null, null, []);
}

/// <summary>A member of a group (Kafka's MemberMetadata).</summary>
public sealed class MemberMetadata
{
    public MemberMetadata(string memberId, string? groupInstanceId, string clientId, string clientHost, int rebalanceTimeoutMs, int sessionTimeoutMs, string protocolType, IReadOnlyList<GroupProtocol> protocols)
    {
        MemberId = memberId;
        GroupInstanceId = groupInstanceId;
        ClientId = clientId;
        ClientHost = clientHost;
        RebalanceTimeoutMs = rebalanceTimeoutMs;
        SessionTimeoutMs = sessionTimeoutMs;
        ProtocolType = protocolType;
        Protocols = protocols;
    }

    public string MemberId { get; set; }

    public string? GroupInstanceId { get; }

    public string ClientId { get; set; }

    public string ClientHost { get; set; }

    public int RebalanceTimeoutMs { get; set; }

    public int SessionTimeoutMs { get; set; }

    public string ProtocolType { get; }

    public IReadOnlyList<GroupProtocol> Protocols { get; set; }

    public byte[] Assignment { get; set; } = [];

    public long LastHeartbeatMs { get; set; }

    /// <summary>Joined for the first time and not yet part of a generation.</summary>
    public bool IsNew { get; set; }

    /// <summary>Sent SyncGroup in the current CompletingRebalance phase.</summary>
    public bool HasSynced { get; set; }

    public TaskCompletionSource<JoinGroupResult>? AwaitingJoin { get; set; }

    public TaskCompletionSource<SyncGroupResult>? AwaitingSync { get; set; }

    public bool IsStatic => GroupInstanceId is not null;

    public byte[] MetadataFor(string? protocol) => Protocols.FirstOrDefault(p => p.Name == protocol)?.Metadata ?? [];

    /// <summary>Same protocols, same order, same bytes (Kafka's MemberMetadata.matches).</summary>
    public bool Matches(IReadOnlyList<GroupProtocol> protocols) =>
        protocols.Count == Protocols.Count
        && protocols.Zip(Protocols).All(p => p.First.Name == p.Second.Name && p.First.Metadata.AsSpan().SequenceEqual(p.Second.Metadata));

    /// <summary>Kafka's shouldKeepAlive: a member waiting in a join or a sync stays; otherwise its heartbeats must be recent.</summary>
    public bool ShouldKeepAlive(long nowMs, int newMemberJoinTimeoutMs)
    {
        if (AwaitingJoin is not null)
        {
            return !IsNew || LastHeartbeatMs + newMemberJoinTimeoutMs > nowMs;
        }

        return AwaitingSync is not null || LastHeartbeatMs + SessionTimeoutMs > nowMs;
    }
}

/// <summary>A group: membership, generation, protocol and committed offsets (Kafka's GroupMetadata).</summary>
public sealed class GroupMetadata
{
    private readonly List<string> _order = [];

    public GroupMetadata(string groupId, int partition, long nowMs)
    {
        GroupId = groupId;
        Partition = partition;
        CurrentStateTimestamp = nowMs;
    }

    public string GroupId { get; }

    /// <summary>Its <c>__consumer_offsets</c> partition.</summary>
    public int Partition { get; }

    /// <summary>The owned partition that holds it (whose lock guards it and whose writer writes its records); null outside a coordinator.</summary>
    internal GroupPartition? Owner { get; set; }

    public GroupState State { get; private set; } = GroupState.Empty;

    public long CurrentStateTimestamp { get; private set; }

    public int GenerationId { get; set; }

    public string? ProtocolType { get; set; }

    public string? ProtocolName { get; set; }

    public string? LeaderId { get; set; }

    public Dictionary<string, MemberMetadata> Members { get; } = new(StringComparer.Ordinal);

    /// <summary>group.instance.id → its current member id.</summary>
    public Dictionary<string, string> StaticMembers { get; } = new(StringComparer.Ordinal);

    /// <summary>Member ids handed out with MEMBER_ID_REQUIRED and their expiry (KIP-394).</summary>
    public Dictionary<string, long> PendingMembers { get; } = new(StringComparer.Ordinal);

    public Dictionary<(string Topic, int Partition), CommittedOffset> Offsets { get; } = [];

    /// <summary>When the current join phase ends (PreparingRebalance).</summary>
    public long JoinDeadlineMs { get; set; }

    /// <summary>The initial-delay phase of an empty group's first rebalance (Kafka's InitialDelayedJoin).</summary>
    public bool InInitialDelay { get; set; }

    public bool NewMemberAdded { get; set; }

    public long InitialDelayLimitMs { get; set; }

    /// <summary>When the members must have synced (CompletingRebalance).</summary>
    public long SyncDeadlineMs { get; set; }

    public bool IsEmpty => Members.Count == 0;

    public IEnumerable<MemberMetadata> MembersInOrder => _order.Select(id => Members[id]);

    /// <param name="reason">Why a rebalance starts (PreparingRebalance only): on the rebalance span.</param>
    public void TransitionTo(GroupState state, long nowMs, string? reason = null)
    {
        GroupState previous = State;
        State = state;
        CurrentStateTimestamp = nowMs;
        if (state != previous && (_rebalance is not null || state == GroupState.PreparingRebalance))
        {
            TraceRebalance(state, reason);
        }
    }

    // The "kafka.group.rebalance" span while a rebalance is under way (null when nobody samples it).
    private Activity? _rebalance;

    private void TraceRebalance(GroupState state, string? reason)
    {
        switch (state)
        {
            case GroupState.PreparingRebalance when _rebalance is null:
                // The request that triggered it (JoinGroup, LeaveGroup…) is linked; the rebalance
                // outlives it and is a trace of its own.
                ActivityContext trigger = Activity.Current?.Context ?? default;
                _rebalance = CoordinatorTelemetry.ActivitySource.StartRootActivity(RebalanceSpanName, ActivityKind.Internal,
                    trigger == default ? null : [new ActivityLink(trigger)]);
                if (_rebalance is { IsAllDataRequested: true } span)
                {
                    span.SetTag("kafka.group.id", GroupId);
                    span.SetTag("kafka.group.generation.previous", GenerationId);
                    span.SetTag("kafka.group.rebalance.reason", reason);
                }

                break;
            case GroupState.PreparingRebalance:
                _rebalance?.AddEvent(new ActivityEvent("restarted", tags: new ActivityTagsCollection { ["kafka.group.rebalance.reason"] = reason }));
                break;
            case GroupState.CompletingRebalance:
                _rebalance?.AddEvent(new ActivityEvent("join_completed", tags: new ActivityTagsCollection
                {
                    ["kafka.group.generation"] = GenerationId,
                    ["kafka.group.members"] = Members.Count,
                }));
                break;
            default: // Stable, Empty, Dead: the rebalance is over
                EndRebalance(state.ToString());
                break;
        }
    }

    /// <summary>Ends the rebalance span, if any, in <paramref name="outcome"/> (a state, or Unloaded).</summary>
    internal void EndRebalance(string outcome)
    {
        if (_rebalance is not { } span)
        {
            return;
        }

        _rebalance = null;
        if (span.IsAllDataRequested)
        {
            span.SetTag("kafka.group.generation", GenerationId);
            span.SetTag("kafka.group.members", Members.Count);
            span.SetTag("kafka.group.protocol", ProtocolName);
            span.SetTag("kafka.group.state", outcome);
        }

        span.Dispose();
    }

    private const string RebalanceSpanName = "kafka.group.rebalance";

    public void Add(MemberMetadata member)
    {
        if (Members.Count == 0)
        {
            ProtocolType = member.ProtocolType;
        }

        Members[member.MemberId] = member;
        _order.Add(member.MemberId);
        if (member.GroupInstanceId is { } instance)
        {
            StaticMembers[instance] = member.MemberId;
        }

        LeaderId ??= member.MemberId;
    }

    public void Remove(string memberId)
    {
        if (!Members.Remove(memberId, out MemberMetadata? member))
        {
            return;
        }

        _order.Remove(memberId);
        if (member.GroupInstanceId is { } instance && StaticMembers.GetValueOrDefault(instance) == memberId)
        {
            StaticMembers.Remove(instance);
        }

        if (LeaderId == memberId)
        {
            LeaderId = _order.Count > 0 ? _order[0] : null;
        }
    }

    /// <summary>A static member restarting: the old id is replaced by the new one, keeping its place and assignment.</summary>
    public void ReplaceStaticMember(string oldMemberId, string newMemberId)
    {
        MemberMetadata member = Members[oldMemberId];
        Members.Remove(oldMemberId);
        member.MemberId = newMemberId;
        Members[newMemberId] = member;
        _order[_order.IndexOf(oldMemberId)] = newMemberId;
        StaticMembers[member.GroupInstanceId!] = newMemberId;
        if (LeaderId == oldMemberId)
        {
            LeaderId = newMemberId;
        }
    }

    /// <summary>FENCED_INSTANCE_ID: the instance id is known under another member id.</summary>
    public bool IsStaticMemberFenced(string memberId, string? groupInstanceId) =>
        groupInstanceId is not null && StaticMembers.TryGetValue(groupInstanceId, out string? current) && current != memberId;

    public bool HasAllMembersJoined => Members.Values.All(m => m.AwaitingJoin is not null) && PendingMembers.Count == 0;

    public int MaxRebalanceTimeoutMs => Members.Count == 0 ? 0 : Members.Values.Max(m => m.RebalanceTimeoutMs);

    /// <summary>Whether a join with these protocols fits the group (Kafka's supportsProtocols).</summary>
    public bool SupportsProtocols(string protocolType, IReadOnlyList<GroupProtocol> protocols)
    {
        if (protocolType.Length == 0 || protocols.Count == 0)
        {
            return false;
        }

        if (IsEmpty)
        {
            return true;
        }

        return protocolType == ProtocolType && protocols.Any(p => Members.Values.All(m => m.Protocols.Any(mp => mp.Name == p.Name)));
    }

    /// <summary>The protocol every member supports that most members prefer (ties: the leader's order).</summary>
    public string SelectProtocol()
    {
        List<MemberMetadata> members = [.. MembersInOrder];
        MemberMetadata first = LeaderId is not null && Members.TryGetValue(LeaderId, out MemberMetadata? leader) ? leader : members[0];
        List<string> candidates = [.. first.Protocols.Select(p => p.Name).Where(name => members.All(m => m.Protocols.Any(p => p.Name == name)))];
        var votes = candidates.ToDictionary(c => c, _ => 0, StringComparer.Ordinal);
        foreach (MemberMetadata member in members)
        {
            string vote = member.Protocols.Select(p => p.Name).First(votes.ContainsKey);
            votes[vote]++;
        }

        return candidates.OrderByDescending(c => votes[c]).First();
    }

    /// <summary>The topics the members subscribe to, when the group speaks the consumer protocol (else null: unknown).</summary>
    public HashSet<string>? SubscribedTopics()
    {
        if (ProtocolType != "consumer" || ProtocolName is null)
        {
            return null;
        }

        var topics = new HashSet<string>(StringComparer.Ordinal);
        foreach (MemberMetadata member in Members.Values)
        {
            IReadOnlyList<string>? subscribed = ConsumerProtocol.ReadSubscriptionTopics(member.MetadataFor(ProtocolName));
            if (subscribed is null)
            {
                return null;
            }

            topics.UnionWith(subscribed);
        }

        return topics;
    }
}

/// <summary>The consumer protocol's subscription (ConsumerProtocolSubscription): int16 version, then the topic names.</summary>
public static class ConsumerProtocol
{
    public static IReadOnlyList<string>? ReadSubscriptionTopics(byte[] metadata)
    {
        try
        {
            var reader = new KafkaReader(metadata);
            short version = reader.ReadInt16();
            if (version < 0)
            {
                return null;
            }

            int count = reader.ReadInt32();
            var topics = new List<string>(Math.Max(0, count));
            for (int i = 0; i < count; i++)
            {
                topics.Add(reader.ReadString("topic", nullable: false)!);
            }

            return topics;
        }
        catch (Exception e) when (e is KafkaProtocolException or ArgumentException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
