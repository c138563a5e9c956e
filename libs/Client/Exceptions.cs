using System.Net.Sockets;
using Aspire.Kafka.Protocol;

namespace Aspire.Kafka.Client;

/// <summary>
/// Root of everything this client throws about talking to a node. <see cref="IsRetriable"/>
/// says whether the same operation may succeed if tried again (after a metadata refresh, on a
/// new connection), so callers can write <c>catch (KafkaClientException e) when (e.IsRetriable)</c>.
/// Argument mistakes throw the usual <see cref="ArgumentException"/>; cancellation by the
/// caller's token throws <see cref="OperationCanceledException"/>.
/// </summary>
public abstract class KafkaClientException : Exception
{
    protected KafkaClientException(string message, Exception? inner = null) : base(message, inner) { }

    public abstract bool IsRetriable { get; }
}

/// <summary>Could not talk to the node at all, or lost the connection: retriable.</summary>
public abstract class KafkaNetworkException : KafkaClientException
{
    protected KafkaNetworkException(string endpoint, string message, Exception? inner) : base(message, inner) => Endpoint = endpoint;

    /// <summary>host:port of the node.</summary>
    public string Endpoint { get; }

    public override bool IsRetriable => true;
}

/// <summary>
/// The connection could not be set up: refused, unreachable, name not resolved, or the
/// connect took longer than socket.connection.setup.timeout.ms.
/// </summary>
public sealed class KafkaConnectionFailedException : KafkaNetworkException
{
    public KafkaConnectionFailedException(string endpoint, string reason, Exception? inner = null)
        : base(endpoint, $"Could not connect to {endpoint}: {reason}", inner) =>
        SocketError = (inner as SocketException)?.SocketErrorCode;

    /// <summary>The socket error (ConnectionRefused, HostNotFound…) when there was one.</summary>
    public SocketError? SocketError { get; }
}

/// <summary>
/// The connection closed (by the node, by a network error, by this client, or because another
/// request on it timed out) while this request was in flight or before it could be written.
/// </summary>
public sealed class KafkaDisconnectedException : KafkaNetworkException
{
    public KafkaDisconnectedException(string endpoint, string reason, Exception? inner = null)
        : base(endpoint, $"Connection to {endpoint} closed: {reason}", inner) { }
}

/// <summary>
/// No response within request.timeout.ms. As in Kafka's NetworkClient the connection is closed
/// with it (a late answer would be out of step), so the other requests on it fail with
/// <see cref="KafkaDisconnectedException"/>. Retriable; the request may or may not have been applied.
/// </summary>
public sealed class KafkaRequestTimeoutException : KafkaClientException
{
    public KafkaRequestTimeoutException(string endpoint, string api, int correlationId, TimeSpan timeout)
        : base($"{api} request (correlation id {correlationId}) to {endpoint} got no response within {timeout.TotalMilliseconds:0} ms (request.timeout.ms); the connection was closed.")
    {
        Endpoint = endpoint;
        Timeout = timeout;
    }

    public string Endpoint { get; }

    public TimeSpan Timeout { get; }

    public override bool IsRetriable => true;
}

/// <summary>The node answered with bytes that break the protocol; the connection was closed. Not retriable.</summary>
public class KafkaProtocolViolationException : KafkaClientException
{
    public KafkaProtocolViolationException(string endpoint, string message, Exception? inner = null)
        : base($"Protocol violation by {endpoint}: {message}", inner)
    {
        Endpoint = endpoint;
        Detail = message;
    }

    public string Endpoint { get; }

    /// <summary>What was wrong, without the endpoint.</summary>
    public string Detail { get; }

    public override bool IsRetriable => false;
}

/// <summary>A response whose correlation id is not the one of the oldest request in flight (Kafka answers in order).</summary>
public sealed class CorrelationIdMismatchException : KafkaProtocolViolationException
{
    public CorrelationIdMismatchException(string endpoint, int expected, int received)
        : base(endpoint, $"response correlation id {received} does not match the oldest request in flight ({expected}); all in-flight requests failed")
    {
        Expected = expected;
        Received = received;
    }

    public int Expected { get; }

    public int Received { get; }
}

/// <summary>The node does not serve the API, or no version both sides support. Not retriable on that node.</summary>
public sealed class UnsupportedApiVersionException : KafkaClientException
{
    public UnsupportedApiVersionException(string endpoint, short apiKey, VersionRange ours, VersionRange? theirs, short? requested = null)
        : base(Describe(endpoint, apiKey, ours, theirs, requested))
    {
        ApiKey = apiKey;
        OurVersions = ours;
        NodeVersions = theirs;
    }

    public short ApiKey { get; }

    public VersionRange OurVersions { get; }

    /// <summary>What the node advertised; null when it does not list the API.</summary>
    public VersionRange? NodeVersions { get; }

    public override bool IsRetriable => false;

    private static string Describe(string endpoint, short apiKey, VersionRange ours, VersionRange? theirs, short? requested)
    {
        string api = ApiMessageTypes.Find(apiKey)?.Name ?? $"API {apiKey}";
        string node = theirs is { } t ? $"{endpoint} supports {api} versions {t}" : $"{endpoint} does not serve {api}";
        return requested is { } v
            ? $"{api} v{v} cannot be sent: {node}, this client {ours}."
            : $"No {api} version both sides support: {node}, this client {ours}.";
    }
}

/// <summary>The node answered with a Kafka error code.</summary>
public sealed class KafkaErrorException : KafkaClientException
{
    public KafkaErrorException(ErrorCode errorCode, string? message = null, string? topic = null, int? partition = null)
        : base(Describe(errorCode, message, topic, partition))
    {
        ErrorCode = errorCode;
        Topic = topic;
        Partition = partition;
    }

    public ErrorCode ErrorCode { get; }

    public string? Topic { get; }

    public int? Partition { get; }

    public override bool IsRetriable => KafkaErrors.IsRetriable(ErrorCode);

    /// <summary>The error means the client's metadata (leader, controller, coordinator) is stale.</summary>
    public bool IsInvalidMetadata => KafkaErrors.IsInvalidMetadata(ErrorCode);

    private static string Describe(ErrorCode code, string? message, string? topic, int? partition)
    {
        string where = topic is null ? "" : partition is { } p ? $" for {topic}-{p}" : $" for {topic}";
        return $"{KafkaErrors.Name(code)}{where}" + (string.IsNullOrEmpty(message) ? "" : $": {message}");
    }
}

/// <summary>Facts about Kafka's error codes the client acts on.</summary>
public static class KafkaErrors
{
    // Kafka's RetriableException subclasses.
    private static readonly HashSet<ErrorCode> Retriable =
    [
        ErrorCode.CorruptMessage, ErrorCode.UnknownTopicOrPartition, ErrorCode.LeaderNotAvailable,
        ErrorCode.NotLeaderOrFollower, ErrorCode.RequestTimedOut, ErrorCode.NetworkException,
        ErrorCode.CoordinatorLoadInProgress, ErrorCode.CoordinatorNotAvailable, ErrorCode.NotCoordinator,
        ErrorCode.NotEnoughReplicas, ErrorCode.NotEnoughReplicasAfterAppend, ErrorCode.NotController,
        ErrorCode.ConcurrentTransactions, ErrorCode.KafkaStorageError, ErrorCode.FetchSessionIdNotFound,
        ErrorCode.InvalidFetchSessionEpoch, ErrorCode.ListenerNotFound, ErrorCode.FencedLeaderEpoch,
        ErrorCode.UnknownLeaderEpoch, ErrorCode.OffsetNotAvailable, ErrorCode.PreferredLeaderNotAvailable,
        ErrorCode.EligibleLeadersNotAvailable, ErrorCode.UnstableOffsetCommit, ErrorCode.ThrottlingQuotaExceeded,
        ErrorCode.UnknownTopicId, ErrorCode.InconsistentTopicId, ErrorCode.FetchSessionTopicIdError,
        ErrorCode.ReplicaNotAvailable,
    ];

    // Kafka's InvalidMetadataException subclasses (plus NOT_CONTROLLER): refresh metadata, then retry.
    private static readonly HashSet<ErrorCode> InvalidMetadata =
    [
        ErrorCode.UnknownTopicOrPartition, ErrorCode.LeaderNotAvailable, ErrorCode.NotLeaderOrFollower,
        ErrorCode.FencedLeaderEpoch, ErrorCode.UnknownLeaderEpoch, ErrorCode.KafkaStorageError,
        ErrorCode.NotController, ErrorCode.UnknownTopicId, ErrorCode.InconsistentTopicId,
        ErrorCode.ReplicaNotAvailable, ErrorCode.NotCoordinator, ErrorCode.CoordinatorNotAvailable,
    ];

    public static bool IsRetriable(ErrorCode code) => Retriable.Contains(code);

    public static bool IsInvalidMetadata(ErrorCode code) => InvalidMetadata.Contains(code);

    /// <summary>Kafka's spelling: NOT_LEADER_OR_FOLLOWER.</summary>
    public static string Name(ErrorCode code)
    {
        string name = Enum.IsDefined(code) ? code.ToString() : $"ERROR_{(short)code}";
        var sb = new System.Text.StringBuilder(name.Length + 8);
        for (int i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i]) && !char.IsUpper(name[i - 1]))
            {
                sb.Append('_');
            }

            sb.Append(char.ToUpperInvariant(name[i]));
        }

        return sb.ToString();
    }
}
