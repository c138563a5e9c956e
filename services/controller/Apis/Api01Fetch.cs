using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.ControllerService.Apis;

/// <summary>
/// Fetch (key 1) of <c>__cluster_metadata-0</c> by a voter: pull replication. Raft needs v12+
/// (LastFetchedEpoch, DivergingEpoch, CurrentLeader, SnapshotId). Nothing new: the core parks the
/// request and this handler waits (long poll) until it answers.
/// </summary>
public sealed class FetchApi(RaftManager raft) : RaftApi<FetchRequest, FetchResponse>(raft)
{
    public override VersionRange SupportedVersions { get; } = new(12, FetchRequest.ValidVersions.Highest);

    protected override string? ClusterIdOf(FetchRequest request) => request.ClusterId;

    protected override FetchResponse ErrorResponse(short errorCode) => new() { ErrorCode = errorCode };
}
