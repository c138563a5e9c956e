using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Node.Apis;

/// <summary>
/// CreateTopics (key 19), forwarded to the active controller (validation, placement and errors are
/// the controller's). The answer waits until this node's metadata holds the created topics (up to the
/// request's timeout), so a client's next Metadata to this node sees them with their leaders —
/// kafkajs' createTopics({ waitForLeaders }) retries only LEADER_NOT_AVAILABLE, not an unknown topic.
/// </summary>
public sealed class CreateTopicsApi(ControllerChannel controller, ClusterMetadataFollower follower) : ForwardedApi<CreateTopicsRequest, CreateTopicsResponse>(controller)
{
    protected override bool IsNotController(CreateTopicsResponse response) => response.Topics.Any(t => t.ErrorCode == (short)ErrorCode.NotController);

    protected override TimeSpan? Timeout(CreateTopicsRequest request) => AtLeast5s(request.TimeoutMs);

    protected override CreateTopicsResponse Error(CreateTopicsRequest request, ErrorCode error, string message) => new()
    {
        Topics = [.. request.Topics.Select(t => new CreateTopicsResponse.CreatableTopicResult { Name = t.Name, ErrorCode = (short)error, ErrorMessage = message })],
    };

    protected override async ValueTask<CreateTopicsResponse?> HandleAsync(RequestContext context, CreateTopicsRequest request, CancellationToken cancellationToken)
    {
        CreateTopicsResponse? response = await base.HandleAsync(context, request, cancellationToken).ConfigureAwait(false);
        if (response is null || request.ValidateOnly)
        {
            return response;
        }

        string[] created = [.. response.Topics.Where(t => t.ErrorCode == 0).Select(t => t.Name)];
        if (created.Length > 0)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(AtLeast5s(request.TimeoutMs));
            try
            {
                await follower.WaitForAsync(image => created.All(name => image.Topics.GetTopic(name) is not null), timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Committed by the controller; this node will learn it shortly. Answer as the controller did.
            }
        }

        return response;
    }
}
