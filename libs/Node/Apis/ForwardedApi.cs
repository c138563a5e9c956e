using Aspire.Kafka.Protocol;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Node.Apis;

/// <summary>
/// An admin request a broker or coordinator forwards to the active controller (KIP-590's
/// forwarding, done the simple way: the same request at the client's version, the controller's
/// answer returned as it is). NOT_CONTROLLER answers and unreachable controllers are retried by
/// <see cref="ControllerChannel"/>; if none answers in time every entry gets REQUEST_TIMED_OUT.
/// </summary>
public abstract class ForwardedApi<TRequest, TResponse>(ControllerChannel controller) : KafkaApi<TRequest, TResponse>
    where TRequest : class, IApiMessage<TRequest>
    where TResponse : class, IApiMessage<TResponse>
{
    /// <summary>Whether the controller's answer means "not the active controller, ask another".</summary>
    protected abstract bool IsNotController(TResponse response);

    /// <summary>The answer with <paramref name="error"/> in every error field the response has.</summary>
    protected abstract TResponse Error(TRequest request, ErrorCode error, string message);

    /// <summary>How long the controller gets (the request's own timeout where it has one).</summary>
    protected virtual TimeSpan? Timeout(TRequest request) => null;

    protected override async ValueTask<TResponse?> HandleAsync(RequestContext context, TRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return await controller.SendAsync<TRequest, TResponse>(request, IsNotController, Timeout(request), cancellationToken, context.ApiVersion).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            return Error(request, ErrorCode.RequestTimedOut, e.Message);
        }
    }

    /// <summary>A request timeout in ms as a forwarding deadline: at least 5 s, so a leader change in the quorum is ridden out.</summary>
    protected static TimeSpan AtLeast5s(int timeoutMs) => TimeSpan.FromMilliseconds(Math.Max(timeoutMs, 5000));
}
