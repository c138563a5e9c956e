using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Node.Apis;

/// <summary>CreateTopics (key 19), forwarded to the active controller (validation, placement and errors are the controller's).</summary>
public sealed class CreateTopicsApi(ControllerChannel controller) : ForwardedApi<CreateTopicsRequest, CreateTopicsResponse>(controller)
{
    protected override bool IsNotController(CreateTopicsResponse response) => response.Topics.Any(t => t.ErrorCode == (short)ErrorCode.NotController);

    protected override TimeSpan? Timeout(CreateTopicsRequest request) => AtLeast5s(request.TimeoutMs);

    protected override CreateTopicsResponse Error(CreateTopicsRequest request, ErrorCode error, string message) => new()
    {
        Topics = [.. request.Topics.Select(t => new CreateTopicsResponse.CreatableTopicResult { Name = t.Name, ErrorCode = (short)error, ErrorMessage = message })],
    };
}
