using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Raft;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.ControllerService.Apis;

/// <summary>
/// DescribeQuorum (key 55): the leader answers with the leader id, epoch, high watermark and every
/// voter's (and observer's) log end offset and fetch times; another node answers
/// NOT_LEADER_OR_FOLLOWER for the partition, with the leader it knows.
/// </summary>
public sealed class DescribeQuorumApi(RaftManager raft) : KafkaApi<DescribeQuorumRequest, DescribeQuorumResponse>
{
    protected override async ValueTask<DescribeQuorumResponse?> HandleAsync(RequestContext context, DescribeQuorumRequest request, CancellationToken cancellationToken)
    {
        QuorumDescription description = await raft.DescribeQuorumAsync(cancellationToken).ConfigureAwait(false);
        return RaftMessageCodec.ToDescribeQuorumResponse(description);
    }
}
