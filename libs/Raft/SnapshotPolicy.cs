namespace Aspire.Kafka.Raft;

/// <summary>
/// When a node snapshots the metadata it has applied (KIP-630; Kafka's SnapshotGenerator, on
/// controllers and brokers alike): once <c>metadata.log.max.record.bytes.between.snapshots</c>
/// bytes of records were applied since the last snapshot, or once
/// <c>metadata.log.max.snapshot.interval.ms</c> passed with anything applied (0 turns the time
/// trigger off). The snapshot lets the log drop the entries below it, which bounds what a node
/// keeps of a log that only grows (the active controller appends a NoOpRecord whenever it was
/// idle for metadata.max.idle.interval.ms).
/// </summary>
public sealed class SnapshotPolicy
{
    private long _lastSnapshotMs;

    public SnapshotPolicy(long maxRecordBytesBetweenSnapshots, long maxSnapshotIntervalMs, long nowMs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRecordBytesBetweenSnapshots, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(maxSnapshotIntervalMs);
        MaxRecordBytesBetweenSnapshots = maxRecordBytesBetweenSnapshots;
        MaxSnapshotIntervalMs = maxSnapshotIntervalMs;
        _lastSnapshotMs = nowMs;
    }

    public long MaxRecordBytesBetweenSnapshots { get; }

    public long MaxSnapshotIntervalMs { get; }

    /// <summary>Record bytes applied since the last snapshot (or since the start).</summary>
    public long BytesSinceSnapshot { get; private set; }

    /// <summary>Counts <paramref name="bytes"/> of applied record data.</summary>
    public void Applied(long bytes) => BytesSinceSnapshot += bytes;

    /// <summary>Whether a snapshot is due at <paramref name="nowMs"/>.</summary>
    public bool IsDue(long nowMs) =>
        BytesSinceSnapshot >= MaxRecordBytesBetweenSnapshots
        || (MaxSnapshotIntervalMs > 0 && BytesSinceSnapshot > 0 && nowMs - _lastSnapshotMs >= MaxSnapshotIntervalMs);

    /// <summary>A snapshot was made or loaded at <paramref name="nowMs"/>: counting starts again.</summary>
    public void Reset(long nowMs)
    {
        BytesSinceSnapshot = 0;
        _lastSnapshotMs = nowMs;
    }
}
