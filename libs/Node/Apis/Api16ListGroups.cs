using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Node.Apis;

/// <summary>
/// ListGroups (key 16) on a broker: brokers coordinate no groups (coordinators do, design.md §4),
/// so the answer is an empty list — kafka-python's list_consumer_groups asks every listed node and
/// merges the answers. Coordinators register their own ListGroups instead.
/// </summary>
public sealed class BrokerListGroupsApi : KafkaApi<ListGroupsRequest, ListGroupsResponse>
{
    protected override ValueTask<ListGroupsResponse?> HandleAsync(RequestContext context, ListGroupsRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult<ListGroupsResponse?>(new ListGroupsResponse { ErrorCode = (short)ErrorCode.None });
}
