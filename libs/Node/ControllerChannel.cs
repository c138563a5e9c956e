using Aspire.Kafka.Client;
using Aspire.Kafka.Protocol;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Node;

/// <summary>
/// Requests to the active controller (Kafka's NodeToControllerChannelManager): sends to the
/// Raft leader the <see cref="ClusterMetadataFollower"/> knows (else each voter in turn), and
/// retries — after controller.quorum.retry.backoff.ms, growing — when the node cannot be reached
/// or the response says NOT_CONTROLLER, until the deadline.
/// </summary>
public sealed class ControllerChannel : IAsyncDisposable
{
    private readonly NodeSettings _settings;
    private readonly ClusterMetadataFollower _follower;
    private readonly NetworkClient _client;
    private readonly ILogger<ControllerChannel> _logger;
    private int _nextVoter;

    public ControllerChannel(NodeSettings settings, ClusterMetadataFollower follower, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _settings = settings;
        _follower = follower;
        _logger = loggerFactory.CreateLogger<ControllerChannel>();
        _client = new NetworkClient(new KafkaClientOptions
        {
            ClientId = $"{(settings.Role == Metadata.NodeRole.Broker ? "broker" : "coordinator")}-{settings.NodeId}-to-controller",
            ClientSoftwareName = "aspire-kafka-node",
            RequestTimeout = TimeSpan.FromMilliseconds(settings.RequestTimeoutMs),
            SocketConnectionSetupTimeout = TimeSpan.FromMilliseconds(settings.RequestTimeoutMs),
            ReconnectBackoff = TimeSpan.FromMilliseconds(settings.RetryBackoffMs),
            ReconnectBackoffMax = TimeSpan.FromMilliseconds(500),
        }, loggerFactory: loggerFactory);
    }

    /// <summary>
    /// Sends <paramref name="request"/> to the active controller and returns its response.
    /// <paramref name="isNotController"/> says whether a response means "not the active
    /// controller, try another" (NOT_CONTROLLER in the response's error field); such responses
    /// and connection failures are retried until <paramref name="timeout"/> (default
    /// controller.quorum.request.timeout.ms × 5). Throws <see cref="TimeoutException"/> when the
    /// deadline passes with no usable answer. <paramref name="version"/> pins the request version
    /// (forwarding keeps the client's), else the highest both sides support.
    /// </summary>
    public async Task<TResponse> SendAsync<TRequest, TResponse>(
        TRequest request, Func<TResponse, bool> isNotController, TimeSpan? timeout = null, CancellationToken cancellationToken = default, short? version = null)
        where TRequest : class, IApiMessage<TRequest>
        where TResponse : class, IApiMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(isNotController);
        TimeSpan limit = timeout ?? TimeSpan.FromMilliseconds(_settings.RequestTimeoutMs * 5L);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(limit);
        var backoff = new ExponentialBackoff(TimeSpan.FromMilliseconds(_settings.RetryBackoffMs), 2, TimeSpan.FromSeconds(1), 0.2);
        int attempt = 0;
        string lastProblem = "no controller answered";
        while (true)
        {
            KafkaNode controller = PickController(attempt);
            try
            {
                TResponse response = await _client.SendAsync<TRequest, TResponse>(controller, request, version, deadline.Token).ConfigureAwait(false);
                if (!isNotController(response))
                {
                    return response;
                }

                lastProblem = $"controller {controller.Id} is not the active controller";
                _follower.ForgetLeader(controller.Id);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"{typeof(TRequest).Name} got no answer from the active controller within {limit.TotalMilliseconds:0} ms: {lastProblem}.");
            }
            catch (Exception e) when (e is KafkaClientException or IOException or System.Net.Sockets.SocketException)
            {
                lastProblem = $"controller {controller.Id} ({controller.Endpoint}): {e.Message}";
                _logger.LogDebug("{Request} to controller {Id} failed: {Message}", typeof(TRequest).Name, controller.Id, e.Message);
            }

            try
            {
                await Task.Delay(backoff.Backoff(attempt++), deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"{typeof(TRequest).Name} got no answer from the active controller within {limit.TotalMilliseconds:0} ms: {lastProblem}.");
            }
        }
    }

    private KafkaNode PickController(int attempt)
    {
        int leader = _follower.LeaderId;
        KafkaNode? known = _settings.Voters.FirstOrDefault(v => v.Id == leader);
        if (known is not null && attempt % 3 != 2)
        {
            return known;
        }

        _nextVoter = (_nextVoter + 1) % _settings.Voters.Count;
        return _settings.Voters[_nextVoter];
    }

    public ValueTask DisposeAsync() => _client.DisposeAsync();
}
