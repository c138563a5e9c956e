using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Node;

/// <summary>Why no producer id could be handed out now; the InitProducerId answer carries <see cref="Error"/>.</summary>
public sealed class ProducerIdUnavailableException(ErrorCode error, string message) : Exception(message)
{
    public ErrorCode Error { get; } = error;
}

/// <summary>
/// Producer ids for InitProducerId (Kafka's RPCProducerIdManager): takes blocks of ids from the
/// active controller with AllocateProducerIds (at this node's broker epoch) and hands them out one
/// by one; when 90 % of a block is used it fetches the next in the background, so the controller
/// round trip is paid only at start-up or under a burst. Ids are never reused: a block is the
/// controller's committed promise that nobody else gets those ids, and a restarted node asks for a
/// new block rather than continuing an old one.
/// </summary>
public sealed partial class ProducerIdManager
{
    private readonly NodeSettings _settings;
    private readonly ControllerChannel _controller;
    private readonly NodeLifecycleManager _lifecycle;
    private readonly ILogger<ProducerIdManager> _logger;
    private readonly Lock _lock = new();
    private long _next;
    private long _end; // exclusive
    private long _blockStart;
    private Task<(long Start, int Length)>? _fetching;

    public ProducerIdManager(NodeSettings settings, ControllerChannel controller, NodeLifecycleManager lifecycle, ILogger<ProducerIdManager> logger)
    {
        _settings = settings;
        _controller = controller;
        _lifecycle = lifecycle;
        _logger = logger;
    }

    /// <summary>How many blocks this node has received from the controller.</summary>
    public int BlocksReceived { get; private set; }

    /// <summary>
    /// The next unused producer id. Waits for a block when none is left (up to
    /// <paramref name="timeout"/>); throws <see cref="ProducerIdUnavailableException"/> with
    /// COORDINATOR_LOAD_IN_PROGRESS (clients retry) when none arrives in time, or with the
    /// controller's error.
    /// </summary>
    public async ValueTask<long> GenerateProducerIdAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task<(long Start, int Length)> fetching;
            lock (_lock)
            {
                if (_next < _end)
                {
                    long id = _next++;
                    if (_fetching is null && _end - _next < (_end - _blockStart) / 10)
                    {
                        _fetching = FetchBlockAsync();
                    }

                    return id;
                }

                fetching = _fetching ??= FetchBlockAsync();
            }

            long start;
            int length;
            try
            {
                (start, length) = await fetching.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                throw new ProducerIdUnavailableException(ErrorCode.CoordinatorLoadInProgress, $"No producer id block from the controller within {timeout.TotalMilliseconds:0} ms.");
            }

            lock (_lock)
            {
                if (ReferenceEquals(_fetching, fetching))
                {
                    _fetching = null;
                    if (start >= _end)
                    {
                        _blockStart = start;
                        _next = start;
                        _end = start + length;
                    }
                }
            }
        }
    }

    private async Task<(long Start, int Length)> FetchBlockAsync()
    {
        await Task.Yield();
        try
        {
            long epoch = _lifecycle.BrokerEpoch;
            if (epoch < 0)
            {
                throw new ProducerIdUnavailableException(ErrorCode.CoordinatorLoadInProgress, "This node has not registered with the controller yet.");
            }

            AllocateProducerIdsResponse response = await _controller.SendAsync<AllocateProducerIdsRequest, AllocateProducerIdsResponse>(
                new AllocateProducerIdsRequest { BrokerId = _settings.NodeId, BrokerEpoch = epoch },
                r => r.ErrorCode == (short)ErrorCode.NotController).ConfigureAwait(false);
            if (response.ErrorCode != 0 || response.ProducerIdLen <= 0 || response.ProducerIdStart < 0)
            {
                var error = (ErrorCode)response.ErrorCode;
                LogAllocationRefused(error);
                throw new ProducerIdUnavailableException(
                    error == ErrorCode.StaleBrokerEpoch ? ErrorCode.CoordinatorLoadInProgress : ErrorCode.UnknownServerError,
                    $"The controller refused a producer id block: {error}.");
            }

            LogBlockReceived(response.ProducerIdStart, response.ProducerIdStart + response.ProducerIdLen - 1);
            BlocksReceived++;
            return (response.ProducerIdStart, response.ProducerIdLen);
        }
        catch (Exception e)
        {
            lock (_lock)
            {
                _fetching = null;
            }

            if (e is ProducerIdUnavailableException)
            {
                throw;
            }

            LogAllocationFailed(e.Message);
            throw new ProducerIdUnavailableException(ErrorCode.CoordinatorLoadInProgress, $"No producer id block from the controller: {e.Message}");
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Received producer id block {First}-{Last} from the controller")]
    private partial void LogBlockReceived(long first, long last);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The controller refused a producer id block: {Error}")]
    private partial void LogAllocationRefused(ErrorCode error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not get a producer id block from the controller: {Message}")]
    private partial void LogAllocationFailed(string message);
}
