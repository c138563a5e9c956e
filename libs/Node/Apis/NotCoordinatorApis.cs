using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Node.Apis;

/// <summary>
/// The group APIs on a broker (design.md §4: groups live on coordinator nodes). A broker
/// advertises them in ApiVersions with the coordinator's version ranges (both: the generated
/// ValidVersions) — kafkajs takes every
/// node's versions from its seed broker and would refuse to send JoinGroup to a coordinator
/// otherwise — and answers NOT_COORDINATOR in every error field, so a client that asks the wrong
/// node looks the coordinator up again (FindCoordinator) as it does with Kafka.
/// </summary>
public abstract class NotCoordinatorApi<TRequest, TResponse> : KafkaApi<TRequest, TResponse>
    where TRequest : class, IApiMessage<TRequest>
    where TResponse : class, IApiMessage<TResponse>
{
    protected const short NotCoordinator = (short)ErrorCode.NotCoordinator;

    protected abstract TResponse Refuse(TRequest request, short version);

    protected override ValueTask<TResponse?> HandleAsync(RequestContext context, TRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult<TResponse?>(Refuse(request, context.ApiVersion));
}

public sealed class BrokerOffsetCommitApi : NotCoordinatorApi<OffsetCommitRequest, OffsetCommitResponse>
{
    protected override OffsetCommitResponse Refuse(OffsetCommitRequest request, short version) => new()
    {
        Topics =
        [
            .. request.Topics.Select(t => new OffsetCommitResponse.OffsetCommitResponseTopic
            {
                Name = t.Name,
                Partitions = [.. t.Partitions.Select(p => new OffsetCommitResponse.OffsetCommitResponsePartition { PartitionIndex = p.PartitionIndex, ErrorCode = NotCoordinator })],
            }),
        ],
    };
}

public sealed class BrokerOffsetFetchApi : NotCoordinatorApi<OffsetFetchRequest, OffsetFetchResponse>
{
    protected override OffsetFetchResponse Refuse(OffsetFetchRequest request, short version)
    {
        if (version >= 8)
        {
            return new OffsetFetchResponse { Groups = [.. request.Groups.Select(g => new OffsetFetchResponse.OffsetFetchResponseGroup { GroupId = g.GroupId, ErrorCode = NotCoordinator })] };
        }

        // v0-1 carry the error per partition, v2+ also at the top.
        return new OffsetFetchResponse
        {
            ErrorCode = version >= 2 ? NotCoordinator : (short)0,
            Topics =
            [
                .. (request.Topics ?? []).Select(t => new OffsetFetchResponse.OffsetFetchResponseTopic
                {
                    Name = t.Name,
                    Partitions = [.. t.PartitionIndexes.Select(p => new OffsetFetchResponse.OffsetFetchResponsePartition { PartitionIndex = p, CommittedOffset = -1, ErrorCode = NotCoordinator })],
                }),
            ],
        };
    }
}

public sealed class BrokerJoinGroupApi : NotCoordinatorApi<JoinGroupRequest, JoinGroupResponse>
{
    protected override JoinGroupResponse Refuse(JoinGroupRequest request, short version) => new() { ErrorCode = NotCoordinator, ProtocolName = version >= 7 ? null : "" };
}

public sealed class BrokerHeartbeatApi : NotCoordinatorApi<HeartbeatRequest, HeartbeatResponse>
{
    protected override HeartbeatResponse Refuse(HeartbeatRequest request, short version) => new() { ErrorCode = NotCoordinator };
}

public sealed class BrokerLeaveGroupApi : NotCoordinatorApi<LeaveGroupRequest, LeaveGroupResponse>
{
    protected override LeaveGroupResponse Refuse(LeaveGroupRequest request, short version) => new() { ErrorCode = NotCoordinator };
}

public sealed class BrokerSyncGroupApi : NotCoordinatorApi<SyncGroupRequest, SyncGroupResponse>
{
    protected override SyncGroupResponse Refuse(SyncGroupRequest request, short version) => new() { ErrorCode = NotCoordinator };
}

public sealed class BrokerDescribeGroupsApi : NotCoordinatorApi<DescribeGroupsRequest, DescribeGroupsResponse>
{
    protected override DescribeGroupsResponse Refuse(DescribeGroupsRequest request, short version) => new()
    {
        Groups = [.. request.Groups.Select(g => new DescribeGroupsResponse.DescribedGroup { GroupId = g, ErrorCode = NotCoordinator })],
    };
}

public sealed class BrokerDeleteGroupsApi : NotCoordinatorApi<DeleteGroupsRequest, DeleteGroupsResponse>
{
    protected override DeleteGroupsResponse Refuse(DeleteGroupsRequest request, short version) => new()
    {
        Results = [.. request.GroupsNames.Select(g => new DeleteGroupsResponse.DeletableGroupResult { GroupId = g, ErrorCode = NotCoordinator })],
    };
}

public sealed class BrokerOffsetDeleteApi : NotCoordinatorApi<OffsetDeleteRequest, OffsetDeleteResponse>
{
    protected override OffsetDeleteResponse Refuse(OffsetDeleteRequest request, short version) => new() { ErrorCode = NotCoordinator };
}
