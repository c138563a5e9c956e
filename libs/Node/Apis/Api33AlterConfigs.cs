using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Node.Apis;

/// <summary>AlterConfigs (key 33), forwarded to the active controller.</summary>
public sealed class AlterConfigsApi(ControllerChannel controller) : ForwardedApi<AlterConfigsRequest, AlterConfigsResponse>(controller)
{
    protected override bool IsNotController(AlterConfigsResponse response) => response.Responses.Any(t => t.ErrorCode == (short)ErrorCode.NotController);

    protected override AlterConfigsResponse Error(AlterConfigsRequest request, ErrorCode error, string message) => new()
    {
        Responses = [.. request.Resources.Select(r => new AlterConfigsResponse.AlterConfigsResourceResponse { ResourceType = r.ResourceType, ResourceName = r.ResourceName, ErrorCode = (short)error, ErrorMessage = message })],
    };
}
