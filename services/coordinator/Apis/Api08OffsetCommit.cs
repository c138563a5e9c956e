using Aspire.Kafka.Coordinator.Groups;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Coordinator.Apis;

/// <summary>OffsetCommit (key 8), v0–v9 (clients use v2+; v0/v1 cost nothing and are kept): generation/member checks, v2–v4 retention time.</summary>
public sealed class OffsetCommitApi(GroupCoordinator coordinator, TimeProvider time) : KafkaApi<OffsetCommitRequest, OffsetCommitResponse>
{
    protected override async ValueTask<OffsetCommitResponse?> HandleAsync(RequestContext context, OffsetCommitRequest request, CancellationToken cancellationToken) =>
        await coordinator.CommitOffsetsAsync(request, context.ApiVersion, GroupApi.Now(time)).WaitAsync(cancellationToken).ConfigureAwait(false);
}
