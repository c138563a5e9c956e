using Aspire.Kafka.Coordinator.Groups;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Coordinator.Apis;

/// <summary>
/// JoinGroup (key 11), v0–v9. On the wire: v0 has no rebalance timeout (the session timeout is
/// used), v4+ a new dynamic member first gets MEMBER_ID_REQUIRED with its id (KIP-394), v5+ static
/// members (group.instance.id), v7+ the protocol type in the answer, v9 skip assignment (a static
/// leader rejoining a stable group keeps the current assignment).
/// </summary>
public sealed class JoinGroupApi(GroupCoordinator coordinator, TimeProvider time) : KafkaApi<JoinGroupRequest, JoinGroupResponse>
{
    protected override async ValueTask<JoinGroupResponse?> HandleAsync(RequestContext context, JoinGroupRequest request, CancellationToken cancellationToken)
    {
        JoinGroupResult result = await coordinator.JoinGroupAsync(Args(request, context.ApiVersion, GroupApi.ClientId(context), GroupApi.ClientHost(context)), GroupApi.Now(time))
            .WaitAsync(cancellationToken).ConfigureAwait(false);
        return Response(result, context.ApiVersion);
    }

    internal static JoinGroupArgs Args(JoinGroupRequest request, short version, string clientId, string clientHost) => new(
        request.GroupId,
        request.MemberId ?? "",
        request.GroupInstanceId,
        request.SessionTimeoutMs,
        version == 0 || request.RebalanceTimeoutMs < 0 ? request.SessionTimeoutMs : request.RebalanceTimeoutMs,
        request.ProtocolType,
        [.. request.Protocols.Select(p => new GroupProtocol(p.Name, p.Metadata))],
        RequireKnownMemberId: version >= 4,
        clientId,
        clientHost);

    internal static JoinGroupResponse Response(JoinGroupResult result, short version) => new()
    {
        ErrorCode = (short)result.Error,
        GenerationId = result.GenerationId,
        ProtocolType = version >= 7 ? result.ProtocolType : null,
        ProtocolName = version >= 7 ? result.ProtocolName : result.ProtocolName ?? "",
        Leader = result.LeaderId,
        SkipAssignment = version >= 9 && result.SkipAssignment,
        MemberId = result.MemberId,
        Members = [.. result.Members.Select(m => new JoinGroupResponse.JoinGroupResponseMember { MemberId = m.MemberId, GroupInstanceId = m.GroupInstanceId, Metadata = m.Metadata })],
    };
}
