namespace Aspire.Kafka.Mirror;

/// <summary>What a mirror partition is doing.</summary>
public enum MirrorState
{
    /// <summary>Copying (or caught up and waiting for new records).</summary>
    Mirroring,

    /// <summary>Paused by the operator.</summary>
    Paused,

    /// <summary>The target topic was made writable (failover/promote): mirroring stopped for good.</summary>
    FailedOver,

    /// <summary>Stopped on an error that needs the operator (a corrupt batch, a target topic that is not this source's mirror); <see cref="MirrorPartition.Reason"/> says which.</summary>
    Failed,

    /// <summary>The source topic was deleted: the mirror stopped, the target keeps its data.</summary>
    SourceDeleted,
}

/// <summary>
/// One partition of a mirror topic: where the copy is (<see cref="NextOffset"/>, the target's log end
/// offset), how far behind the source it is, and its state. Updated by the fetcher that copies it;
/// read by the metrics and the control API. Fields are written by one thread at a time and read
/// without locks (values may be a round old).
/// </summary>
public sealed class MirrorPartition(string topic, int partition)
{
    public string Topic { get; } = topic;

    public int Partition { get; } = partition;

    public MirrorState State { get; set; } = MirrorState.Mirroring;

    /// <summary>Why the partition is <see cref="MirrorState.Failed"/>, or the last transient error while it retries; null when all is well.</summary>
    public string? Reason { get; set; }

    /// <summary>The offset the next fetch starts at: the target's log end offset (-1 until read from the target).</summary>
    public long NextOffset { get; set; } = -1;

    /// <summary>The source partition's high watermark at the last fetch (-1 before the first).</summary>
    public long SourceEndOffset { get; set; } = -1;

    /// <summary>The source partition leader (-1 unknown).</summary>
    public int SourceLeader { get; set; } = -1;

    /// <summary>The base timestamp of the oldest batch fetched but not yet on the target, -1 when there is none.</summary>
    public long OldestPendingTimestamp { get; set; } = -1;

    /// <summary>Records copied since the mirror started.</summary>
    public long RecordsCopied;

    /// <summary>Bytes copied since the mirror started.</summary>
    public long BytesCopied;

    /// <summary>Records on the source not yet on the target (0 when unknown or caught up).</summary>
    public long LagRecords => SourceEndOffset >= 0 && NextOffset >= 0 ? Math.Max(0, SourceEndOffset - NextOffset) : 0;

    /// <summary>Age of the oldest record not yet on the target, in ms (0 when caught up).</summary>
    public long LagMs(long nowMs) => LagRecords > 0 && OldestPendingTimestamp > 0 ? Math.Max(0, nowMs - OldestPendingTimestamp) : 0;

    public override string ToString() => $"{Topic}-{Partition} ({State}, next {NextOffset}, source end {SourceEndOffset}{(Reason is null ? "" : $": {Reason}")})";
}
