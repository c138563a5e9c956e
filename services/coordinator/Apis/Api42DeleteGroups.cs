using Aspire.Kafka.Coordinator.Groups;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Coordinator.Apis;

/// <summary>DeleteGroups (key 42), v0–v2: empty groups are deleted (tombstones), others NON_EMPTY_GROUP; an error per group.</summary>
public sealed class DeleteGroupsApi(GroupCoordinator coordinator, TimeProvider time) : KafkaApi<DeleteGroupsRequest, DeleteGroupsResponse>
{
    protected override async ValueTask<DeleteGroupsResponse?> HandleAsync(RequestContext context, DeleteGroupsRequest request, CancellationToken cancellationToken) =>
        new DeleteGroupsResponse { Results = await DeleteAsync(coordinator, request.GroupsNames, GroupApi.Now(time)).WaitAsync(cancellationToken).ConfigureAwait(false) };

    internal static async Task<List<DeleteGroupsResponse.DeletableGroupResult>> DeleteAsync(GroupCoordinator coordinator, IReadOnlyList<string> groupIds, long nowMs) =>
        [.. (await coordinator.DeleteGroupsAsync(groupIds, nowMs).ConfigureAwait(false))
            .Select(r => new DeleteGroupsResponse.DeletableGroupResult { GroupId = r.GroupId, ErrorCode = (short)r.Error })];
}
