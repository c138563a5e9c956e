using Aspire.Kafka.Controller;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.ControllerService.Apis;

/// <summary>DeleteTopics (key 20), by name or id.</summary>
public sealed class DeleteTopicsApi(RaftManager raft) : ControllerApi<DeleteTopicsRequest, DeleteTopicsResponse>(raft)
{
    protected override ControllerResult<DeleteTopicsResponse> Run(QuorumController controller, DeleteTopicsRequest request, short version, long nowMs) =>
        controller.DeleteTopics(request, nowMs);

    protected override DeleteTopicsResponse NotController(DeleteTopicsRequest request) => new()
    {
        Responses =
        [
            .. request.TopicNames.Select(name => new DeleteTopicsResponse.DeletableTopicResult { Name = name, ErrorCode = (short)ErrorCode.NotController }),
            .. request.Topics.Select(t => new DeleteTopicsResponse.DeletableTopicResult { Name = t.Name, TopicId = t.TopicId, ErrorCode = (short)ErrorCode.NotController }),
        ],
    };
}
