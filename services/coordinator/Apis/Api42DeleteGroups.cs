using Aspire.Kafka.Coordinator.Groups;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Coordinator.Apis;

/// <summary>DeleteGroups (key 42), v0–v2: empty groups are deleted (tombstones), others NON_EMPTY_GROUP.</summary>
public sealed class DeleteGroupsApi(GroupCoordinator coordinator, TimeProvider time) : KafkaApi<DeleteGroupsRequest, DeleteGroupsResponse>
{
    protected override async ValueTask<DeleteGroupsResponse?> HandleAsync(RequestContext context, DeleteGroupsRequest request, CancellationToken cancellationToken) =>
        new DeleteGroupsResponse { Results = await coordinator.DeleteGroupsAsync(request.GroupsNames, GroupApi.Now(time)).WaitAsync(cancellationToken).ConfigureAwait(false) };
}
