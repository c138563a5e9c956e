using Aspire.Kafka.Metadata;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.MetadataRecords;

namespace Aspire.Kafka.Controller;

/// <summary>
/// Builds the PartitionChangeRecord for a target ISR and an election policy (Kafka's
/// PartitionChangeBuilder): elects a leader among the target ISR's acceptable replicas,
/// falls back to an unclean election when allowed, and never empties the ISR (when the last
/// in-sync replica goes away the ISR keeps it and the partition has no leader).
/// </summary>
public sealed class PartitionChangeBuilder
{
    public enum Election
    {
        /// <summary>Prefer the first replica; else keep the current leader; else any ISR member.</summary>
        Preferred,

        /// <summary>Keep the current leader if acceptable; else the first acceptable ISR member in replica order.</summary>
        Online,

        /// <summary>As <see cref="Online"/>, then any acceptable replica outside the ISR (data may be lost).</summary>
        Unclean,
    }

    private readonly PartitionRegistration _partition;
    private readonly KafkaUuid _topicId;
    private readonly int _partitionId;
    private readonly Func<int, bool> _isAcceptableLeader;
    private IReadOnlyList<int> _targetIsr;
    private Election _election = Election.Online;
    private LeaderRecoveryState? _targetRecoveryState;

    public PartitionChangeBuilder(PartitionRegistration partition, KafkaUuid topicId, int partitionId, Func<int, bool> isAcceptableLeader)
    {
        _partition = partition;
        _topicId = topicId;
        _partitionId = partitionId;
        _isAcceptableLeader = isAcceptableLeader;
        _targetIsr = partition.Isr;
    }

    public PartitionChangeBuilder SetTargetIsr(IReadOnlyList<int> isr)
    {
        _targetIsr = isr;
        return this;
    }

    public PartitionChangeBuilder SetElection(Election election)
    {
        _election = election;
        return this;
    }

    public PartitionChangeBuilder SetTargetLeaderRecoveryState(LeaderRecoveryState state)
    {
        _targetRecoveryState = state;
        return this;
    }

    /// <summary>The change record, or null when nothing changes.</summary>
    public PartitionChangeRecord? Build()
    {
        var record = new PartitionChangeRecord { TopicId = _topicId, PartitionId = _partitionId };
        (int leader, bool unclean) = ElectLeader();
        bool changed = false;
        if (leader != _partition.Leader)
        {
            record.Leader = leader;
            changed = true;
            if (unclean)
            {
                record.Isr = [leader];
                if (_partition.LeaderRecoveryState != LeaderRecoveryState.Recovering)
                {
                    record.LeaderRecoveryState = (sbyte)LeaderRecoveryState.Recovering;
                }
            }
        }

        if (record.Isr is null && _targetIsr.Count > 0 && !_targetIsr.SequenceEqual(_partition.Isr))
        {
            record.Isr = [.. _targetIsr];
            changed = true;
        }

        if (record.LeaderRecoveryState == -1 && _targetRecoveryState is { } target && target != _partition.LeaderRecoveryState)
        {
            record.LeaderRecoveryState = (sbyte)target;
            changed = true;
        }

        return changed ? record : null;
    }

    private bool IsValidNewLeader(int replica) => _targetIsr.Contains(replica) && _isAcceptableLeader(replica);

    private (int Leader, bool Unclean) ElectLeader()
    {
        IReadOnlyList<int> replicas = _partition.Replicas;
        if (_election == Election.Preferred)
        {
            if (replicas.Count > 0 && IsValidNewLeader(replicas[0]))
            {
                return (replicas[0], false);
            }

            if (_partition.HasLeader && IsValidNewLeader(_partition.Leader))
            {
                return (_partition.Leader, false);
            }

            foreach (int replica in replicas.Skip(1))
            {
                if (IsValidNewLeader(replica))
                {
                    return (replica, false);
                }
            }

            return (PartitionRegistration.NoLeader, false);
        }

        if (_partition.HasLeader && IsValidNewLeader(_partition.Leader))
        {
            return (_partition.Leader, false);
        }

        foreach (int replica in replicas)
        {
            if (IsValidNewLeader(replica))
            {
                return (replica, false);
            }
        }

        if (_election == Election.Unclean)
        {
            foreach (int replica in replicas)
            {
                if (_isAcceptableLeader(replica))
                {
                    return (replica, true);
                }
            }
        }

        return (PartitionRegistration.NoLeader, false);
    }
}
