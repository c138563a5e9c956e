using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Node.Apis;

/// <summary>DeleteTopics (key 20), forwarded to the active controller (delete.topic.enable is the controller's); answered once this node's metadata no longer has the deleted topics (up to the timeout), so a re-create right after works.</summary>
public sealed class DeleteTopicsApi(ControllerChannel controller, ClusterMetadataFollower follower) : ForwardedApi<DeleteTopicsRequest, DeleteTopicsResponse>(controller)
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

    protected override async ValueTask<DeleteTopicsResponse?> HandleAsync(RequestContext context, DeleteTopicsRequest request, CancellationToken cancellationToken)
    {
        DeleteTopicsResponse? response = await base.HandleAsync(context, request, cancellationToken).ConfigureAwait(false);
        var deleted = response?.Responses.Where(t => t.ErrorCode == 0).Select(t => (t.Name, t.TopicId)).ToArray() ?? [];
        if (deleted.Length > 0)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(AtLeast5s(request.TimeoutMs));
            try
            {
                await follower.WaitForAsync(
                    image => deleted.All(d => (d.Name is null || image.Topics.GetTopic(d.Name) is null) && !image.Topics.TopicsById.ContainsKey(d.TopicId)),
                    timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Committed by the controller; this node will learn it shortly.
            }
        }

        return response;
    }
}
