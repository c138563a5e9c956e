using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.MetadataRecords;

namespace Aspire.Kafka.Metadata;

/// <summary>Whether a leader elected uncleanly is still recovering (Kafka's LeaderRecoveryState).</summary>
public enum LeaderRecoveryState : sbyte
{
    Recovered = 0,
    Recovering = 1,
}

/// <summary>One partition's replica set, ISR and leadership (Kafka's PartitionRegistration). Immutable.</summary>
public sealed class PartitionRegistration : IEquatable<PartitionRegistration>
{
    public const int NoLeader = -1;

    /// <summary>PartitionChangeRecord.Leader value meaning "the leader did not change".</summary>
    public const int NoLeaderChange = -2;

    public PartitionRegistration(
        int[] replicas,
        int[] isr,
        int[] removingReplicas,
        int[] addingReplicas,
        int leader,
        LeaderRecoveryState leaderRecoveryState,
        int leaderEpoch,
        int partitionEpoch)
    {
        Replicas = replicas;
        Isr = isr;
        RemovingReplicas = removingReplicas;
        AddingReplicas = addingReplicas;
        Leader = leader;
        LeaderRecoveryState = leaderRecoveryState;
        LeaderEpoch = leaderEpoch;
        PartitionEpoch = partitionEpoch;
    }

    /// <summary>The replicas in preferred order: the first is the preferred leader.</summary>
    public IReadOnlyList<int> Replicas { get; }

    public IReadOnlyList<int> Isr { get; }

    public IReadOnlyList<int> RemovingReplicas { get; }

    public IReadOnlyList<int> AddingReplicas { get; }

    public int Leader { get; }

    public LeaderRecoveryState LeaderRecoveryState { get; }

    public int LeaderEpoch { get; }

    /// <summary>Grows by one on every change of this partition.</summary>
    public int PartitionEpoch { get; }

    public bool HasLeader => Leader != NoLeader;

    public int PreferredReplica => Replicas.Count == 0 ? NoLeader : Replicas[0];

    public bool HasPreferredLeader => HasLeader && Leader == PreferredReplica;

    public static PartitionRegistration FromRecord(PartitionRecord record) => new(
        record.Replicas.ToArray(),
        record.Isr.ToArray(),
        record.RemovingReplicas.ToArray(),
        record.AddingReplicas.ToArray(),
        record.Leader,
        (LeaderRecoveryState)record.LeaderRecoveryState,
        record.LeaderEpoch,
        record.PartitionEpoch);

    /// <summary>Applies a change record (Kafka's PartitionRegistration.merge): the leader epoch grows when the leader changes, the partition epoch always.</summary>
    public PartitionRegistration Merge(PartitionChangeRecord record)
    {
        int[] replicas = record.Replicas?.ToArray() ?? (int[])[.. Replicas];
        int[] isr = record.Isr?.ToArray() ?? (int[])[.. Isr];
        int[] removing = record.RemovingReplicas?.ToArray() ?? (int[])[.. RemovingReplicas];
        int[] adding = record.AddingReplicas?.ToArray() ?? (int[])[.. AddingReplicas];
        int leader = Leader;
        int leaderEpoch = LeaderEpoch;
        if (record.Leader != NoLeaderChange)
        {
            leader = record.Leader;
            leaderEpoch = LeaderEpoch + 1;
        }

        LeaderRecoveryState recovery = record.LeaderRecoveryState == -1 ? LeaderRecoveryState : (LeaderRecoveryState)record.LeaderRecoveryState;
        return new PartitionRegistration(replicas, isr, removing, adding, leader, recovery, leaderEpoch, PartitionEpoch + 1);
    }

    public PartitionRecord ToRecord(KafkaUuid topicId, int partitionId) => new()
    {
        TopicId = topicId,
        PartitionId = partitionId,
        Replicas = [.. Replicas],
        Isr = [.. Isr],
        RemovingReplicas = [.. RemovingReplicas],
        AddingReplicas = [.. AddingReplicas],
        Leader = Leader,
        LeaderRecoveryState = (sbyte)LeaderRecoveryState,
        LeaderEpoch = LeaderEpoch,
        PartitionEpoch = PartitionEpoch,
    };

    public bool Equals(PartitionRegistration? other) =>
        other is not null
        && Replicas.SequenceEqual(other.Replicas)
        && Isr.SequenceEqual(other.Isr)
        && RemovingReplicas.SequenceEqual(other.RemovingReplicas)
        && AddingReplicas.SequenceEqual(other.AddingReplicas)
        && Leader == other.Leader
        && LeaderRecoveryState == other.LeaderRecoveryState
        && LeaderEpoch == other.LeaderEpoch
        && PartitionEpoch == other.PartitionEpoch;

    public override bool Equals(object? obj) => obj is PartitionRegistration other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Leader, LeaderEpoch, PartitionEpoch, Replicas.Count, Isr.Count);

    public override string ToString() =>
        $"replicas=[{string.Join(",", Replicas)}] isr=[{string.Join(",", Isr)}] leader={Leader} leaderEpoch={LeaderEpoch} partitionEpoch={PartitionEpoch}"
        + (LeaderRecoveryState == LeaderRecoveryState.Recovering ? " recovering" : "")
        + (RemovingReplicas.Count > 0 ? $" removing=[{string.Join(",", RemovingReplicas)}]" : "")
        + (AddingReplicas.Count > 0 ? $" adding=[{string.Join(",", AddingReplicas)}]" : "");
}
