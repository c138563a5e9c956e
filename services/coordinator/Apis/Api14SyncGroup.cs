using Aspire.Kafka.Coordinator.Groups;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Coordinator.Apis;

/// <summary>
/// SyncGroup (key 14), v0–v5: the leader hands in the assignment, every member gets its own once it
/// is written. v3+ group.instance.id, v5+ protocol type and name in request and answer.
/// </summary>
public sealed class SyncGroupApi(GroupCoordinator coordinator, TimeProvider time) : KafkaApi<SyncGroupRequest, SyncGroupResponse>
{
    protected override async ValueTask<SyncGroupResponse?> HandleAsync(RequestContext context, SyncGroupRequest request, CancellationToken cancellationToken)
    {
        SyncGroupResult result = await coordinator.SyncGroupAsync(Args(request), GroupApi.Now(time)).WaitAsync(cancellationToken).ConfigureAwait(false);
        bool v5 = context.ApiVersion >= 5;
        return new SyncGroupResponse
        {
            ErrorCode = (short)result.Error,
            ProtocolType = v5 ? result.ProtocolType : null,
            ProtocolName = v5 ? result.ProtocolName : null,
            Assignment = result.Assignment,
        };
    }

    internal static SyncGroupArgs Args(SyncGroupRequest request) => new(
        request.GroupId,
        request.MemberId,
        request.GenerationId,
        request.GroupInstanceId,
        request.ProtocolType,
        request.ProtocolName,
        [.. request.Assignments.Select(a => (a.MemberId, a.Assignment))]);
}
