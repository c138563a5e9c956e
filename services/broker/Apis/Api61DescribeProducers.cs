using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Broker.Apis;

/// <summary>
/// DescribeProducers (key 61, KIP-664; what <c>kafka-transactions.sh describe-producers</c> asks):
/// the idempotent producers a partition's leader has state for — id, epoch, last sequence, last
/// timestamp. NOT_LEADER_OR_FOLLOWER on a follower, UNKNOWN_TOPIC_OR_PARTITION when not hosted.
/// </summary>
public sealed class DescribeProducersApi(ReplicaManager replicaManager) : KafkaApi<DescribeProducersRequest, DescribeProducersResponse>
{
    protected override ValueTask<DescribeProducersResponse?> HandleAsync(RequestContext context, DescribeProducersRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult<DescribeProducersResponse?>(replicaManager.HandleDescribeProducers(request));
}
