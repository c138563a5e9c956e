using Aspire.Kafka.Controller;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.ControllerService.Apis;

/// <summary>AlterPartition (key 56): ISR changes from partition leaders, with epoch checks.</summary>
public sealed class AlterPartitionApi(RaftManager raft) : ControllerApi<AlterPartitionRequest, AlterPartitionResponse>(raft)
{
    protected override ControllerResult<AlterPartitionResponse> Run(QuorumController controller, AlterPartitionRequest request, short version, long nowMs) =>
        controller.AlterPartition(request, version, nowMs);

    protected override AlterPartitionResponse NotController(AlterPartitionRequest request) => new() { ErrorCode = (short)ErrorCode.NotController };
}
