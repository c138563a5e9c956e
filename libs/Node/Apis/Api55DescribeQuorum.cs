using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Node.Apis;

/// <summary>DescribeQuorum (key 55), forwarded to the Raft leader (kafka-metadata-quorum.sh asks a broker); a voter that is not the leader answers NOT_LEADER_OR_FOLLOWER and the next one is tried.</summary>
public sealed class DescribeQuorumApi(ControllerChannel controller) : ForwardedApi<DescribeQuorumRequest, DescribeQuorumResponse>(controller)
{
    protected override bool IsNotController(DescribeQuorumResponse response) =>
        response.ErrorCode is (short)ErrorCode.NotController or (short)ErrorCode.NotLeaderOrFollower
        || response.Topics.Any(t => t.Partitions.Any(p => p.ErrorCode == (short)ErrorCode.NotLeaderOrFollower));

    protected override DescribeQuorumResponse Error(DescribeQuorumRequest request, ErrorCode error, string message) => new() { ErrorCode = (short)error };
}
