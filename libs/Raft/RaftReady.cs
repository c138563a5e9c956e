namespace Aspire.Kafka.Raft;

/// <summary>Something the host should know about, in the order it happened.</summary>
public abstract record RaftEvent;

/// <summary>The node changed role, epoch or leader.</summary>
public sealed record RoleChanged(RaftRole Role, int Epoch, int LeaderId) : RaftEvent
{
    public override string ToString() => $"role {Role} epoch={Epoch} leader={LeaderId}";
}

/// <summary>The high watermark (exclusive committed offset) advanced: entries below it are committed and may be applied.</summary>
public sealed record HighWatermarkAdvanced(long HighWatermark) : RaftEvent
{
    public override string ToString() => $"hw {HighWatermark}";
}

/// <summary>The log was truncated to <see cref="Offset"/> (uncommitted entries from an old leader were dropped).</summary>
public sealed record LogTruncated(long Offset) : RaftEvent
{
    public override string ToString() => $"truncated to {Offset}";
}

/// <summary>A snapshot fetched from the leader replaced the log: the host loads its state from it (the log holds it).</summary>
public sealed record SnapshotInstalled(SnapshotId SnapshotId) : RaftEvent
{
    public override string ToString() => $"snapshot installed {SnapshotId}";
}

/// <summary>
/// What the host must do after feeding the core, in this order:
/// 1. write <see cref="ElectionStateToPersist"/> durably (the quorum-state file) when set;
/// 2. call <see cref="IRaftLog.Flush"/> when <see cref="FlushLog"/> is set;
/// 3. then send <see cref="Messages"/> (never before 1 and 2: a vote grant or a fetch position
///    must not leave the node before what it promises is on disk);
/// 4. handle <see cref="Events"/>;
/// 5. call <see cref="KafkaRaftCore.Advance"/> with this Ready.
/// </summary>
public sealed class RaftReady
{
    public ElectionState? ElectionStateToPersist { get; init; }

    public bool FlushLog { get; init; }

    /// <summary>The log end offset the flush covers.</summary>
    public long FlushEndOffset { get; init; }

    public IReadOnlyList<RaftEnvelope> Messages { get; init; } = [];

    public IReadOnlyList<RaftEvent> Events { get; init; } = [];

    public bool IsEmpty => ElectionStateToPersist is null && !FlushLog && Messages.Count == 0 && Events.Count == 0;
}

/// <summary>The answer to <see cref="KafkaRaftCore.Propose"/>: the offsets given to the records, or an error with the leader known.</summary>
public readonly record struct ProposeResult(short ErrorCode, long BaseOffset, long LastOffset, int Epoch, int LeaderId)
{
    public bool Succeeded => ErrorCode == RaftErrors.None;
}

/// <summary>One replica as the leader sees it (DescribeQuorum).</summary>
public sealed record ReplicaDescription(int ReplicaId, long LogEndOffset, long LastFetchTimestamp, long LastCaughtUpTimestamp);

/// <summary>The leader's view of the quorum (DescribeQuorum).</summary>
public sealed record QuorumDescription(
    short ErrorCode,
    int LeaderId,
    int LeaderEpoch,
    long HighWatermark,
    IReadOnlyList<ReplicaDescription> Voters,
    IReadOnlyList<ReplicaDescription> Observers);
