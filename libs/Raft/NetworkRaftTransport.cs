using Aspire.Kafka.Client;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Raft;

/// <summary>
/// Raft requests over the Kafka protocol: one <see cref="NetworkClient"/> (a connection per peer,
/// reconnect backoff), each envelope mapped to its generated request at the highest version
/// (<see cref="RaftMessageCodec.ToRequest"/>) and the response back to an envelope.
/// </summary>
public sealed partial class NetworkRaftTransport : IRaftTransport, IAsyncDisposable
{
    private readonly int _nodeId;
    private readonly string _clusterId;
    private readonly IReadOnlyDictionary<int, KafkaNode> _peers;
    private readonly NetworkClient _client;
    private readonly ILogger _logger;

    /// <param name="nodeId">This node's id (the destination of the responses).</param>
    /// <param name="clusterId">The cluster id the requests carry.</param>
    /// <param name="peers">The nodes requests may go to (the voters); requests to others are dropped.</param>
    /// <param name="options">The client's options (client id, request and connection timeouts, reconnect backoff).</param>
    public NetworkRaftTransport(int nodeId, string clusterId, IEnumerable<KafkaNode> peers, KafkaClientOptions options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(peers);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _nodeId = nodeId;
        _clusterId = clusterId;
        _peers = peers.Where(p => p.Id != nodeId).ToDictionary(p => p.Id);
        _client = new NetworkClient(options, loggerFactory: loggerFactory);
        _logger = loggerFactory.CreateLogger<NetworkRaftTransport>();
    }

    public async Task<RaftEnvelope?> SendAsync(RaftEnvelope request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!_peers.TryGetValue(request.Destination, out KafkaNode? node))
        {
            return null;
        }

        try
        {
            IApiMessage response = request.Message switch
            {
                VoteRequestData => await SendAsync<VoteRequest, VoteResponse>(node, request, cancellationToken).ConfigureAwait(false),
                BeginQuorumEpochRequestData => await SendAsync<BeginQuorumEpochRequest, BeginQuorumEpochResponse>(node, request, cancellationToken).ConfigureAwait(false),
                EndQuorumEpochRequestData => await SendAsync<EndQuorumEpochRequest, EndQuorumEpochResponse>(node, request, cancellationToken).ConfigureAwait(false),
                FetchRequestData => await SendAsync<FetchRequest, FetchResponse>(node, request, cancellationToken).ConfigureAwait(false),
                FetchSnapshotRequestData => await SendAsync<FetchSnapshotRequest, FetchSnapshotResponse>(node, request, cancellationToken).ConfigureAwait(false),
                _ => throw new InvalidOperationException($"{request.Message.GetType().Name} is not a Raft request."),
            };
            return RaftMessageCodec.FromResponse(response, request.Destination, _nodeId, request.CorrelationId);
        }
        catch (Exception e) when (e is KafkaClientException or InvalidDataException or IOException or KafkaProtocolException or ObjectDisposedException)
        {
            LogSendFailed(request.Message.GetType().Name, node.Id, e.Message);
            return null;
        }
    }

    private async Task<IApiMessage> SendAsync<TRequest, TResponse>(KafkaNode node, RaftEnvelope envelope, CancellationToken cancellationToken)
        where TRequest : class, IApiMessage<TRequest>
        where TResponse : class, IApiMessage<TResponse>
    {
        short version = TRequest.ValidVersions.Highest;
        var request = (TRequest)RaftMessageCodec.ToRequest(envelope, _clusterId, version);
        return await _client.SendAsync<TRequest, TResponse>(node, request, version, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => _client.DisposeAsync();

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Request} to node {NodeId} failed: {Reason}")]
    private partial void LogSendFailed(string request, int nodeId, string reason);
}
