using Aspire.Kafka.Protocol;

namespace Aspire.Kafka.Coordinator.Groups;

// The coordinator's arguments and results: no wire types and no versions. Apis/ApiNN*.cs translate
// each version of a request into these and the results back into that version's response.

/// <summary>A JoinGroup as the coordinator sees it.</summary>
/// <param name="RebalanceTimeoutMs">As the member asked (JoinGroup v0, which has none: its session timeout).</param>
/// <param name="RequireKnownMemberId">KIP-394: a new dynamic member first gets MEMBER_ID_REQUIRED with its id (JoinGroup v4+).</param>
public sealed record JoinGroupArgs(
    string GroupId,
    string MemberId,
    string? GroupInstanceId,
    int SessionTimeoutMs,
    int RebalanceTimeoutMs,
    string ProtocolType,
    IReadOnlyList<GroupProtocol> Protocols,
    bool RequireKnownMemberId,
    string ClientId,
    string ClientHost);

/// <summary>A SyncGroup: the leader's <paramref name="Assignments"/> (member id → assignment), empty for followers.</summary>
public sealed record SyncGroupArgs(
    string GroupId,
    string MemberId,
    int GenerationId,
    string? GroupInstanceId,
    string? ProtocolType,
    string? ProtocolName,
    IReadOnlyList<(string MemberId, byte[] Assignment)> Assignments);

/// <summary>A Heartbeat.</summary>
public sealed record HeartbeatArgs(string GroupId, string MemberId, int GenerationId, string? GroupInstanceId);

/// <summary>An OffsetCommit: a negative <paramref name="GenerationId"/> on an empty or unknown group is a standalone commit.</summary>
public sealed record OffsetCommitArgs(string GroupId, int GenerationId, string MemberId, string? GroupInstanceId, IReadOnlyList<OffsetToCommit> Offsets);

/// <summary>One partition's offset to commit.</summary>
/// <param name="CommitTimestamp">The client's commit time (OffsetCommit v1), or -1: the coordinator's clock.</param>
/// <param name="RetentionMs">Keep it this long after the commit (OffsetCommit v2–v4), or -1: the configured retention.</param>
public sealed record OffsetToCommit(string Topic, int Partition, long Offset, int LeaderEpoch, string Metadata, long CommitTimestamp, long RetentionMs);

/// <summary>The committed offsets OffsetFetch asked for (or all of the group's), by topic.</summary>
public sealed record OffsetFetchResult(ErrorCode Error, IReadOnlyList<TopicOffsets> Topics);

/// <summary>One topic's partitions and their committed offsets (null: nothing committed).</summary>
public sealed record TopicOffsets(string Topic, IReadOnlyList<(int Partition, CommittedOffset? Offset)> Partitions);

/// <summary>A group as ListGroups lists it.</summary>
public sealed record GroupOverview(string GroupId, string ProtocolType, GroupState State, string GroupType);

/// <summary>A group as DescribeGroups describes it (protocol, metadata and assignments only when Stable).</summary>
public sealed record GroupDescription(string GroupId, ErrorCode Error, string State, string ProtocolType, string ProtocolData, IReadOnlyList<MemberDescription> Members)
{
    public static GroupDescription Failed(string groupId, ErrorCode error) => new(groupId, error, "", "", "", []);
}

/// <summary>A member as DescribeGroups describes it.</summary>
public sealed record MemberDescription(string MemberId, string? GroupInstanceId, string ClientId, string ClientHost, byte[] Metadata, byte[] Assignment);

/// <summary>What OffsetDelete answers: a group-level error and one per requested partition.</summary>
public sealed record OffsetDeleteResult(ErrorCode Error, IReadOnlyList<(string Topic, int Partition, ErrorCode Error)> Partitions);
