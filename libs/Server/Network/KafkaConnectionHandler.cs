using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Pipelines;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Framing;
using Aspire.Kafka.ServiceDefaults.Configuration;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Server;

/// <summary>
/// Kestrel connection handler for the Kafka listeners: reads size-prefixed frames, hands each to
/// the service's <see cref="IKafkaRequestHandler"/> one at a time, writes the size-prefixed
/// responses in request order. A bad frame size or a handler exception closes only this
/// connection, with one log line.
/// </summary>
public sealed partial class KafkaConnectionHandler : ConnectionHandler
{
    /// <summary>The key under which the listener middleware stores the listener name in <see cref="ConnectionContext.Items"/>.</summary>
    public const string ListenerNameItem = "aspire.kafka.listener";

    /// <summary>The ActivitySource of the connection loop: one Server span "kafka.request" per request (only while someone listens).</summary>
    public static readonly ActivitySource ActivitySource = new(KafkaNetworkMetrics.MeterName);

    /// <summary>The operation name of the per-request span (the request handler may give it a display name, e.g. the API).</summary>
    public const string RequestSpanName = "kafka.request";

    private const int FlushThreshold = 64 * 1024;

    private readonly IKafkaRequestHandler _handler;
    private readonly KafkaNetworkMetrics _metrics;
    private readonly ILogger<KafkaConnectionHandler> _logger;
    private readonly int _maxFrameSize;
    private readonly KafkaSocketServerOptions _socketServer;
    private readonly SemaphoreSlim _ioSlots;

    public KafkaConnectionHandler(IKafkaRequestHandler handler, KafkaNetworkMetrics metrics, KafkaConfig config, ILogger<KafkaConnectionHandler> logger)
    {
        _handler = handler;
        _metrics = metrics;
        _logger = logger;
        _maxFrameSize = config.GetInt(ServiceDefaultsConfig.SocketRequestMaxBytes);
        _socketServer = KafkaSocketServerOptions.From(config);
        _ioSlots = new SemaphoreSlim(_socketServer.IoThreads, _socketServer.IoThreads);
    }

    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        string listener = connection.Items.TryGetValue(ListenerNameItem, out object? name) && name is string s ? s : "UNKNOWN";
        _socketServer.ApplyTo(connection.Features.Get<IConnectionSocketFeature>()?.Socket);
        var context = new KafkaConnectionContext(connection.ConnectionId, listener, connection.RemoteEndPoint, connection.LocalEndPoint);
        CancellationToken cancellationToken = connection.ConnectionClosed;
        PipeReader input = connection.Transport.Input;
        PipeWriter output = connection.Transport.Output;
        using var response = new KafkaWriter(4096);
        // When the server stops (after the service's own stopping work, e.g. a broker's controlled
        // shutdown), Kestrel asks every connection to close and otherwise waits for them up to
        // shutdown.timeout.ms: Kafka clients keep idle connections open, so the loop stops reading
        // once the request in hand is answered and closes the connection itself.
        using CancellationTokenRegistration closeRequested = connection.Features.Get<IConnectionLifetimeNotificationFeature>() is { } lifetime
            ? lifetime.ConnectionClosedRequested.Register(static reader => ((PipeReader)reader!).CancelPendingRead(), input)
            : default;
        byte[]? contiguous = null;
        string? error = null;
        _metrics.Opened(listener);
        LogOpened(connection.RemoteEndPoint, listener);
        try
        {
            while (true)
            {
                ReadResult result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = result.Buffer;
                try
                {
                    int unflushed = 0;
                    while (KafkaFrame.TryRead(ref buffer, _maxFrameSize, out ReadOnlySequence<byte> frame))
                    {
                        long started = Stopwatch.GetTimestamp();
                        ReadOnlyMemory<byte> request;
                        if (frame.IsSingleSegment)
                        {
                            request = frame.First;
                        }
                        else
                        {
                            int length = (int)frame.Length;
                            if (contiguous is null || contiguous.Length < length)
                            {
                                if (contiguous is not null)
                                {
                                    ArrayPool<byte>.Shared.Return(contiguous);
                                }

                                contiguous = ArrayPool<byte>.Shared.Rent(length);
                            }

                            frame.CopyTo(contiguous);
                            request = contiguous.AsMemory(0, length);
                        }

                        short apiKey = request.Length >= 2 ? BinaryPrimitives.ReadInt16BigEndian(request.Span) : (short)-1;
                        // Null unless a listener samples kafka.request (no cost when nobody traces);
                        // tags only when it records them.
                        using Activity? activity = ActivitySource.StartActivity(RequestSpanName, ActivityKind.Server);
                        if (activity is { IsAllDataRequested: true })
                        {
                            activity.SetTag("kafka.listener", listener);
                            activity.SetTag("kafka.request.size", request.Length + 4);
                            context.RequestActivity = activity;
                        }

                        response.Reset();
                        int sizePosition = KafkaFrame.BeginFrame(response);
                        bool respond;
                        try
                        {
                            respond = await HandleWithIoSlotAsync(context, request, response, cancellationToken).ConfigureAwait(false);
                        }
                        catch (Exception e) when (MarkFailed(activity, e))
                        {
                            throw; // not reached: the filter returns false
                        }
                        finally
                        {
                            context.RequestActivity = null;
                        }

                        int sent = 0;
                        if (respond)
                        {
                            KafkaFrame.EndFrame(response, sizePosition);
                            // Record data a handler left in files (fetched batches) is read from
                            // the page cache straight into the pipe's memory here, not copied.
                            response.WriteTo(output);
                            sent = response.Length;
                            unflushed += sent;
                        }

                        if (activity is { IsAllDataRequested: true })
                        {
                            activity.SetTag("kafka.response.size", sent);
                        }

                        _metrics.Request(listener, apiKey, frame.Length + 4, sent, started);
                        if (unflushed >= FlushThreshold)
                        {
                            unflushed = 0;
                            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                        }
                    }

                    if (unflushed > 0)
                    {
                        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                    }
                }
                finally
                {
                    input.AdvanceTo(buffer.Start, buffer.End);
                }

                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (FrameSizeException e)
        {
            error = "frame_size";
            LogClosed(connection.RemoteEndPoint, listener, e.Message);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The peer went away or the server is stopping.
        }
        catch (ConnectionResetException)
        {
        }
        catch (IOException)
        {
        }
        catch (Exception e)
        {
            error = "handler";
            LogClosed(connection.RemoteEndPoint, listener, $"the request handler threw {e.GetType().Name}: {e.Message}");
        }
        finally
        {
            if (contiguous is not null)
            {
                ArrayPool<byte>.Shared.Return(contiguous);
            }

            _metrics.Closed(listener, error);
            LogClosedNormally(connection.RemoteEndPoint, listener);
        }
    }

    /// <summary>
    /// num.io.threads: a request holds one of that many slots while the handler runs up to its
    /// first wait (Kafka's request handler threads hand a waiting request to a purgatory the same
    /// way), so a long-poll fetch or an acks=all produce does not hold a slot while it waits.
    /// </summary>
    private ValueTask<bool> HandleWithIoSlotAsync(KafkaConnectionContext context, ReadOnlyMemory<byte> request, KafkaWriter response, CancellationToken cancellationToken)
    {
        if (!_ioSlots.Wait(0))
        {
            return WaitForIoSlotAsync(context, request, response, cancellationToken);
        }

        try
        {
            return _handler.HandleAsync(context, request, response, cancellationToken);
        }
        finally
        {
            _ioSlots.Release();
        }
    }

    private async ValueTask<bool> WaitForIoSlotAsync(KafkaConnectionContext context, ReadOnlyMemory<byte> request, KafkaWriter response, CancellationToken cancellationToken)
    {
        await _ioSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
        ValueTask<bool> handling;
        try
        {
            handling = _handler.HandleAsync(context, request, response, cancellationToken);
        }
        finally
        {
            _ioSlots.Release();
        }

        return await handling.ConfigureAwait(false);
    }

    /// <summary>Records a handler failure on the request span (an exception filter: returns false, the exception goes on).</summary>
    private static bool MarkFailed(Activity? activity, Exception exception)
    {
        if (activity is { IsAllDataRequested: true })
        {
            activity.AddException(exception);
            activity.SetStatus(ActivityStatusCode.Error, exception.GetType().Name);
        }

        return false;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Connection from {Remote} on listener {Listener} opened")]
    private partial void LogOpened(System.Net.EndPoint? remote, string listener);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Connection from {Remote} on listener {Listener} closed")]
    private partial void LogClosedNormally(System.Net.EndPoint? remote, string listener);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Closing connection from {Remote} on listener {Listener}: {Reason}")]
    private partial void LogClosed(System.Net.EndPoint? remote, string listener, string reason);
}
