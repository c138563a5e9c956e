using Aspire.Kafka.Controller;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.ControllerService.Apis;

/// <summary>BrokerHeartbeat (key 63): lease renewal, unfencing, controlled shutdown.</summary>
public sealed class BrokerHeartbeatApi(RaftManager raft) : ControllerApi<BrokerHeartbeatRequest, BrokerHeartbeatResponse>(raft)
{
    protected override ControllerResult<BrokerHeartbeatResponse> Run(QuorumController controller, BrokerHeartbeatRequest request, short version, long nowMs) =>
        controller.ProcessBrokerHeartbeat(request, nowMs);

    protected override BrokerHeartbeatResponse NotController(BrokerHeartbeatRequest request) =>
        new() { ErrorCode = (short)ErrorCode.NotController, IsFenced = true };
}
