namespace Aspire.Kafka.Raft;

/// <summary>
/// A KIP-595 RPC as the core sees it: the fields of the one partition (<c>__cluster_metadata-0</c>)
/// of the Kafka message, mapped 1:1 to the generated protocol classes by <see cref="RaftMessageCodec"/>.
/// </summary>
public abstract record RaftMessage
{
    public abstract bool IsRequest { get; }
}

/// <summary>A message between two nodes. A response carries the correlation id of its request.</summary>
public sealed record RaftEnvelope(int Source, int Destination, long CorrelationId, RaftMessage Message)
{
    public override string ToString() => $"{Source}->{Destination} #{CorrelationId} {Message}";
}

public sealed record VoteRequestData(int CandidateEpoch, int CandidateId, int LastOffsetEpoch, long LastOffset) : RaftMessage
{
    public override bool IsRequest => true;

    public override string ToString() => $"Vote(epoch={CandidateEpoch} candidate={CandidateId} last={LastOffset}@{LastOffsetEpoch})";
}

public sealed record VoteResponseData(short ErrorCode, int LeaderId, int LeaderEpoch, bool VoteGranted) : RaftMessage
{
    public override bool IsRequest => false;

    public override string ToString() => $"VoteResponse({(ErrorCode == 0 ? "" : RaftErrors.Name(ErrorCode) + " ")}epoch={LeaderEpoch} leader={LeaderId} granted={VoteGranted})";
}

public sealed record BeginQuorumEpochRequestData(int LeaderId, int LeaderEpoch) : RaftMessage
{
    public override bool IsRequest => true;

    public override string ToString() => $"BeginQuorumEpoch(epoch={LeaderEpoch} leader={LeaderId})";
}

public sealed record BeginQuorumEpochResponseData(short ErrorCode, int LeaderId, int LeaderEpoch) : RaftMessage
{
    public override bool IsRequest => false;

    public override string ToString() => $"BeginQuorumEpochResponse({(ErrorCode == 0 ? "" : RaftErrors.Name(ErrorCode) + " ")}epoch={LeaderEpoch} leader={LeaderId})";
}

public sealed record EndQuorumEpochRequestData(int LeaderId, int LeaderEpoch, IReadOnlyList<int> PreferredSuccessors) : RaftMessage
{
    public override bool IsRequest => true;

    public override string ToString() => $"EndQuorumEpoch(epoch={LeaderEpoch} leader={LeaderId} successors=[{string.Join(',', PreferredSuccessors)}])";

    public bool Equals(EndQuorumEpochRequestData? other) =>
        other is not null && LeaderId == other.LeaderId && LeaderEpoch == other.LeaderEpoch && PreferredSuccessors.SequenceEqual(other.PreferredSuccessors);

    public override int GetHashCode() => HashCode.Combine(LeaderId, LeaderEpoch, PreferredSuccessors.Count);
}

public sealed record EndQuorumEpochResponseData(short ErrorCode, int LeaderId, int LeaderEpoch) : RaftMessage
{
    public override bool IsRequest => false;

    public override string ToString() => $"EndQuorumEpochResponse({(ErrorCode == 0 ? "" : RaftErrors.Name(ErrorCode) + " ")}epoch={LeaderEpoch} leader={LeaderId})";
}

/// <summary>Fetch from a follower (voter) or observer: Kafka's FetchRequest with ReplicaId/ReplicaState.</summary>
public sealed record FetchRequestData(int ReplicaId, int CurrentLeaderEpoch, long FetchOffset, int LastFetchedEpoch, int MaxWaitMs, int MaxBytes) : RaftMessage
{
    public override bool IsRequest => true;

    public override string ToString() => $"Fetch(replica={ReplicaId} epoch={CurrentLeaderEpoch} offset={FetchOffset} lastFetchedEpoch={LastFetchedEpoch})";
}

public sealed record FetchResponseData(
    short ErrorCode,
    int LeaderId,
    int LeaderEpoch,
    long HighWatermark,
    long LogStartOffset,
    OffsetAndEpoch? DivergingEpoch,
    SnapshotId? SnapshotId,
    IReadOnlyList<RaftEntry> Entries) : RaftMessage
{
    public override bool IsRequest => false;

    public override string ToString()
    {
        var text = new System.Text.StringBuilder("FetchResponse(");
        if (ErrorCode != 0)
        {
            text.Append(RaftErrors.Name(ErrorCode)).Append(' ');
        }

        text.Append("epoch=").Append(LeaderEpoch).Append(" leader=").Append(LeaderId).Append(" hw=").Append(HighWatermark);
        if (DivergingEpoch is { } d)
        {
            text.Append(" diverging=").Append(d);
        }

        if (SnapshotId is { } s)
        {
            text.Append(" snapshot=").Append(s);
        }

        if (Entries.Count > 0)
        {
            text.Append(" entries=[").Append(string.Join(' ', Entries)).Append(']');
        }

        return text.Append(')').ToString();
    }

    public bool Equals(FetchResponseData? other) =>
        other is not null && ErrorCode == other.ErrorCode && LeaderId == other.LeaderId && LeaderEpoch == other.LeaderEpoch &&
        HighWatermark == other.HighWatermark && LogStartOffset == other.LogStartOffset && DivergingEpoch == other.DivergingEpoch &&
        SnapshotId == other.SnapshotId && Entries.Count == other.Entries.Count &&
        Entries.Zip(other.Entries).All(p => p.First.SameContent(p.Second));

    public override int GetHashCode() => HashCode.Combine(ErrorCode, LeaderEpoch, HighWatermark, Entries.Count);
}

public sealed record FetchSnapshotRequestData(int ReplicaId, int CurrentLeaderEpoch, SnapshotId SnapshotId, long Position, int MaxBytes) : RaftMessage
{
    public override bool IsRequest => true;

    public override string ToString() => $"FetchSnapshot(replica={ReplicaId} epoch={CurrentLeaderEpoch} snapshot={SnapshotId} position={Position})";
}

public sealed record FetchSnapshotResponseData(
    short ErrorCode,
    int LeaderId,
    int LeaderEpoch,
    SnapshotId SnapshotId,
    long Size,
    long Position,
    ReadOnlyMemory<byte> Bytes) : RaftMessage
{
    public override bool IsRequest => false;

    public override string ToString() =>
        $"FetchSnapshotResponse({(ErrorCode == 0 ? "" : RaftErrors.Name(ErrorCode) + " ")}epoch={LeaderEpoch} leader={LeaderId} snapshot={SnapshotId} position={Position} bytes={Bytes.Length}/{Size})";

    public bool Equals(FetchSnapshotResponseData? other) =>
        other is not null && ErrorCode == other.ErrorCode && LeaderId == other.LeaderId && LeaderEpoch == other.LeaderEpoch &&
        SnapshotId == other.SnapshotId && Size == other.Size && Position == other.Position && Bytes.Span.SequenceEqual(other.Bytes.Span);

    public override int GetHashCode() => HashCode.Combine(ErrorCode, LeaderEpoch, SnapshotId, Position);
}
