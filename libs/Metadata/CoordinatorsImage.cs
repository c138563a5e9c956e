using System.Collections.Immutable;

namespace Aspire.Kafka.Metadata;

/// <summary>Which coordinator node owns one <c>__consumer_offsets</c> partition, and since which assignment epoch.</summary>
public sealed record CoordinatorAssignment(int PartitionId, int CoordinatorId, int AssignmentEpoch)
{
    public bool IsAssigned => CoordinatorId >= 0;
}

/// <summary>
/// Our addition to Kafka's image: the assignment of <c>__consumer_offsets</c> partitions to
/// coordinator nodes (CoordinatorAssignmentRecord). Brokers answer FindCoordinator from it.
/// </summary>
public sealed class CoordinatorsImage
{
    public const string ConsumerOffsetsTopic = "__consumer_offsets";

    /// <summary>
    /// The feature a coordinator node lists in its BrokerRegistrationRequest (min = max = 1) so the
    /// controller registers it as a coordinator rather than a broker.
    /// </summary>
    public const string CoordinatorFeature = "aspire.coordinator";

    /// <summary>
    /// Producer ids from here up are never allocated by the controller: the coordinators write each
    /// <c>__consumer_offsets</c> partition as the producer <see cref="CoordinatorProducer"/> gives, so
    /// that the brokers fence an owner that lost the partition (its producer epoch is lower).
    /// </summary>
    public const long CoordinatorProducerIdBase = 1L << 62;

    public static readonly CoordinatorsImage Empty = new(ImmutableSortedDictionary<int, CoordinatorAssignment>.Empty);

    public CoordinatorsImage(ImmutableSortedDictionary<int, CoordinatorAssignment> assignments)
    {
        Assignments = assignments;
    }

    /// <summary>By <c>__consumer_offsets</c> partition.</summary>
    public ImmutableSortedDictionary<int, CoordinatorAssignment> Assignments { get; }

    public bool IsEmpty => Assignments.IsEmpty;

    public CoordinatorAssignment? Assignment(int partitionId) => Assignments.GetValueOrDefault(partitionId);

    /// <summary>The partitions a coordinator node owns.</summary>
    public IEnumerable<CoordinatorAssignment> AssignmentsOf(int coordinatorId) =>
        Assignments.Values.Where(a => a.CoordinatorId == coordinatorId);

    /// <summary>
    /// The <c>__consumer_offsets</c> partition of a group, as Kafka computes it:
    /// <c>Utils.abs(groupId.hashCode()) % partitionCount</c> with Java's String.hashCode.
    /// </summary>
    public static int PartitionFor(string groupId, int partitionCount)
    {
        ArgumentNullException.ThrowIfNull(groupId);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(partitionCount);
        return JavaAbs(JavaStringHashCode(groupId)) % partitionCount;
    }

    /// <summary>
    /// The idempotent producer a coordinator writes <c>__consumer_offsets</c>-<paramref name="partition"/>
    /// as while it owns the partition at <paramref name="assignmentEpoch"/>: one producer id per
    /// partition, the assignment epoch as producer epoch. Producer epochs are 16 bits, so every 32,768
    /// assignment epochs the id moves on (a new id is not fenced by the previous one's epochs).
    /// </summary>
    public static (long ProducerId, short ProducerEpoch) CoordinatorProducer(int partition, int assignmentEpoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(partition, 1 << 20);
        ArgumentOutOfRangeException.ThrowIfNegative(assignmentEpoch);
        return (CoordinatorProducerIdBase + ((long)(assignmentEpoch >> 15) << 20) + partition, (short)(assignmentEpoch & 0x7FFF));
    }

    /// <summary>Java's String.hashCode: h = 31 * h + c over the UTF-16 code units.</summary>
    public static int JavaStringHashCode(string value)
    {
        int h = 0;
        foreach (char c in value)
        {
            h = unchecked((31 * h) + c);
        }

        return h;
    }

    /// <summary>Kafka's Utils.abs: Math.abs except that int.MinValue maps to 0.</summary>
    private static int JavaAbs(int n) => n == int.MinValue ? 0 : Math.Abs(n);
}
