using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;
using Aspire.Kafka.Storage;

namespace Aspire.Kafka.Broker.Apis;

/// <summary>
/// DescribeProducers (key 61, KIP-664; what <c>kafka-transactions.sh describe-producers</c> asks):
/// the idempotent producers a partition's leader has state for — id, epoch, last sequence, last
/// timestamp. NOT_LEADER_OR_FOLLOWER on a follower, UNKNOWN_TOPIC_OR_PARTITION when not hosted.
/// </summary>
public sealed class DescribeProducersApi(ReplicaManager replicaManager) : KafkaApi<DescribeProducersRequest, DescribeProducersResponse>
{
    protected override ValueTask<DescribeProducersResponse?> HandleAsync(RequestContext context, DescribeProducersRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult<DescribeProducersResponse?>(Handle(request));

    internal DescribeProducersResponse Handle(DescribeProducersRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var response = new DescribeProducersResponse();
        foreach (DescribeProducersRequest.TopicRequest topic in request.Topics)
        {
            var topicResponse = new DescribeProducersResponse.TopicResponse { Name = topic.Name };
            response.Topics.Add(topicResponse);
            foreach (int index in topic.PartitionIndexes)
            {
                var partitionResponse = new DescribeProducersResponse.PartitionResponse { PartitionIndex = index };
                topicResponse.Partitions.Add(partitionResponse);
                (ErrorCode error, IReadOnlyList<ActiveProducer> producers) = replicaManager.ActiveProducers(new TopicPartition(topic.Name, index));
                if (error != ErrorCode.None)
                {
                    partitionResponse.ErrorCode = (short)error;
                    partitionResponse.ErrorMessage = error == ErrorCode.NotLeaderOrFollower
                        ? $"This broker is not the leader of {topic.Name}-{index}."
                        : $"{topic.Name}-{index} is not hosted here.";
                    continue;
                }

                foreach (ActiveProducer p in producers)
                {
                    partitionResponse.ActiveProducers.Add(new DescribeProducersResponse.ProducerState
                    {
                        ProducerId = p.ProducerId,
                        ProducerEpoch = p.ProducerEpoch,
                        LastSequence = p.LastSequence,
                        LastTimestamp = p.LastTimestamp,
                        CoordinatorEpoch = p.CoordinatorEpoch,
                        CurrentTxnStartOffset = p.CurrentTxnFirstOffset,
                    });
                }
            }
        }

        return response;
    }
}
