using Aspire.Kafka.Controller;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.ControllerService.Apis;

/// <summary>AlterConfigs (key 33), the legacy whole-set replacement.</summary>
public sealed class AlterConfigsApi(RaftManager raft) : ControllerApi<AlterConfigsRequest, AlterConfigsResponse>(raft)
{
    protected override ControllerResult<AlterConfigsResponse> Run(QuorumController controller, AlterConfigsRequest request, short version, long nowMs) =>
        controller.LegacyAlterConfigs(request, nowMs);

    protected override AlterConfigsResponse NotController(AlterConfigsRequest request) => new()
    {
        Responses =
        [
            .. request.Resources.Select(r => new AlterConfigsResponse.AlterConfigsResourceResponse
            {
                ResourceType = r.ResourceType,
                ResourceName = r.ResourceName,
                ErrorCode = (short)ErrorCode.NotController,
                ErrorMessage = "This node is not the active controller.",
            }),
        ],
    };
}
