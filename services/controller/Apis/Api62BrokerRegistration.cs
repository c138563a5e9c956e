using Aspire.Kafka.Controller;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.ControllerService.Apis;

/// <summary>BrokerRegistration (key 62): a broker (or coordinator) registers; the broker epoch is the offset of its record.</summary>
public sealed class BrokerRegistrationApi(RaftManager raft) : ControllerApi<BrokerRegistrationRequest, BrokerRegistrationResponse>(raft)
{
    protected override ControllerResult<BrokerRegistrationResponse> Run(QuorumController controller, BrokerRegistrationRequest request, short version, long nowMs) =>
        controller.RegisterBroker(request, nowMs);

    protected override BrokerRegistrationResponse NotController(BrokerRegistrationRequest request) =>
        new() { ErrorCode = (short)ErrorCode.NotController };
}
