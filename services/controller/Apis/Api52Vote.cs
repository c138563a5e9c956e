using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.ControllerService.Apis;

/// <summary>Vote (key 52): a candidate asks for this voter's vote.</summary>
public sealed class VoteApi(RaftManager raft) : RaftApi<VoteRequest, VoteResponse>(raft)
{
    protected override string? ClusterIdOf(VoteRequest request) => request.ClusterId;

    protected override VoteResponse ErrorResponse(short errorCode) => new() { ErrorCode = errorCode };
}
