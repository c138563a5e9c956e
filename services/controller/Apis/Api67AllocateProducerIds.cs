using Aspire.Kafka.Controller;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.ControllerService.Apis;

/// <summary>AllocateProducerIds (key 67): a block of producer ids for a broker or coordinator that serves InitProducerId.</summary>
public sealed class AllocateProducerIdsApi(RaftManager raft) : ControllerApi<AllocateProducerIdsRequest, AllocateProducerIdsResponse>(raft)
{
    protected override ControllerResult<AllocateProducerIdsResponse> Run(QuorumController controller, AllocateProducerIdsRequest request, short version, long nowMs) =>
        controller.AllocateProducerIds(request, nowMs);

    protected override AllocateProducerIdsResponse NotController(AllocateProducerIdsRequest request) =>
        new() { ErrorCode = (short)ErrorCode.NotController, ProducerIdStart = -1 };
}
