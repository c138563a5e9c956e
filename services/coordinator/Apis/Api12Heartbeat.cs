using Aspire.Kafka.Coordinator.Groups;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Coordinator.Apis;

/// <summary>Heartbeat (key 12), v0–v4 (v3+ with group.instance.id): one error code.</summary>
public sealed class HeartbeatApi(GroupCoordinator coordinator, TimeProvider time) : KafkaApi<HeartbeatRequest, HeartbeatResponse>
{
    protected override ValueTask<HeartbeatResponse?> HandleAsync(RequestContext context, HeartbeatRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult<HeartbeatResponse?>(new HeartbeatResponse { ErrorCode = (short)coordinator.Heartbeat(Args(request), GroupApi.Now(time)) });

    internal static HeartbeatArgs Args(HeartbeatRequest request) => new(request.GroupId, request.MemberId, request.GenerationId, request.GroupInstanceId);
}
