namespace Aspire.Kafka.Raft;

/// <summary>
/// The replicated log as the core sees it (Kafka's ReplicatedLog): entries with epochs from
/// <see cref="StartOffset"/> to <see cref="EndOffset"/> (exclusive), an epoch → end offset index
/// (the leader-epoch cache) and the latest snapshot. The core mutates it synchronously
/// (<see cref="Append"/>, <see cref="TruncateTo"/>); the host makes those mutations durable
/// with <see cref="Flush"/> when a <see cref="RaftReady"/> asks for it, before sending the
/// Ready's messages. Implementations: <see cref="InMemoryRaftLog"/> here; the storage engine
/// later.
/// </summary>
public interface IRaftLog
{
    /// <summary>First offset held as an entry: the latest snapshot's end offset, or 0 without one.</summary>
    long StartOffset { get; }

    /// <summary>Offset the next appended entry gets (log end offset).</summary>
    long EndOffset { get; }

    /// <summary>Epoch of the last entry; the snapshot's epoch when the log holds no entries after it; 0 for an empty log.</summary>
    int LastFetchedEpoch { get; }

    /// <summary>The latest snapshot, when there is one.</summary>
    SnapshotId? LatestSnapshotId { get; }

    /// <summary>
    /// The largest epoch at or below <paramref name="epoch"/> this log (or its snapshot) knows,
    /// with the offset where that epoch ends (exclusive); null when every epoch known is larger.
    /// </summary>
    OffsetAndEpoch? EndOffsetForEpoch(int epoch);

    /// <summary>The epoch of the entry at <paramref name="offset"/>, when the log holds it.</summary>
    int? EpochAt(long offset);

    /// <summary>Appends entries whose offsets continue <see cref="EndOffset"/> contiguously.</summary>
    void Append(IReadOnlyList<RaftEntry> entries);

    /// <summary>Removes every entry at or above <paramref name="offset"/>.</summary>
    void TruncateTo(long offset);

    /// <summary>Entries from <paramref name="fromOffset"/> up to about <paramref name="maxBytes"/> (at least one when any).</summary>
    IReadOnlyList<RaftEntry> Read(long fromOffset, int maxBytes);

    /// <summary>Makes every append and truncation so far durable.</summary>
    void Flush();

    /// <summary>
    /// Stores a snapshot of the committed prefix below <paramref name="id"/>.EndOffset durably and
    /// deletes the entries below it (the log start moves to the snapshot's end).
    /// </summary>
    void StoreSnapshot(SnapshotId id, ReadOnlyMemory<byte> data);

    /// <summary>Replaces the whole log with a snapshot fetched from the leader (start = end = its end offset), durably.</summary>
    void InstallSnapshot(SnapshotId id, ReadOnlyMemory<byte> data);

    /// <summary>Reads a chunk of a stored snapshot; false when that snapshot is not held.</summary>
    bool TryReadSnapshot(SnapshotId id, long position, int maxBytes, out ReadOnlyMemory<byte> chunk, out long size);
}
