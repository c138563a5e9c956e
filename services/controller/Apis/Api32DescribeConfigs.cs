using Aspire.Kafka.Controller;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.ControllerService.Apis;

/// <summary>DescribeConfigs (key 32) from the active controller: values, sources, synonyms and documentation when asked.</summary>
public sealed class DescribeConfigsApi(RaftManager raft) : ControllerApi<DescribeConfigsRequest, DescribeConfigsResponse>(raft)
{
    protected override ControllerResult<DescribeConfigsResponse> Run(QuorumController controller, DescribeConfigsRequest request, short version, long nowMs) =>
        controller.DescribeConfigs(request, nowMs, version);

    protected override DescribeConfigsResponse NotController(DescribeConfigsRequest request) => new()
    {
        Results =
        [
            .. request.Resources.Select(r => new DescribeConfigsResponse.DescribeConfigsResult
            {
                ResourceType = r.ResourceType,
                ResourceName = r.ResourceName,
                ErrorCode = (short)ErrorCode.NotController,
                ErrorMessage = "This node is not the active controller.",
            }),
        ],
    };
}
