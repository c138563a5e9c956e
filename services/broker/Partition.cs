using Aspire.Kafka.Metadata;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Storage;

namespace Aspire.Kafka.Broker;

/// <summary>What the leader knows about one follower's fetching (Kafka's Replica / ReplicaState).</summary>
internal sealed class ReplicaState
{
    public long LogEndOffset { get; set; } = -1;

    public long LastCaughtUpTimeMs { get; set; }

    public long LastFetchTimeMs { get; set; }

    public long LastFetchLeaderLogEndOffset { get; set; } = -1;
}

/// <summary>An ISR change this partition proposed and the controller has not yet answered.</summary>
internal sealed record PendingIsrChange(IReadOnlyList<int> ProposedIsr, IReadOnlyList<int> MaximalIsr);

/// <summary>
/// One hosted partition (Kafka's Partition): its log, whether this broker leads it, the leader
/// epoch, the replica set and ISR from the metadata log, the high watermark, and — on the leader —
/// each follower's fetch state, from which the high watermark advances and the ISR shrinks or
/// expands (proposed to the controller through AlterPartition).
/// </summary>
internal sealed class Partition
{
    private readonly Lock _lock = new();
    private readonly Dictionary<int, ReplicaState> _remote = [];
    private readonly int _localId;

    public Partition(TopicPartition topicPartition, KafkaUuid topicId, UnifiedLog log, int localId)
    {
        TopicPartition = topicPartition;
        TopicId = topicId;
        Log = log;
        _localId = localId;
    }

    public TopicPartition TopicPartition { get; }

    public KafkaUuid TopicId { get; }

    public UnifiedLog Log { get; }

    public int LeaderId { get; private set; } = -1;

    public int LeaderEpoch { get; private set; } = -1;

    public int PartitionEpoch { get; private set; } = -1;

    /// <summary>The leader epoch's start offset (the log end offset when this broker became leader).</summary>
    public long LeaderEpochStartOffset { get; private set; } = -1;

    public IReadOnlyList<int> Replicas { get; private set; } = [];

    /// <summary>The committed ISR (from the metadata log or the controller's AlterPartition answer).</summary>
    public IReadOnlyList<int> Isr { get; private set; } = [];

    public PendingIsrChange? PendingIsr { get; private set; }

    /// <summary>min.insync.replicas for this topic.</summary>
    public int MinInsyncReplicas { get; set; } = 1;

    public bool IsLeader => LeaderId == _localId;

    /// <summary>The ISR the high watermark waits for: the committed one plus any replica being added.</summary>
    public IReadOnlyList<int> MaximalIsr => PendingIsr?.MaximalIsr ?? Isr;

    public long HighWatermark => Log.HighWatermark;

    public long LogEndOffset => Log.LogEndOffset;

    /// <summary>Becomes leader at the registration's epoch; returns true when the epoch is new.</summary>
    public bool MakeLeader(PartitionRegistration registration, long nowMs)
    {
        lock (_lock)
        {
            bool newEpoch = registration.LeaderEpoch != LeaderEpoch || !IsLeader;
            UpdateAssignment(registration);
            if (newEpoch)
            {
                LeaderEpoch = registration.LeaderEpoch;
                LeaderId = _localId;
                LeaderEpochStartOffset = Log.LogEndOffset;
                Log.LeaderEpochCache.Assign(registration.LeaderEpoch, Log.LogEndOffset);
                _remote.Clear();
                foreach (int replica in registration.Replicas.Where(r => r != _localId))
                {
                    // Followers in the ISR are presumed caught up as of now (Kafka resets their state the same way).
                    _remote[replica] = new ReplicaState { LastCaughtUpTimeMs = Isr.Contains(replica) ? nowMs : 0 };
                }
            }

            MaybeIncrementLeaderHighWatermarkLocked();
            return newEpoch;
        }
    }

    /// <summary>Becomes a follower of <see cref="PartitionRegistration.Leader"/>; returns true when leader or epoch changed.</summary>
    public bool MakeFollower(PartitionRegistration registration)
    {
        lock (_lock)
        {
            bool changed = registration.LeaderEpoch != LeaderEpoch || registration.Leader != LeaderId;
            UpdateAssignment(registration);
            LeaderEpoch = registration.LeaderEpoch;
            LeaderId = registration.Leader;
            _remote.Clear();
            return changed;
        }
    }

    /// <summary>An ISR-only change from the metadata log (our AlterPartition committed, or the controller shrank it).</summary>
    public void UpdateAssignment(PartitionRegistration registration)
    {
        lock (_lock)
        {
            if (registration.PartitionEpoch < PartitionEpoch)
            {
                return;
            }

            PartitionEpoch = registration.PartitionEpoch;
            Replicas = registration.Replicas;
            Isr = registration.Isr;
            PendingIsr = null;
            foreach (int replica in registration.Replicas.Where(r => r != _localId && !_remote.ContainsKey(r)))
            {
                _remote[replica] = new ReplicaState();
            }

            foreach (int gone in _remote.Keys.Where(r => !registration.Replicas.Contains(r)).ToList())
            {
                _remote.Remove(gone);
            }
        }
    }

    /// <summary>Applies the controller's AlterPartition answer; false when it is stale.</summary>
    public bool ApplyIsrUpdate(int leaderEpoch, int partitionEpoch, IReadOnlyList<int> isr)
    {
        lock (_lock)
        {
            if (leaderEpoch != LeaderEpoch || partitionEpoch < PartitionEpoch)
            {
                PendingIsr = null;
                return false;
            }

            PartitionEpoch = partitionEpoch;
            Isr = isr;
            PendingIsr = null;
            MaybeIncrementLeaderHighWatermarkLocked();
            return true;
        }
    }

    public void ClearPendingIsr()
    {
        lock (_lock)
        {
            PendingIsr = null;
        }
    }

    /// <summary>Appends producer batches as leader (ISR checked for acks=all first); returns the append info.</summary>
    public (ErrorCode Error, LogAppendInfo? Info, bool HighWatermarkIncreased) AppendRecordsToLeader(ValidatedRecords records, short requiredAcks)
    {
        lock (_lock)
        {
            if (!IsLeader)
            {
                return (ErrorCode.NotLeaderOrFollower, null, false);
            }

            if (requiredAcks == -1 && Isr.Count < MinInsyncReplicas)
            {
                return (ErrorCode.NotEnoughReplicas, null, false);
            }

            LogAppendInfo info = Log.AppendAsLeader(records, LeaderEpoch);
            bool increased = MaybeIncrementLeaderHighWatermarkLocked();
            return (ErrorCode.None, info, increased);
        }
    }

    /// <summary>Appends mirrored batches at their own offsets as leader (ISR checked for acks=all first), stamped with this leader's epoch.</summary>
    public (ErrorCode Error, MirrorAppendInfo? Info, bool HighWatermarkIncreased) AppendRecordsAsMirror(Span<byte> records, short requiredAcks)
    {
        lock (_lock)
        {
            if (!IsLeader)
            {
                return (ErrorCode.NotLeaderOrFollower, null, false);
            }

            if (requiredAcks == -1 && Isr.Count < MinInsyncReplicas)
            {
                return (ErrorCode.NotEnoughReplicas, null, false);
            }

            MirrorAppendInfo info = Log.AppendAsMirror(records, LeaderEpoch);
            bool increased = info.Appended is not null && MaybeIncrementLeaderHighWatermarkLocked();
            return (ErrorCode.None, info, increased);
        }
    }

    /// <summary>DelayedProduce's check: null while the ISR has not reached <paramref name="requiredOffset"/>.</summary>
    public ErrorCode? CheckEnoughReplicasReachOffset(long requiredOffset)
    {
        lock (_lock)
        {
            if (!IsLeader)
            {
                return ErrorCode.NotLeaderOrFollower;
            }

            if (Log.HighWatermark >= requiredOffset)
            {
                return Isr.Count >= MinInsyncReplicas ? ErrorCode.None : ErrorCode.NotEnoughReplicasAfterAppend;
            }

            return null;
        }
    }

    /// <summary>
    /// Records a follower's fetch (Kafka's updateFollowerFetchState) and advances the high watermark.
    /// Returns whether the high watermark grew and an ISR expansion to propose, if any.
    /// </summary>
    public (bool HighWatermarkIncreased, IReadOnlyList<int>? ExpandTo) UpdateFollowerFetchState(int replicaId, long fetchOffset, long nowMs)
    {
        lock (_lock)
        {
            if (!IsLeader || !_remote.TryGetValue(replicaId, out ReplicaState? state))
            {
                return (false, null);
            }

            long leaderEnd = Log.LogEndOffset;
            if (fetchOffset >= leaderEnd)
            {
                state.LastCaughtUpTimeMs = Math.Max(state.LastCaughtUpTimeMs, nowMs);
            }
            else if (fetchOffset >= state.LastFetchLeaderLogEndOffset && state.LastFetchLeaderLogEndOffset >= 0)
            {
                state.LastCaughtUpTimeMs = Math.Max(state.LastCaughtUpTimeMs, state.LastFetchTimeMs);
            }

            state.LogEndOffset = fetchOffset;
            state.LastFetchLeaderLogEndOffset = leaderEnd;
            state.LastFetchTimeMs = nowMs;

            IReadOnlyList<int>? expand = null;
            if (PendingIsr is null && !Isr.Contains(replicaId) && Replicas.Contains(replicaId)
                && fetchOffset >= Log.HighWatermark && fetchOffset >= LeaderEpochStartOffset)
            {
                expand = [.. Isr, replicaId];
                PendingIsr = new PendingIsrChange(expand, expand);
            }

            return (MaybeIncrementLeaderHighWatermarkLocked(), expand);
        }
    }

    /// <summary>The ISR without the followers that have not caught up within <paramref name="lagTimeMaxMs"/>; null when nothing to shrink.</summary>
    public IReadOnlyList<int>? MaybeShrinkIsr(long nowMs, long lagTimeMaxMs)
    {
        lock (_lock)
        {
            if (!IsLeader || PendingIsr is not null)
            {
                return null;
            }

            var outOfSync = Isr.Where(r => r != _localId && _remote.TryGetValue(r, out ReplicaState? s)
                && (nowMs - s.LastCaughtUpTimeMs > lagTimeMaxMs)).ToList();
            if (outOfSync.Count == 0)
            {
                return null;
            }

            IReadOnlyList<int> shrunk = [.. Isr.Where(r => !outOfSync.Contains(r))];
            PendingIsr = new PendingIsrChange(shrunk, Isr);
            return shrunk;
        }
    }

    public ReplicaState? Remote(int replicaId)
    {
        lock (_lock)
        {
            return _remote.TryGetValue(replicaId, out ReplicaState? s) ? s : null;
        }
    }

    /// <summary>Follower side: the high watermark the leader sent, capped at our log end.</summary>
    public void UpdateFollowerHighWatermark(long leaderHighWatermark)
    {
        long hw = Math.Min(leaderHighWatermark, Log.LogEndOffset);
        if (hw > Log.HighWatermark)
        {
            Log.UpdateHighWatermark(hw);
        }
    }

    /// <summary>Runs <paramref name="action"/> under the partition lock if this broker still follows <paramref name="leaderEpoch"/>.</summary>
    public bool WithFollowerLock(int leaderEpoch, Action action)
    {
        lock (_lock)
        {
            if (IsLeader || LeaderEpoch != leaderEpoch)
            {
                return false;
            }

            action();
            return true;
        }
    }

    private bool MaybeIncrementLeaderHighWatermarkLocked()
    {
        if (!IsLeader)
        {
            return false;
        }

        long newHw = Log.LogEndOffset;
        foreach (int replica in MaximalIsr)
        {
            if (replica == _localId)
            {
                continue;
            }

            long leo = _remote.TryGetValue(replica, out ReplicaState? s) ? s.LogEndOffset : -1;
            newHw = Math.Min(newHw, Math.Max(leo, 0));
        }

        long old = Log.HighWatermark;
        if (newHw > old)
        {
            Log.UpdateHighWatermark(newHw);
            return true;
        }

        return false;
    }

    public override string ToString() => $"{TopicPartition} (leader {LeaderId}, epoch {LeaderEpoch}, isr [{string.Join(',', Isr)}])";
}
