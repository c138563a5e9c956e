using Aspire.Kafka.Controller;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.ControllerService.Apis;

/// <summary>
/// A broker- or client-facing request served by the active controller: the QuorumController
/// operation runs on the Raft loop, its records are appended through Raft, and the response goes
/// out once they are committed. A controller that is not active answers NOT_CONTROLLER.
/// </summary>
public abstract class ControllerApi<TRequest, TResponse>(RaftManager raft) : KafkaApi<TRequest, TResponse>
    where TRequest : class, IApiMessage<TRequest>
    where TResponse : class, IApiMessage<TResponse>
{
    protected RaftManager Raft { get; } = raft;

    /// <summary>The API's name (CreateTopics, AlterPartition…): the operation of its controller write span.</summary>
    private static readonly string OperationName = ApiMessageTypes.Find(TRequest.MessageApiKey)?.Name ?? typeof(TRequest).Name;

    protected abstract ControllerResult<TResponse> Run(QuorumController controller, TRequest request, short version, long nowMs);

    /// <summary>The response carrying NOT_CONTROLLER wherever the response has an error code.</summary>
    protected abstract TResponse NotController(TRequest request);

    protected override async ValueTask<TResponse?> HandleAsync(RequestContext context, TRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return await Raft.SubmitAsync(OperationName, (controller, now) => Run(controller, request, context.ApiVersion, now), cancellationToken).ConfigureAwait(false);
        }
        catch (NotControllerException)
        {
            return NotController(request);
        }
    }
}
