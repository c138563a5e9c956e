using Aspire.Kafka.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aspire.Kafka.Client;

/// <summary>
/// Connections to the nodes of a cluster, one per host:port, opened lazily on first use (Kafka's
/// NetworkClient with its ClusterConnectionStates). A node whose connect failed or whose
/// connection was lost is retried after reconnect.backoff.ms, doubling per failure up to
/// reconnect.backoff.max.ms with ±20 % jitter; a successful connect (including ApiVersions)
/// resets that. Concurrent callers of a node share one connect attempt. Thread-safe.
/// </summary>
public sealed partial class NetworkClient : IAsyncDisposable
{
    private readonly KafkaClientOptions _options;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly ExponentialBackoff _reconnectBackoff;
    private readonly Dictionary<string, NodeState> _nodes = new(StringComparer.OrdinalIgnoreCase);
    private readonly CancellationTokenSource _disposing = new();

    public NetworkClient(KafkaClientOptions? options = null, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null, Random? random = null)
    {
        _options = options ?? new KafkaClientOptions();
        _options.Validate();
        _time = timeProvider ?? TimeProvider.System;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<NetworkClient>();
        _reconnectBackoff = ExponentialBackoff.Reconnect(_options, random);
    }

    public KafkaClientOptions Options => _options;

    public TimeProvider TimeProvider => _time;

    /// <summary>Sends a request to a node (connecting if needed) and waits for the response.</summary>
    public async Task<TResponse> SendAsync<TRequest, TResponse>(KafkaNode node, TRequest request, short? version = null, CancellationToken cancellationToken = default)
        where TRequest : class, IApiMessage<TRequest>
        where TResponse : class, IApiMessage<TResponse>
    {
        KafkaConnection connection = await GetConnectionAsync(node, cancellationToken).ConfigureAwait(false);
        return await connection.SendAsync<TRequest, TResponse>(request, version, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends a request the node does not answer (Produce acks=0); completes when written.</summary>
    public async Task SendWithoutResponseAsync<TRequest>(KafkaNode node, TRequest request, short? version = null, CancellationToken cancellationToken = default)
        where TRequest : class, IApiMessage<TRequest>
    {
        KafkaConnection connection = await GetConnectionAsync(node, cancellationToken).ConfigureAwait(false);
        await connection.SendWithoutResponseAsync(request, version, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The open connection to the node, or a new one once the reconnect backoff has passed.
    /// Throws <see cref="KafkaConnectionFailedException"/> (or what ApiVersions threw) when the
    /// attempt fails; every caller waiting on that attempt gets the same failure.
    /// </summary>
    public Task<KafkaConnection> GetConnectionAsync(KafkaNode node, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposing.IsCancellationRequested, this);
        NodeState state = StateOf(node);
        Task<KafkaConnection> attempt;
        lock (state)
        {
            if (ReapDeadConnection(state) is { } open)
            {
                return Task.FromResult(open);
            }

            state.Connecting ??= ConnectAsync(node, state);
            attempt = state.Connecting;
            if (attempt.IsCompleted)
            {
                state.Connecting = null; // finished synchronously, before it could clear itself
            }
        }

        return attempt.WaitAsync(cancellationToken);
    }

    /// <summary>How long until the next connect attempt to the node may start (zero: now, or connected).</summary>
    public TimeSpan ConnectionDelay(KafkaNode node)
    {
        NodeState state = StateOf(node);
        lock (state)
        {
            if (ReapDeadConnection(state) is not null)
            {
                return TimeSpan.Zero;
            }

            TimeSpan delay = state.NextAttemptAt - _time.GetUtcNow();
            return delay > TimeSpan.Zero ? delay : TimeSpan.Zero;
        }
    }

    /// <summary>Connect failures (and lost connections) since the last successful connect.</summary>
    public int FailedAttempts(KafkaNode node)
    {
        NodeState state = StateOf(node);
        lock (state)
        {
            return state.FailedAttempts;
        }
    }

    /// <summary>True when an open connection to the node exists.</summary>
    public bool IsConnected(KafkaNode node)
    {
        NodeState state = StateOf(node);
        lock (state)
        {
            return state.Connection is { IsConnected: true };
        }
    }

    /// <summary>Closes the connection to a node (no backoff penalty); the next use reconnects.</summary>
    public async ValueTask CloseAsync(KafkaNode node)
    {
        NodeState state = StateOf(node);
        KafkaConnection? connection;
        lock (state)
        {
            connection = state.Connection;
            state.Connection = null;
        }

        if (connection is not null)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposing.IsCancellationRequested)
        {
            return;
        }

        _disposing.Cancel();
        List<KafkaConnection> open = [];
        lock (_nodes)
        {
            foreach (NodeState state in _nodes.Values)
            {
                lock (state)
                {
                    if (state.Connection is { } c)
                    {
                        open.Add(c);
                        state.Connection = null;
                    }
                }
            }
        }

        foreach (KafkaConnection connection in open)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private NodeState StateOf(KafkaNode node)
    {
        lock (_nodes)
        {
            if (!_nodes.TryGetValue(node.Endpoint, out NodeState? state))
            {
                state = new NodeState();
                _nodes.Add(node.Endpoint, state);
            }

            return state;
        }
    }

    private async Task<KafkaConnection> ConnectAsync(KafkaNode node, NodeState state)
    {
        try
        {
            TimeSpan delay;
            lock (state)
            {
                delay = state.NextAttemptAt - _time.GetUtcNow();
            }

            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, _time, _disposing.Token).ConfigureAwait(false);
            }

            KafkaConnection connection = await KafkaConnection.ConnectAsync(node.Host, node.Port, _options, _time,
                _loggerFactory.CreateLogger<KafkaConnection>(), _disposing.Token).ConfigureAwait(false);
            lock (state)
            {
                state.Connection = connection;
                state.Connecting = null;
                state.FailedAttempts = 0;
                state.NextAttemptAt = default;
            }

            return connection;
        }
        catch (Exception e)
        {
            lock (state)
            {
                state.Connecting = null;
                if (!_disposing.IsCancellationRequested)
                {
                    RecordFailure(state, _time.GetUtcNow());
                }
            }

            if (_disposing.IsCancellationRequested)
            {
                throw new ObjectDisposedException(nameof(NetworkClient), e);
            }

            LogConnectFailed(_logger, node.ToString(), state.FailedAttempts, (state.NextAttemptAt - _time.GetUtcNow()).TotalMilliseconds, e.Message);
            throw;
        }
    }

    /// <summary>The open connection, or null; a connection lost since last use counts as a failure (backoff from when it closed).</summary>
    private KafkaConnection? ReapDeadConnection(NodeState state)
    {
        if (state.Connection is not { } connection)
        {
            return null;
        }

        if (connection.IsConnected)
        {
            return connection;
        }

        state.Connection = null;
        RecordFailure(state, connection.ClosedAt ?? _time.GetUtcNow());
        return null;
    }

    private void RecordFailure(NodeState state, DateTimeOffset at)
    {
        state.NextAttemptAt = at + _reconnectBackoff.Backoff(state.FailedAttempts);
        state.FailedAttempts++;
    }

    private sealed class NodeState
    {
        public KafkaConnection? Connection;
        public Task<KafkaConnection>? Connecting;
        public int FailedAttempts;
        public DateTimeOffset NextAttemptAt;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connection to {Node} failed (attempt {Attempts}); next attempt in {BackoffMs:0} ms: {Reason}")]
    private static partial void LogConnectFailed(ILogger logger, string node, int attempts, double backoffMs, string reason);
}
