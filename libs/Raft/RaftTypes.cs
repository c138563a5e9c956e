namespace Aspire.Kafka.Raft;

/// <summary>What a log entry carries: a data record from <see cref="KafkaRaftCore.Propose"/> or a control record.</summary>
public enum RaftEntryKind : byte
{
    Data = 0,

    /// <summary>The LeaderChange control record a new leader appends at the start of its epoch.</summary>
    LeaderChange = 1,
}

/// <summary>One entry of the metadata log: its offset, the epoch of the leader that appended it, and opaque bytes.</summary>
public sealed record RaftEntry(long Offset, int Epoch, ReadOnlyMemory<byte> Payload, RaftEntryKind Kind = RaftEntryKind.Data)
{
    /// <summary>Bytes an entry counts for against fetch size limits (payload plus a record batch header).</summary>
    public int SizeInBytes => Payload.Length + 70;

    public bool SameContent(RaftEntry other) =>
        Offset == other.Offset && Epoch == other.Epoch && Kind == other.Kind && Payload.Span.SequenceEqual(other.Payload.Span);

    public override string ToString() => $"{Offset}@{Epoch}:{(Kind == RaftEntryKind.LeaderChange ? "<leader-change>" : System.Text.Encoding.UTF8.GetString(Payload.Span))}";
}

/// <summary>An offset paired with an epoch, as Kafka's OffsetAndEpoch (end offsets are exclusive).</summary>
public readonly record struct OffsetAndEpoch(long Offset, int Epoch)
{
    public override string ToString() => $"{Offset}@{Epoch}";
}

/// <summary>A snapshot's id: it holds every entry below <see cref="EndOffset"/>; <see cref="Epoch"/> is the epoch of the last one.</summary>
public readonly record struct SnapshotId(long EndOffset, int Epoch)
{
    public override string ToString() => $"{EndOffset}@{Epoch}";
}

/// <summary>
/// The election state persisted in the <c>quorum-state</c> file: the epoch, the leader known in it
/// (-1 when none) and the voter this node voted for in it (-1 when none).
/// </summary>
public sealed record ElectionState(int Epoch, int LeaderId = -1, int VotedId = -1)
{
    public static ElectionState Initial { get; } = new(0);

    public override string ToString() => $"epoch={Epoch} leader={LeaderId} voted={VotedId}";
}

/// <summary>The role a node plays in its current epoch (Kafka's EpochState implementations).</summary>
public enum RaftRole
{
    /// <summary>Knows the epoch but neither a leader nor its own vote (UnattachedState).</summary>
    Unattached,

    /// <summary>Voted for a candidate in this epoch (VotedState; Kafka 3.x).</summary>
    Voted,

    /// <summary>Fetches from a known leader (FollowerState). Observers are always Unattached or Follower.</summary>
    Follower,

    /// <summary>Asks for votes in its epoch (CandidateState).</summary>
    Candidate,

    /// <summary>Leads this epoch (LeaderState).</summary>
    Leader,

    /// <summary>Was leader of this epoch and gave it up or restarted (ResignedState).</summary>
    Resigned,
}
