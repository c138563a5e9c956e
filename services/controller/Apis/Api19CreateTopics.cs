using Aspire.Kafka.Controller;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.ControllerService.Apis;

/// <summary>CreateTopics (key 19), validated and placed by the QuorumController.</summary>
public sealed class CreateTopicsApi(RaftManager raft) : ControllerApi<CreateTopicsRequest, CreateTopicsResponse>(raft)
{
    protected override ControllerResult<CreateTopicsResponse> Run(QuorumController controller, CreateTopicsRequest request, short version, long nowMs) =>
        controller.CreateTopics(request, nowMs);

    protected override CreateTopicsResponse NotController(CreateTopicsRequest request) => new()
    {
        Topics = [.. request.Topics.Select(t => new CreateTopicsResponse.CreatableTopicResult
        {
            Name = t.Name,
            ErrorCode = (short)ErrorCode.NotController,
            ErrorMessage = "This node is not the active controller.",
        })],
    };
}
