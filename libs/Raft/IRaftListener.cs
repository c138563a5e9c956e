namespace Aspire.Kafka.Raft;

/// <summary>
/// The state machine a <see cref="RaftNode"/> drives (Kafka's RaftClient.Listener): the
/// QuorumController on a controller, the MetadataLoader on a broker or coordinator. Every
/// callback runs on the node's loop, one at a time; a callback may use <see cref="RaftNode.Core"/>
/// (e.g. <see cref="KafkaRaftCore.Propose"/>) except <see cref="OnRoleChanged"/> and
/// <see cref="OnSnapshotLoaded"/>, which run while a Ready is being carried out.
/// </summary>
public interface IRaftListener
{
    /// <summary>
    /// Entries that became committed, data and control, in offset order from the applied offset
    /// on: all that one Ready made committed, in one call. <see cref="RaftNode.AppliedOffset"/> is
    /// already past the last one.
    /// </summary>
    void OnCommitted(IReadOnlyList<RaftEntry> entries, long nowMs);

    /// <summary>
    /// The state is replaced by snapshot <paramref name="id"/>'s values (the log's latest snapshot
    /// at start, or one fetched from the leader); committed entries follow from its end offset.
    /// </summary>
    void OnSnapshotLoaded(SnapshotId id, IReadOnlyList<ReadOnlyMemory<byte>> values, long nowMs);

    /// <summary>The values of everything applied so far, for a snapshot at <see cref="RaftNode.AppliedOffset"/>.</summary>
    IReadOnlyList<ReadOnlyMemory<byte>> SnapshotValues();

    /// <summary>The node changed role, epoch or leader.</summary>
    void OnRoleChanged(RoleChanged role);

    /// <summary>Once per loop turn, after the core's clock ticked: the listener's own timers.</summary>
    void OnTick(long nowMs)
    {
    }

    /// <summary>When <see cref="OnTick"/> next has work (the loop wakes for it); <see cref="long.MaxValue"/> for never.</summary>
    long NextDeadlineMs => long.MaxValue;

    /// <summary>A snapshot of <see cref="SnapshotValues"/> was stored (Kafka's snapshot format, <see cref="RaftSnapshotCodec"/>).</summary>
    void OnSnapshotCreated(SnapshotId id, byte[] snapshot)
    {
    }

    /// <summary>The loop is stopping (after a leader resigned): give up what waits for commits.</summary>
    void OnStopping()
    {
    }
}
