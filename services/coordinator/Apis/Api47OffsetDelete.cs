using Aspire.Kafka.Coordinator.Groups;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Coordinator.Apis;

/// <summary>OffsetDelete (key 47), v0: deletes committed offsets of topics the group does not consume.</summary>
public sealed class OffsetDeleteApi(GroupCoordinator coordinator, TimeProvider time) : KafkaApi<OffsetDeleteRequest, OffsetDeleteResponse>
{
    protected override async ValueTask<OffsetDeleteResponse?> HandleAsync(RequestContext context, OffsetDeleteRequest request, CancellationToken cancellationToken) =>
        await coordinator.DeleteOffsetsAsync(request, GroupApi.Now(time)).WaitAsync(cancellationToken).ConfigureAwait(false);
}
