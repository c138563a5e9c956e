using Aspire.Kafka.Controller;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.ControllerService.Apis;

/// <summary>IncrementalAlterConfigs (key 44): SET / DELETE / APPEND / SUBTRACT on topic and broker configs.</summary>
public sealed class IncrementalAlterConfigsApi(RaftManager raft) : ControllerApi<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>(raft)
{
    protected override ControllerResult<IncrementalAlterConfigsResponse> Run(QuorumController controller, IncrementalAlterConfigsRequest request, short version, long nowMs) =>
        controller.IncrementalAlterConfigs(request, nowMs);

    protected override IncrementalAlterConfigsResponse NotController(IncrementalAlterConfigsRequest request) => new()
    {
        Responses =
        [
            .. request.Resources.Select(r => new IncrementalAlterConfigsResponse.AlterConfigsResourceResponse
            {
                ResourceType = r.ResourceType,
                ResourceName = r.ResourceName,
                ErrorCode = (short)ErrorCode.NotController,
                ErrorMessage = "This node is not the active controller.",
            }),
        ],
    };
}
