using Aspire.Kafka.Controller;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.ControllerService.Apis;

/// <summary>CreatePartitions (key 37): increase only.</summary>
public sealed class CreatePartitionsApi(RaftManager raft) : ControllerApi<CreatePartitionsRequest, CreatePartitionsResponse>(raft)
{
    protected override ControllerResult<CreatePartitionsResponse> Run(QuorumController controller, CreatePartitionsRequest request, short version, long nowMs) =>
        controller.CreatePartitions(request, nowMs);

    protected override CreatePartitionsResponse NotController(CreatePartitionsRequest request) => new()
    {
        Results = [.. request.Topics.Select(t => new CreatePartitionsResponse.CreatePartitionsTopicResult { Name = t.Name, ErrorCode = (short)ErrorCode.NotController })],
    };
}
