using System.Diagnostics;

namespace Aspire.Kafka.ControllerService;

/// <summary>
/// The controller's own spans (ActivitySource <c>Aspire.Kafka.Controller</c>), besides the
/// per-request "kafka.request" server span of the connection loop.
/// </summary>
/// <remarks>
/// <c>kafka.controller.write</c> (Internal): one QuorumController operation whose records go to the
/// metadata log — from the operation on the Raft loop to their commit (the high watermark passing
/// them) and replay. A child of the request's span for requests (CreateTopics, AlterPartition,
/// BrokerRegistration…); a root span for the controller's own writes (operation <c>Tick</c>: lease
/// expiry, leader balancing, coordinator moves — not the idle NoOp; <c>Activate</c>: a new active
/// controller's bootstrap records).
/// Attributes: <c>kafka.controller.operation</c>, <c>kafka.metadata.records</c>,
/// <c>kafka.metadata.base_offset</c> (offset of the first record in the metadata log),
/// <c>kafka.raft.epoch</c>; event <c>committed</c> (with <c>kafka.metadata.high_watermark</c>);
/// status Error when the controller lost leadership first. Operations that write nothing (most
/// broker heartbeats) are not exported.
/// </remarks>
public static class ControllerTelemetry
{
    public const string SourceName = "Aspire.Kafka.Controller";

    public static readonly ActivitySource ActivitySource = new(SourceName);
}
