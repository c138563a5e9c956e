using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Node.Apis;

/// <summary>CreatePartitions (key 37), forwarded to the active controller.</summary>
public sealed class CreatePartitionsApi(ControllerChannel controller) : ForwardedApi<CreatePartitionsRequest, CreatePartitionsResponse>(controller)
{
    protected override bool IsNotController(CreatePartitionsResponse response) => response.Results.Any(t => t.ErrorCode == (short)ErrorCode.NotController);

    protected override TimeSpan? Timeout(CreatePartitionsRequest request) => AtLeast5s(request.TimeoutMs);

    protected override CreatePartitionsResponse Error(CreatePartitionsRequest request, ErrorCode error, string message) => new()
    {
        Results = [.. request.Topics.Select(t => new CreatePartitionsResponse.CreatePartitionsTopicResult { Name = t.Name, ErrorCode = (short)error, ErrorMessage = message })],
    };
}
