using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Node.Apis;

/// <summary>DescribeConfigs (key 32), forwarded to the active controller, which knows every resource's dynamic configs and defaults.</summary>
public sealed class DescribeConfigsApi(ControllerChannel controller) : ForwardedApi<DescribeConfigsRequest, DescribeConfigsResponse>(controller)
{
    protected override bool IsNotController(DescribeConfigsResponse response) => response.Results.Any(t => t.ErrorCode == (short)ErrorCode.NotController);

    protected override DescribeConfigsResponse Error(DescribeConfigsRequest request, ErrorCode error, string message) => new()
    {
        Results = [.. request.Resources.Select(r => new DescribeConfigsResponse.DescribeConfigsResult { ResourceType = r.ResourceType, ResourceName = r.ResourceName, ErrorCode = (short)error, ErrorMessage = message })],
    };
}
