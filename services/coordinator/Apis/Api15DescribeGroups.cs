using Aspire.Kafka.Coordinator.Groups;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Coordinator.Apis;

/// <summary>DescribeGroups (key 15), v0–v5: state, protocol, members (metadata and assignment when Stable); an unknown group is Dead (as before v6).</summary>
public sealed class DescribeGroupsApi(GroupCoordinator coordinator) : KafkaApi<DescribeGroupsRequest, DescribeGroupsResponse>
{
    protected override ValueTask<DescribeGroupsResponse?> HandleAsync(RequestContext context, DescribeGroupsRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult<DescribeGroupsResponse?>(new DescribeGroupsResponse { Groups = [.. request.Groups.Select(g => Described(coordinator.DescribeGroup(g)))] });

    internal static DescribeGroupsResponse.DescribedGroup Described(GroupDescription group) => new()
    {
        GroupId = group.GroupId,
        ErrorCode = (short)group.Error,
        GroupState = group.State,
        ProtocolType = group.ProtocolType,
        ProtocolData = group.ProtocolData,
        Members = [.. group.Members.Select(m => new DescribeGroupsResponse.DescribedGroupMember
        {
            MemberId = m.MemberId,
            GroupInstanceId = m.GroupInstanceId,
            ClientId = m.ClientId,
            ClientHost = m.ClientHost,
            MemberMetadata = m.Metadata,
            MemberAssignment = m.Assignment,
        })],
    };
}
