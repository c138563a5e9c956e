namespace Aspire.Kafka.Raft;

/// <summary>
/// How a <see cref="RaftNode"/> sends its Raft requests (Vote, BeginQuorumEpoch, EndQuorumEpoch,
/// Fetch, FetchSnapshot) to other nodes. <see cref="NetworkRaftTransport"/> is the one over the
/// Kafka protocol; tests may route envelopes in memory.
/// </summary>
public interface IRaftTransport
{
    /// <summary>
    /// Sends <paramref name="request"/> to its destination and returns the response (source = that
    /// destination, correlation id of the request), or null when it was not answered: the
    /// destination is unknown, the connection failed, or the answer did not decode. Nothing more
    /// is needed then: the core gives up on the request after its request timeout and asks again.
    /// </summary>
    Task<RaftEnvelope?> SendAsync(RaftEnvelope request, CancellationToken cancellationToken);
}
