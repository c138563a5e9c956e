using Aspire.Kafka.Coordinator.Groups;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Coordinator.Apis;

/// <summary>ListGroups (key 16), v0–v5: the groups this coordinator owns, v4+ filtered by state, v5+ by type.</summary>
public sealed class ListGroupsApi(GroupCoordinator coordinator) : KafkaApi<ListGroupsRequest, ListGroupsResponse>
{
    protected override ValueTask<ListGroupsResponse?> HandleAsync(RequestContext context, ListGroupsRequest request, CancellationToken cancellationToken)
    {
        (ErrorCode error, List<ListGroupsResponse.ListedGroup> groups) = List(coordinator, request.StatesFilter, request.TypesFilter);
        return ValueTask.FromResult<ListGroupsResponse?>(new ListGroupsResponse { ErrorCode = (short)error, Groups = groups });
    }

    internal static (ErrorCode Error, List<ListGroupsResponse.ListedGroup> Groups) List(GroupCoordinator coordinator, IReadOnlyCollection<string> states, IReadOnlyCollection<string> types)
    {
        (ErrorCode error, IReadOnlyList<GroupOverview> groups) = coordinator.ListGroups(states, types);
        return (error, [.. groups.Select(g => new ListGroupsResponse.ListedGroup { GroupId = g.GroupId, ProtocolType = g.ProtocolType, GroupState = g.State.ToString(), GroupType = g.GroupType })]);
    }
}
