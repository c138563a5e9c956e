using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net.Sockets;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Framing;
using Aspire.Kafka.Protocol.Messages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aspire.Kafka.Client;

/// <summary>
/// One TCP connection to one node (Kafka's "channel" plus the in-flight bookkeeping of its
/// NetworkClient). Requests are pipelined: up to max.in.flight.requests.per.connection are
/// written before their responses arrive; a single reader loop matches each response to the
/// oldest request in flight by correlation id (Kafka answers in order). On open it sends
/// ApiVersions (v3, lower on UNSUPPORTED_VERSION per KIP-511) and afterwards picks, per API, the
/// highest version both sides support.
/// </summary>
/// <remarks>
/// Threading: any number of callers may send concurrently. A request is serialized by its
/// caller into a pooled buffer; a write lock then assigns the correlation id, queues the
/// request as in flight and writes the frame. One reader task parses responses and completes
/// the callers' tasks (continuations run asynchronously, never on the reader). Timeouts are
/// timers from the <see cref="TimeProvider"/>, not threads. Any failure of the connection
/// (peer closed, socket error, protocol violation, request timeout, dispose) closes it for
/// good and fails every request in flight; a new connection is the pool's job.
/// </remarks>
public sealed partial class KafkaConnection : IAsyncDisposable
{
    /// <summary>ApiVersions version sent first (as librdkafka; v3 is the first with client software name/version).</summary>
    public const short InitialApiVersionsVersion = 3;

    // size (4) + api key (2) + api version (2): where the correlation id sits in a request frame.
    private const int CorrelationIdOffset = 8;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly PipeReader _input;
    private readonly KafkaClientOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly SemaphoreSlim _inFlightSlots;
    private readonly Queue<PendingRequest> _inFlight = new();
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource<Exception> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _readLoop = Task.CompletedTask;
    private int _nextCorrelationId;
    private Exception? _closeReason;
    private NodeApiVersions? _apiVersions;

    private KafkaConnection(Socket socket, string host, int port, KafkaClientOptions options, TimeProvider time, ILogger logger)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _input = PipeReader.Create(_stream, new StreamPipeReaderOptions(pool: MemoryPool<byte>.Shared, bufferSize: 64 * 1024, minimumReadSize: 4096, leaveOpen: true));
        _options = options;
        _time = time;
        _logger = logger;
        _inFlightSlots = new SemaphoreSlim(options.MaxInFlightRequestsPerConnection, options.MaxInFlightRequestsPerConnection);
        Host = host;
        Port = port;
        Endpoint = $"{host}:{port}";
    }

    public string Host { get; }

    public int Port { get; }

    /// <summary>host:port.</summary>
    public string Endpoint { get; }

    /// <summary>False once the connection closed, for whatever reason (<see cref="CloseReason"/>).</summary>
    public bool IsConnected => Volatile.Read(ref _closeReason) is null;

    /// <summary>Why the connection closed; null while open.</summary>
    public Exception? CloseReason => Volatile.Read(ref _closeReason);

    /// <summary>Completes (with the reason) when the connection closes.</summary>
    public Task<Exception> Closed => _closed.Task;

    /// <summary>When it closed, by the connection's <see cref="TimeProvider"/>.</summary>
    public DateTimeOffset? ClosedAt { get; private set; }

    /// <summary>The negotiated version table; null when negotiation is off (<see cref="KafkaClientOptions.NegotiateApiVersions"/>).</summary>
    public NodeApiVersions? ApiVersions => _apiVersions;

    /// <summary>Requests written and not yet answered.</summary>
    public int InFlightCount
    {
        get
        {
            lock (_inFlight)
            {
                return _inFlight.Count;
            }
        }
    }

    /// <summary>
    /// Opens a connection: TCP connect within socket.connection.setup.timeout.ms, then
    /// ApiVersions negotiation (unless turned off). Throws <see cref="KafkaConnectionFailedException"/>
    /// when the node cannot be reached, or what negotiation threw.
    /// </summary>
    public static async Task<KafkaConnection> ConnectAsync(string host, int port, KafkaClientOptions? options = null,
        TimeProvider? timeProvider = null, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        options ??= new KafkaClientOptions();
        options.Validate();
        TimeProvider time = timeProvider ?? TimeProvider.System;
        string endpoint = $"{host}:{port}";
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var setupTimeout = new CancellationTokenSource(options.SocketConnectionSetupTimeout, time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, setupTimeout.Token);
            await socket.ConnectAsync(host, port, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new KafkaConnectionFailedException(endpoint,
                $"not connected within {options.SocketConnectionSetupTimeout.TotalMilliseconds:0} ms (socket.connection.setup.timeout.ms)");
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new KafkaConnectionFailedException(endpoint, $"{e.SocketErrorCode} ({e.Message})", e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var connection = new KafkaConnection(socket, host, port, options, time, logger ?? NullLogger.Instance);
        connection._readLoop = connection.ReadLoopAsync();
        try
        {
            if (options.NegotiateApiVersions)
            {
                await connection.NegotiateApiVersionsAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        LogConnected(connection._logger, endpoint, connection._apiVersions?.ToString() ?? "not negotiated");
        return connection;
    }

    /// <summary>
    /// Sends a request and waits for its response. <paramref name="version"/> null means the
    /// highest version both sides support. The response header version follows the API's rule
    /// (ApiVersions: always v0). Throws <see cref="KafkaClientException"/> subclasses.
    /// </summary>
    public Task<TResponse> SendAsync<TRequest, TResponse>(TRequest request, short? version = null, CancellationToken cancellationToken = default)
        where TRequest : class, IApiMessage<TRequest>
        where TResponse : class, IApiMessage<TResponse> =>
        SendAsync<TRequest, TResponse>(request, version, _options.RequestTimeout, cancellationToken);

    /// <summary>As <see cref="SendAsync{TRequest,TResponse}(TRequest,short?,CancellationToken)"/> with its own timeout (e.g. request.timeout.ms + a Fetch's max wait).</summary>
    public Task<TResponse> SendAsync<TRequest, TResponse>(TRequest request, short? version, TimeSpan timeout, CancellationToken cancellationToken = default)
        where TRequest : class, IApiMessage<TRequest>
        where TResponse : class, IApiMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(request);
        if (TResponse.MessageApiKey != TRequest.MessageApiKey)
        {
            throw new ArgumentException($"{typeof(TResponse).Name} does not answer {typeof(TRequest).Name}.");
        }

        if (request is ProduceRequest { Acks: 0 })
        {
            throw new ArgumentException("A Produce request with acks=0 gets no response: send it with SendWithoutResponseAsync.", nameof(request));
        }

        short v = ResolveVersion(TRequest.MessageApiKey, version);
        return SendCoreAsync(request, v, expectResponse: true, timeout, static (body, v) =>
        {
            var reader = new KafkaReader(body);
            return TResponse.Read(ref reader, v);
        }, ResponseBuffers<TResponse>.HoldsInputSlices, cancellationToken)!;
    }

    /// <summary>
    /// Sends a request the node does not answer (Produce with acks=0); completes when the frame
    /// has been written to the socket.
    /// </summary>
    public Task SendWithoutResponseAsync<TRequest>(TRequest request, short? version = null, CancellationToken cancellationToken = default)
        where TRequest : class, IApiMessage<TRequest>
    {
        ArgumentNullException.ThrowIfNull(request);
        short v = ResolveVersion(TRequest.MessageApiKey, version);
        return SendCoreAsync<TRequest, object>(request, v, expectResponse: false, _options.RequestTimeout, null, false, cancellationToken);
    }

    /// <summary>Closes the connection; requests in flight fail with <see cref="KafkaDisconnectedException"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        Close(new KafkaDisconnectedException(Endpoint, "closed by this client"), null, log: false);
        try
        {
            await _readLoop.ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    public override string ToString() => $"KafkaConnection({Endpoint}, {(IsConnected ? "open" : "closed")}, {InFlightCount} in flight)";

    private short ResolveVersion(short apiKey, short? version)
    {
        ApiMessageType type = ApiMessageTypes.Find(apiKey) ?? throw new ArgumentException($"Unknown API key {apiKey}.");
        if (_apiVersions is not { } negotiated)
        {
            short v = version ?? type.ValidVersions.Highest;
            return type.ValidVersions.Contains(v) ? v : throw new UnsupportedApiVersionException(Endpoint, apiKey, type.ValidVersions, null, v);
        }

        if (version is { } explicitVersion)
        {
            negotiated.EnsureUsable(apiKey, explicitVersion, Endpoint);
            return explicitVersion;
        }

        return negotiated.LatestUsableVersion(apiKey, Endpoint);
    }

    private async Task NegotiateApiVersionsAsync(CancellationToken cancellationToken)
    {
        short version = InitialApiVersionsVersion;
        while (true)
        {
            var request = version >= 3
                ? new ApiVersionsRequest { ClientSoftwareName = _options.ClientSoftwareName, ClientSoftwareVersion = _options.ClientSoftwareVersion }
                : new ApiVersionsRequest();
            ApiVersionsResponse response = (await SendCoreAsync(request, version, expectResponse: true, _options.RequestTimeout,
                ParseApiVersionsResponse, false, cancellationToken).ConfigureAwait(false))!;
            if (response.ErrorCode == (short)ErrorCode.UnsupportedVersion && version > 0)
            {
                // KIP-511: the node answered in v0 with the versions it has; retry at the highest
                // of ours it supports (v0 when it does not say).
                ApiVersionsResponse.ApiVersion? theirs = response.ApiKeys.Find(k => k.ApiKey == ApiKeys.ApiVersions);
                short next = theirs is null ? (short)0 : Math.Min(theirs.MaxVersion, (short)(version - 1));
                LogApiVersionsFallback(_logger, Endpoint, version, next);
                version = Math.Max((short)0, next);
                continue;
            }

            if (response.ErrorCode != (short)ErrorCode.None)
            {
                throw new KafkaErrorException((ErrorCode)response.ErrorCode, $"ApiVersions v{version} to {Endpoint} failed");
            }

            _apiVersions = new NodeApiVersions(response.ApiKeys);
            return;
        }
    }

    /// <summary>
    /// A node that does not support our ApiVersions version answers in v0 with UNSUPPORTED_VERSION
    /// (KIP-511), so the body is read at v0 then; a body that does not parse at the requested
    /// version is retried at v0 as Kafka's client does.
    /// </summary>
    private static ApiVersionsResponse ParseApiVersionsResponse(ReadOnlyMemory<byte> body, short version)
    {
        if (version > 0 && body.Length >= 2 && BinaryPrimitives.ReadInt16BigEndian(body.Span) == (short)ErrorCode.UnsupportedVersion)
        {
            version = 0;
        }

        try
        {
            var reader = new KafkaReader(body);
            return ApiVersionsResponse.Read(ref reader, version);
        }
        catch (KafkaProtocolException) when (version > 0)
        {
            var reader = new KafkaReader(body);
            return ApiVersionsResponse.Read(ref reader, 0);
        }
    }

    private async Task<TResponse?> SendCoreAsync<TRequest, TResponse>(TRequest request, short version, bool expectResponse, TimeSpan timeout,
        ResponseParser<TResponse>? parser, bool responseHoldsSlices, CancellationToken cancellationToken)
        where TRequest : class, IApiMessage<TRequest>
        where TResponse : class
    {
        ThrowIfClosed();
        ApiMessageType type = ApiMessageTypes.Find(TRequest.MessageApiKey)!;

        // Serialize outside the lock; the correlation id is patched in once the order is known.
        var frame = new KafkaWriter(512);
        PendingRequest<TResponse> pending;
        try
        {
            int sizePosition = KafkaFrame.BeginFrame(frame);
            new RequestHeader
            {
                RequestApiKey = TRequest.MessageApiKey,
                RequestApiVersion = version,
                CorrelationId = 0,
                ClientId = _options.ClientId,
            }.Write(frame, type.RequestHeaderVersion(version));
            request.Write(frame, version);
            KafkaFrame.EndFrame(frame, sizePosition);

            pending = new PendingRequest<TResponse>(this, type, version, type.ResponseHeaderVersion(version), parser, responseHoldsSlices);
            await AcquireAsync(_inFlightSlots, cancellationToken).ConfigureAwait(false);
            bool slotHeld = true;
            try
            {
                await AcquireAsync(_writeLock, cancellationToken).ConfigureAwait(false);
                try
                {
                    ThrowIfClosed();
                    pending.CorrelationId = _nextCorrelationId;
                    _nextCorrelationId = _nextCorrelationId == int.MaxValue ? 0 : _nextCorrelationId + 1;
                    frame.PatchInt32(sizePosition + CorrelationIdOffset, pending.CorrelationId);
                    if (expectResponse)
                    {
                        // Queued before the bytes leave, so the response always finds it; the slot
                        // now belongs to the queue entry and is released when it leaves the queue.
                        lock (_inFlight)
                        {
                            _inFlight.Enqueue(pending);
                        }

                        slotHeld = false;
                    }

                    pending.Start(timeout, expectResponse ? cancellationToken : CancellationToken.None);
                    try
                    {
                        // Never the caller's token: a half-written frame would desynchronize the stream.
                        await _stream.WriteAsync(frame.WrittenMemory, _closing.Token).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
                    {
                        // Already failed when a timeout closed the connection; else it gets the disconnect.
                        Close(new KafkaDisconnectedException(Endpoint, "write failed", e), null);
                        pending.TryFail(new KafkaDisconnectedException(Endpoint, $"could not write the {type.Name} request", e));
                    }
                }
                finally
                {
                    _writeLock.Release();
                }
            }
            finally
            {
                if (slotHeld)
                {
                    _inFlightSlots.Release();
                }
            }
        }
        finally
        {
            frame.Dispose();
        }

        if (!expectResponse)
        {
            pending.TryComplete(null);
        }

        return await pending.Task.ConfigureAwait(false);
    }

    private async ValueTask AcquireAsync(SemaphoreSlim semaphore, CancellationToken cancellationToken)
    {
        if (semaphore.Wait(0))
        {
            return;
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closing.Token);
        try
        {
            await semaphore.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw ClosedException();
        }
    }

    private void ThrowIfClosed()
    {
        if (!IsConnected)
        {
            throw ClosedException();
        }
    }

    private KafkaDisconnectedException ClosedException() =>
        new(Endpoint, $"the connection is closed ({CloseReason?.Message ?? "closing"})", CloseReason);

    private async Task ReadLoopAsync()
    {
        await Task.Yield();
        Exception? failure = null;
        try
        {
            while (true)
            {
                ReadResult result = await _input.ReadAsync(_closing.Token).ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = result.Buffer;
                try
                {
                    while (KafkaFrame.TryRead(ref buffer, _options.MaxResponseSize, out ReadOnlySequence<byte> frame))
                    {
                        HandleResponse(frame);
                    }

                    if (result.IsCompleted || result.IsCanceled)
                    {
                        failure = new KafkaDisconnectedException(Endpoint, buffer.IsEmpty ? "the node closed the connection" : "the node closed the connection in the middle of a response");
                        break;
                    }
                }
                finally
                {
                    _input.AdvanceTo(buffer.Start, buffer.End);
                }
            }
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested)
        {
        }
        catch (FrameSizeException e)
        {
            failure = new KafkaProtocolViolationException(Endpoint, e.Message, e);
        }
        catch (KafkaProtocolViolationException e)
        {
            failure = e;
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            failure = new KafkaDisconnectedException(Endpoint, e.Message, e);
        }
        catch (Exception e)
        {
            // Never leave callers waiting on a reader that died.
            failure = new KafkaDisconnectedException(Endpoint, $"the response reader failed: {e.Message}", e);
        }
        finally
        {
            await _input.CompleteAsync().ConfigureAwait(false);
        }

        if (failure is not null)
        {
            // A protocol violation reaches every request in flight as what it is (not as a
            // plain disconnect): callers must not mistake a broken node for a network blip.
            Close(failure, failure switch
            {
                CorrelationIdMismatchException mismatch => _ => new CorrelationIdMismatchException(Endpoint, mismatch.Expected, mismatch.Received),
                KafkaProtocolViolationException violation => _ => new KafkaProtocolViolationException(Endpoint, violation.Detail, violation),
                _ => null,
            });
        }
    }

    private void HandleResponse(ReadOnlySequence<byte> frame)
    {
        if (frame.Length < 4)
        {
            throw new KafkaProtocolViolationException(Endpoint, $"a response of {frame.Length} bytes has no correlation id");
        }

        Span<byte> prefix = stackalloc byte[4];
        frame.Slice(0, 4).CopyTo(prefix);
        int correlationId = BinaryPrimitives.ReadInt32BigEndian(prefix);

        PendingRequest? pending;
        lock (_inFlight)
        {
            if (!_inFlight.TryPeek(out pending))
            {
                throw new KafkaProtocolViolationException(Endpoint, $"a response with correlation id {correlationId} arrived with no request in flight");
            }

            if (pending.CorrelationId != correlationId)
            {
                throw new CorrelationIdMismatchException(Endpoint, pending.CorrelationId, correlationId);
            }

            _inFlight.Dequeue();
        }

        _inFlightSlots.Release();
        pending.Deliver(frame);
    }

    /// <summary>
    /// Closes once: records the reason, stops the reader and writers, closes the socket and fails
    /// every request in flight (with <paramref name="failureFor"/>'s exception, else a disconnect).
    /// </summary>
    internal void Close(Exception reason, Func<PendingRequest, Exception>? failureFor, bool log = true)
    {
        if (Interlocked.CompareExchange(ref _closeReason, reason, null) is not null)
        {
            return;
        }

        ClosedAt = _time.GetUtcNow();
        if (log)
        {
            LogClosed(_logger, Endpoint, reason.Message);
        }

        try
        {
            _closing.Cancel();
        }
        catch (AggregateException)
        {
        }

        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }

        _stream.Dispose();

        PendingRequest[] failed;
        lock (_inFlight)
        {
            failed = [.. _inFlight];
            _inFlight.Clear();
        }

        foreach (PendingRequest pending in failed)
        {
            pending.TryFail(failureFor?.Invoke(pending)
                ?? new KafkaDisconnectedException(Endpoint, $"{reason.Message} (while {pending.ApiName} request {pending.CorrelationId} was in flight)", reason));
        }

        _closed.TrySetResult(reason);
    }

    private void OnRequestTimeout(PendingRequest pending, TimeSpan timeout)
    {
        var timedOut = new KafkaRequestTimeoutException(Endpoint, pending.ApiName, pending.CorrelationId, timeout);
        if (pending.TryFail(timedOut))
        {
            Close(timedOut, null);
        }
    }

    internal delegate T ResponseParser<out T>(ReadOnlyMemory<byte> body, short version);

    /// <summary>One request between write and response.</summary>
    internal abstract class PendingRequest(KafkaConnection connection, ApiMessageType type, short version, short responseHeaderVersion)
    {
        private ITimer? _timer;
        private CancellationTokenRegistration _cancellation;

        public KafkaConnection Connection { get; } = connection;

        public string ApiName => type.Name;

        public short Version { get; } = version;

        public short ResponseHeaderVersion { get; } = responseHeaderVersion;

        public int CorrelationId { get; set; }

        public void Start(TimeSpan timeout, CancellationToken cancellationToken)
        {
            _timer = Connection._time.CreateTimer(static state =>
            {
                var (self, t) = ((PendingRequest, TimeSpan))state!;
                self.Connection.OnRequestTimeout(self, t);
            }, (this, timeout), timeout, Timeout.InfiniteTimeSpan);
            if (cancellationToken.CanBeCanceled)
            {
                // A request already written stays in the queue when its caller gives up: its
                // response still arrives and is dropped, and the connection stays in step.
                _cancellation = cancellationToken.UnsafeRegister(static (state, token) => ((PendingRequest)state!).TryCancel(token), this);
            }
        }

        public abstract void Deliver(ReadOnlySequence<byte> frame);

        public abstract bool TryFail(Exception exception);

        protected abstract bool TryCancel(CancellationToken token);

        protected void Cleanup()
        {
            _timer?.Dispose();
            _cancellation.Unregister();
        }
    }

    internal sealed class PendingRequest<TResponse>(KafkaConnection connection, ApiMessageType type, short version, short responseHeaderVersion,
        ResponseParser<TResponse>? parser, bool responseHoldsSlices)
        : PendingRequest(connection, type, version, responseHeaderVersion)
        where TResponse : class
    {
        private readonly TaskCompletionSource<TResponse?> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<TResponse?> Task => _completion.Task;

        public override void Deliver(ReadOnlySequence<byte> frame)
        {
            if (_completion.Task.IsCompleted || parser is null)
            {
                return; // the caller gave up (cancelled); the response only kept the stream in step
            }

            int length = (int)frame.Length;
            // Responses with zero-copy fields (Fetch records) keep slices of their buffer, so they
            // get their own array; the rest are parsed from a pooled one.
            byte[] buffer = responseHoldsSlices ? new byte[length] : ArrayPool<byte>.Shared.Rent(length);
            try
            {
                frame.CopyTo(buffer);
                var reader = new KafkaReader(buffer.AsMemory(0, length));
                ResponseHeader.Read(ref reader, ResponseHeaderVersion);
                TResponse response = parser(reader.RemainingMemory, Version);
                TryComplete(response);
            }
            catch (KafkaProtocolException e)
            {
                var violation = new KafkaProtocolViolationException(Connection.Endpoint,
                    $"{ApiName} v{Version} response (correlation id {CorrelationId}) does not parse: {e.Message}", e);
                TryFail(violation);
                throw violation;
            }
            finally
            {
                if (!responseHoldsSlices)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }

        public bool TryComplete(TResponse? response)
        {
            if (_completion.TrySetResult(response))
            {
                Cleanup();
                return true;
            }

            return false;
        }

        public override bool TryFail(Exception exception)
        {
            if (_completion.TrySetException(exception))
            {
                Cleanup();
                return true;
            }

            return false;
        }

        protected override bool TryCancel(CancellationToken token)
        {
            if (_completion.TrySetCanceled(token))
            {
                Cleanup();
                return true;
            }

            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Connected to {Endpoint}; usable versions: {Versions}")]
    private static partial void LogConnected(ILogger logger, string endpoint, string versions);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Endpoint} does not support ApiVersions v{Version}; retrying with v{Next} (KIP-511)")]
    private static partial void LogApiVersionsFallback(ILogger logger, string endpoint, short version, short next);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection to {Endpoint} closed: {Reason}")]
    private static partial void LogClosed(ILogger logger, string endpoint, string reason);
}

/// <summary>Whether a generated message (or a nested struct) has zero-copy fields that slice the input buffer.</summary>
internal static class ResponseBuffers<T>
{
    public static readonly bool HoldsInputSlices = Compute(typeof(T), []);

    private static bool Compute(Type type, HashSet<Type> seen)
    {
        if (!seen.Add(type))
        {
            return false;
        }

        foreach (System.Reflection.PropertyInfo property in type.GetProperties())
        {
            Type t = property.PropertyType;
            if (t == typeof(ReadOnlyMemory<byte>) || t == typeof(ReadOnlyMemory<byte>?))
            {
                return true;
            }
        }

        foreach (Type nested in type.GetNestedTypes())
        {
            if (Compute(nested, seen))
            {
                return true;
            }
        }

        return false;
    }
}
