using Aspire.Kafka.Coordinator.Groups;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Coordinator.Apis;

/// <summary>DescribeGroups (key 15), v0–v5: state, protocol, members (metadata and assignment when Stable).</summary>
public sealed class DescribeGroupsApi(GroupCoordinator coordinator) : KafkaApi<DescribeGroupsRequest, DescribeGroupsResponse>
{
    protected override ValueTask<DescribeGroupsResponse?> HandleAsync(RequestContext context, DescribeGroupsRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult<DescribeGroupsResponse?>(new DescribeGroupsResponse { Groups = [.. request.Groups.Select(coordinator.DescribeGroup)] });
}
