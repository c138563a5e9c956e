using System.Diagnostics;

namespace Aspire.Kafka.Coordinator;

/// <summary>
/// The coordinator's own spans (ActivitySource <c>Aspire.Kafka.Coordinator</c>), besides the
/// per-request "kafka.request" server span of the connection loop.
/// </summary>
/// <remarks>
/// <c>kafka.group.rebalance</c> (Internal, its own trace): a group's rebalance from
/// PreparingRebalance until it is Stable again (or Empty, Dead, or its partition unloaded), linked
/// to the request that started it (a JoinGroup, LeaveGroup… span) when there was one. Attributes:
/// <c>kafka.group.id</c>, <c>kafka.group.rebalance.reason</c>, <c>kafka.group.generation.previous</c>,
/// <c>kafka.group.generation</c> (the generation it ended in), <c>kafka.group.members</c>,
/// <c>kafka.group.protocol</c>, <c>kafka.group.state</c> (the state it ended in: Stable, Empty,
/// Dead, Unloaded). Events: <c>join_completed</c> (CompletingRebalance, with generation and
/// members), <c>restarted</c> (back to PreparingRebalance before Stable, with the reason).
/// </remarks>
public static class CoordinatorTelemetry
{
    public const string SourceName = "Aspire.Kafka.Coordinator";

    public static readonly ActivitySource ActivitySource = new(SourceName);
}
