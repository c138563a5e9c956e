using System.Collections.Concurrent;
using System.Net;
using Aspire.Kafka.Client;
using Aspire.Kafka.Metadata;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Node;

/// <summary>Where a broker sends a group's requests: the group's <c>__consumer_offsets</c> partition and its coordinator node, or why it cannot.</summary>
/// <param name="Error">NONE; NOT_COORDINATOR when this broker does not lead the partition (the client looks the coordinator up again); COORDINATOR_NOT_AVAILABLE when the partition has no live coordinator.</param>
/// <param name="Partition">The group's <c>__consumer_offsets</c> partition, -1 when the topic does not exist.</param>
/// <param name="Coordinator">The coordinator node's inter-broker endpoint when <paramref name="Error"/> is NONE.</param>
/// <param name="Reason">One sentence when <paramref name="Error"/> is not NONE.</param>
public sealed record GroupRoute(ErrorCode Error, int Partition, KafkaNode? Coordinator, string? Reason);

/// <summary>A forwarded request that got no answer from the coordinator node (connection failed, timed out, or the envelope was refused).</summary>
public sealed class CoordinatorUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The broker's side of the coordination tier (design.md §4, KIP-590's forwarding applied to
/// groups): a group belongs to the broker that leads its <c>__consumer_offsets</c> partition
/// (that broker is what FindCoordinator names, as in Kafka), and that broker forwards the group's
/// requests to the coordinator node the controller assigned the partition to, in an Envelope
/// carrying the client's own header and address.
/// <para>
/// Connections: a coordinator handles the requests of one connection one at a time (as every
/// Kafka listener does), and a JoinGroup waits there until the rebalance completes, so requests of
/// different clients must not share a connection: each forwarded request leases an idle connection
/// to its coordinator (or opens one) for its duration and gives it back afterwards; a request
/// that was cancelled or timed out closes its connection instead, since the coordinator may still
/// be working on it. At most <see cref="MaxIdlePerCoordinator"/> idle connections per coordinator
/// are kept. A client's own connection still sees its requests answered in order: the broker
/// handles them one at a time.
/// </para>
/// </summary>
public sealed partial class CoordinatorChannel : IAsyncDisposable
{
    /// <summary>Idle connections kept per coordinator node; more are closed when given back.</summary>
    public const int MaxIdlePerCoordinator = 16;

    private readonly NodeSettings _settings;
    private readonly KafkaClientOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger<CoordinatorChannel> _logger;
    private readonly ConcurrentDictionary<string, ConcurrentBag<KafkaConnection>> _idle = new();
    private long _opened;
    private long _forwarded;
    private volatile bool _disposed;

    public CoordinatorChannel(NodeSettings settings, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _settings = settings;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<CoordinatorChannel>();
        _options = new KafkaClientOptions
        {
            ClientId = $"broker-{settings.NodeId}-to-coordinator",
            ClientSoftwareName = "aspire-kafka-node",
            RequestTimeout = TimeSpan.FromMilliseconds(settings.RequestTimeoutMs),
            SocketConnectionSetupTimeout = TimeSpan.FromMilliseconds(settings.RequestTimeoutMs),
        };
    }

    /// <summary>Connections opened to coordinator nodes so far.</summary>
    public long ConnectionsOpened => Interlocked.Read(ref _opened);

    /// <summary>Requests forwarded so far (answered or not).</summary>
    public long RequestsForwarded => Interlocked.Read(ref _forwarded);

    /// <summary>The default time a forwarded request gets: request.timeout.ms.</summary>
    public TimeSpan RequestTimeout => _options.RequestTimeout;

    /// <summary>Where <paramref name="groupId"/>'s requests go, from <paramref name="image"/> (see <see cref="GroupRoute"/>).</summary>
    public GroupRoute Route(MetadataImage image, string groupId)
    {
        ArgumentNullException.ThrowIfNull(image);
        CoordinatorLookup? lookup = image.FindCoordinator(groupId ?? "");
        if (lookup is null)
        {
            return new GroupRoute(ErrorCode.CoordinatorNotAvailable, -1, null, "the __consumer_offsets topic does not exist yet");
        }

        PartitionRegistration? partition = image.Topics.GetTopic(CoordinatorsImage.ConsumerOffsetsTopic)?.Partition(lookup.Partition);
        if (partition is null || partition.Leader != _settings.NodeId)
        {
            return new GroupRoute(ErrorCode.NotCoordinator, lookup.Partition, null,
                $"broker {_settings.NodeId} does not lead __consumer_offsets-{lookup.Partition} (leader {partition?.Leader ?? -1})");
        }

        if (lookup.Coordinator is not { } node || _settings.NodeEndpoint(node) is not { } endpoint)
        {
            return new GroupRoute(ErrorCode.CoordinatorNotAvailable, lookup.Partition, null, $"no live coordinator owns __consumer_offsets-{lookup.Partition}");
        }

        return new GroupRoute(ErrorCode.None, lookup.Partition, endpoint, null);
    }

    /// <summary>
    /// Sends <paramref name="request"/> — as the client sent it, at its version, with its client id,
    /// correlation id and address — to <paramref name="coordinator"/> in an Envelope and returns the
    /// coordinator's answer. Throws <see cref="CoordinatorUnavailableException"/> (one sentence)
    /// when there is none within <paramref name="timeout"/>; cancellation (the client went away)
    /// throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public async Task<TResponse> ForwardAsync<TRequest, TResponse>(KafkaNode coordinator, TRequest request, RequestContext client, TimeSpan timeout, CancellationToken cancellationToken)
        where TRequest : class, IApiMessage<TRequest>
        where TResponse : class, IApiMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(coordinator);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        ObjectDisposedException.ThrowIf(_disposed, this);
        Interlocked.Increment(ref _forwarded);
        short version = client.ApiVersion;
        ApiMessageType type = ApiMessageTypes.Find(TRequest.MessageApiKey)
            ?? throw new ArgumentException($"{typeof(TRequest).Name} has no API type.", nameof(request));
        var envelope = new EnvelopeRequest
        {
            RequestData = Embed(type, request, version, client),
            RequestPrincipal = null,
            ClientHostAddress = (client.Connection.RemoteEndPoint as IPEndPoint)?.Address.GetAddressBytes() ?? [],
        };

        KafkaConnection connection = await LeaseAsync(coordinator, cancellationToken).ConfigureAwait(false);
        bool reusable = false;
        try
        {
            EnvelopeResponse answer = await connection.SendAsync<EnvelopeRequest, EnvelopeResponse>(envelope, 0, timeout, cancellationToken).ConfigureAwait(false);
            if (answer.ErrorCode != 0 || answer.ResponseData is not { } data)
            {
                throw new CoordinatorUnavailableException(
                    $"coordinator {coordinator.Id} refused the forwarded {type.Name} v{version} with {(ErrorCode)answer.ErrorCode}");
            }

            var reader = new KafkaReader(data);
            _ = ResponseHeader.Read(ref reader, type.ResponseHeaderVersion(version));
            TResponse response = TResponse.Read(ref reader, version);
            reusable = true;
            return response;
        }
        catch (KafkaClientException e)
        {
            throw new CoordinatorUnavailableException($"{type.Name} to coordinator {coordinator.Id} ({coordinator.Endpoint}) failed: {e.Message}", e);
        }
        catch (IOException e)
        {
            throw new CoordinatorUnavailableException($"{type.Name} to coordinator {coordinator.Id} ({coordinator.Endpoint}) failed: {e.Message}", e);
        }
        finally
        {
            await GiveBackAsync(coordinator, connection, reusable).ConfigureAwait(false);
        }
    }

    /// <summary>The client's request header and body at its version, as the client framed them (without the size).</summary>
    private static byte[] Embed<TRequest>(ApiMessageType type, TRequest request, short version, RequestContext client)
        where TRequest : class, IApiMessage<TRequest>
    {
        using var writer = new KafkaWriter(256);
        new RequestHeader
        {
            RequestApiKey = type.ApiKey,
            RequestApiVersion = version,
            CorrelationId = client.Header.CorrelationId,
            ClientId = client.ClientId,
        }.Write(writer, type.RequestHeaderVersion(version));
        request.Write(writer, version);
        return writer.WrittenSpan.ToArray();
    }

    private async Task<KafkaConnection> LeaseAsync(KafkaNode coordinator, CancellationToken cancellationToken)
    {
        if (_idle.TryGetValue(coordinator.Endpoint, out ConcurrentBag<KafkaConnection>? idle))
        {
            while (idle.TryTake(out KafkaConnection? pooled))
            {
                if (pooled.IsConnected)
                {
                    return pooled;
                }

                await pooled.DisposeAsync().ConfigureAwait(false);
            }
        }

        try
        {
            KafkaConnection opened = await KafkaConnection.ConnectAsync(coordinator.Host, coordinator.Port, _options, logger: _loggerFactory.CreateLogger<KafkaConnection>(),
                cancellationToken: cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _opened);
            return opened;
        }
        catch (KafkaClientException e)
        {
            LogConnectFailed(coordinator.Id, coordinator.Endpoint, e.Message);
            throw new CoordinatorUnavailableException($"coordinator {coordinator.Id} ({coordinator.Endpoint}) cannot be reached: {e.Message}", e);
        }
    }

    private async ValueTask GiveBackAsync(KafkaNode coordinator, KafkaConnection connection, bool reusable)
    {
        if (reusable && !_disposed && connection.IsConnected)
        {
            ConcurrentBag<KafkaConnection> idle = _idle.GetOrAdd(coordinator.Endpoint, _ => []);
            if (idle.Count < MaxIdlePerCoordinator)
            {
                idle.Add(connection);
                return;
            }
        }

        await connection.DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        foreach (ConcurrentBag<KafkaConnection> idle in _idle.Values)
        {
            while (idle.TryTake(out KafkaConnection? connection))
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot reach coordinator {Id} at {Endpoint} to forward a group request: {Reason}")]
    private partial void LogConnectFailed(int id, string endpoint, string reason);
}
