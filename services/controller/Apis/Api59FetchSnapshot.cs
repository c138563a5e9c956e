using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.ControllerService.Apis;

/// <summary>FetchSnapshot (key 59): a follower below the log start downloads the leader's snapshot in chunks.</summary>
public sealed class FetchSnapshotApi(RaftManager raft) : RaftApi<FetchSnapshotRequest, FetchSnapshotResponse>(raft)
{
    protected override string? ClusterIdOf(FetchSnapshotRequest request) => request.ClusterId;

    protected override FetchSnapshotResponse ErrorResponse(short errorCode) => new() { ErrorCode = errorCode };
}
