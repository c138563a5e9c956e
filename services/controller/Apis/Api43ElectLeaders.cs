using Aspire.Kafka.Controller;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.ControllerService.Apis;

/// <summary>ElectLeaders (key 43): preferred or unclean elections.</summary>
public sealed class ElectLeadersApi(RaftManager raft) : ControllerApi<ElectLeadersRequest, ElectLeadersResponse>(raft)
{
    protected override ControllerResult<ElectLeadersResponse> Run(QuorumController controller, ElectLeadersRequest request, short version, long nowMs) =>
        controller.ElectLeaders(request, nowMs);

    protected override ElectLeadersResponse NotController(ElectLeadersRequest request) => new() { ErrorCode = (short)ErrorCode.NotController };
}
