using Aspire.Kafka.Protocol;
using Aspire.Kafka.Raft;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.ControllerService.Apis;

/// <summary>
/// A KIP-595 request on the controller listener: checked for the cluster id (INCONSISTENT_CLUSTER_ID
/// when it names another cluster), mapped to the core's message, stepped through the Raft loop,
/// and answered with what the core answers.
/// </summary>
public abstract class RaftApi<TRequest, TResponse>(RaftManager raft) : KafkaApi<TRequest, TResponse>
    where TRequest : class, IApiMessage<TRequest>
    where TResponse : class, IApiMessage<TResponse>
{
    protected RaftManager Raft { get; } = raft;

    protected abstract string? ClusterIdOf(TRequest request);

    /// <summary>The response with only a top-level error code, as Kafka answers INCONSISTENT_CLUSTER_ID.</summary>
    protected abstract TResponse ErrorResponse(short errorCode);

    protected override async ValueTask<TResponse?> HandleAsync(RequestContext context, TRequest request, CancellationToken cancellationToken)
    {
        if (ClusterIdOf(request) is { } clusterId && clusterId != Raft.ClusterId)
        {
            return ErrorResponse(RaftErrors.InconsistentClusterId);
        }

        RaftEnvelope envelope = RaftMessageCodec.FromRequest(request, -1, Raft.NodeId, 0);
        int source = envelope.Message switch
        {
            VoteRequestData m => m.CandidateId,
            BeginQuorumEpochRequestData m => m.LeaderId,
            EndQuorumEpochRequestData m => m.LeaderId,
            FetchRequestData m => m.ReplicaId,
            FetchSnapshotRequestData m => m.ReplicaId,
            _ => -1,
        };
        RaftMessage answer = await Raft.HandleRequestAsync(source, envelope.Message, cancellationToken).ConfigureAwait(false);
        return (TResponse)RaftMessageCodec.ToResponse(answer);
    }
}
