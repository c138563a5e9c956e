using Aspire.Kafka.Coordinator.Groups;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Coordinator.Apis;

/// <summary>
/// LeaveGroup (key 13): v0–v2 one member (its error is the response's), v3+ a batch by member id or
/// group.instance.id with a top-level error and one per member.
/// </summary>
public sealed class LeaveGroupApi(GroupCoordinator coordinator, TimeProvider time) : KafkaApi<LeaveGroupRequest, LeaveGroupResponse>
{
    protected override ValueTask<LeaveGroupResponse?> HandleAsync(RequestContext context, LeaveGroupRequest request, CancellationToken cancellationToken)
    {
        if (context.ApiVersion < 3)
        {
            (ErrorCode top, IReadOnlyList<ErrorCode> one) = coordinator.LeaveGroup(request.GroupId, [(request.MemberId, null)], GroupApi.Now(time));
            return ValueTask.FromResult<LeaveGroupResponse?>(new LeaveGroupResponse { ErrorCode = (short)(top != ErrorCode.None ? top : one[0]) });
        }

        (ErrorCode error, IReadOnlyList<ErrorCode> errors) = coordinator.LeaveGroup(request.GroupId,
            [.. request.Members.Select(m => (m.MemberId, m.GroupInstanceId))], GroupApi.Now(time));
        return ValueTask.FromResult<LeaveGroupResponse?>(new LeaveGroupResponse
        {
            ErrorCode = (short)error,
            Members = [.. request.Members.Select((m, i) => new LeaveGroupResponse.MemberResponse { MemberId = m.MemberId, GroupInstanceId = m.GroupInstanceId, ErrorCode = (short)errors[i] })],
        });
    }
}
