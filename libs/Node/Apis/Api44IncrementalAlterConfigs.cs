using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Node.Apis;

/// <summary>IncrementalAlterConfigs (key 44), forwarded to the active controller.</summary>
public sealed class IncrementalAlterConfigsApi(ControllerChannel controller) : ForwardedApi<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>(controller)
{
    protected override bool IsNotController(IncrementalAlterConfigsResponse response) => response.Responses.Any(t => t.ErrorCode == (short)ErrorCode.NotController);

    protected override IncrementalAlterConfigsResponse Error(IncrementalAlterConfigsRequest request, ErrorCode error, string message) => new()
    {
        Responses = [.. request.Resources.Select(r => new IncrementalAlterConfigsResponse.AlterConfigsResourceResponse { ResourceType = r.ResourceType, ResourceName = r.ResourceName, ErrorCode = (short)error, ErrorMessage = message })],
    };
}
