using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.ControllerService.Apis;

/// <summary>BeginQuorumEpoch (key 53): a new leader announces itself.</summary>
public sealed class BeginQuorumEpochApi(RaftManager raft) : RaftApi<BeginQuorumEpochRequest, BeginQuorumEpochResponse>(raft)
{
    protected override string? ClusterIdOf(BeginQuorumEpochRequest request) => request.ClusterId;

    protected override BeginQuorumEpochResponse ErrorResponse(short errorCode) => new() { ErrorCode = errorCode };
}
