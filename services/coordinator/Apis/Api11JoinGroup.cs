using Aspire.Kafka.Coordinator.Groups;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Coordinator.Apis;

/// <summary>JoinGroup (key 11), v0–v9: v4+ with KIP-394's member-id-required round, v5+ static members, v7+ protocol type, v9 skip assignment.</summary>
public sealed class JoinGroupApi(GroupCoordinator coordinator, TimeProvider time) : KafkaApi<JoinGroupRequest, JoinGroupResponse>
{
    protected override async ValueTask<JoinGroupResponse?> HandleAsync(RequestContext context, JoinGroupRequest request, CancellationToken cancellationToken)
    {
        short version = context.ApiVersion;
        JoinGroupResult result = await coordinator.JoinGroupAsync(request, version, GroupApi.ClientId(context), GroupApi.ClientHost(context), GroupApi.Now(time))
            .WaitAsync(cancellationToken).ConfigureAwait(false);
        return new JoinGroupResponse
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
}
