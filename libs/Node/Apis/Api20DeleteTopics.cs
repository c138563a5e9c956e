using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Node.Apis;

/// <summary>DeleteTopics (key 20), forwarded to the active controller (delete.topic.enable is the controller's).</summary>
public sealed class DeleteTopicsApi(ControllerChannel controller) : ForwardedApi<DeleteTopicsRequest, DeleteTopicsResponse>(controller)
{
    protected override bool IsNotController(DeleteTopicsResponse response) => response.Responses.Any(t => t.ErrorCode == (short)ErrorCode.NotController);

    protected override TimeSpan? Timeout(DeleteTopicsRequest request) => AtLeast5s(request.TimeoutMs);

    protected override DeleteTopicsResponse Error(DeleteTopicsRequest request, ErrorCode error, string message) => new()
    {
        Responses =
        [
            .. request.TopicNames.Select(name => new DeleteTopicsResponse.DeletableTopicResult { Name = name, ErrorCode = (short)error, ErrorMessage = message }),
            .. request.Topics.Select(t => new DeleteTopicsResponse.DeletableTopicResult { Name = t.Name, TopicId = t.TopicId, ErrorCode = (short)error, ErrorMessage = message }),
        ],
    };
}
