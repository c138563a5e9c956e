using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.ControllerService.Apis;

/// <summary>EndQuorumEpoch (key 54): the leader resigns, naming preferred successors.</summary>
public sealed class EndQuorumEpochApi(RaftManager raft) : RaftApi<EndQuorumEpochRequest, EndQuorumEpochResponse>(raft)
{
    protected override string? ClusterIdOf(EndQuorumEpochRequest request) => request.ClusterId;

    protected override EndQuorumEpochResponse ErrorResponse(short errorCode) => new() { ErrorCode = errorCode };
}
