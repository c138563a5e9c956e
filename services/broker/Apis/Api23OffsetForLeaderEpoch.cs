using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;
using Aspire.Kafka.Storage;

namespace Aspire.Kafka.Broker.Apis;

/// <summary>
/// OffsetForLeaderEpoch (key 23): v2–v4. Per partition, on the leader (the
/// request's current leader epoch checked): the largest epoch ≤ the requested one and its end
/// offset, which a follower truncates to (KIP-101/279).
/// </summary>
public sealed class OffsetForLeaderEpochApi(ReplicaManager replicaManager) : KafkaApi<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>
{
    public override VersionRange SupportedVersions { get; } = new(2, 4);

    protected override ValueTask<OffsetForLeaderEpochResponse?> HandleAsync(RequestContext context, OffsetForLeaderEpochRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult<OffsetForLeaderEpochResponse?>(Handle(request));

    internal OffsetForLeaderEpochResponse Handle(OffsetForLeaderEpochRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var response = new OffsetForLeaderEpochResponse();
        foreach (OffsetForLeaderEpochRequest.OffsetForLeaderTopic topic in request.Topics)
        {
            var topicResult = new OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult { Topic = topic.Topic };
            response.Topics.Add(topicResult);
            foreach (OffsetForLeaderEpochRequest.OffsetForLeaderPartition p in topic.Partitions)
            {
                (ErrorCode error, int epoch, long endOffset) = replicaManager.LastOffsetForLeaderEpoch(new TopicPartition(topic.Topic, p.Partition), p.CurrentLeaderEpoch, p.LeaderEpoch);
                topicResult.Partitions.Add(error == ErrorCode.None
                    ? new OffsetForLeaderEpochResponse.EpochEndOffset { Partition = p.Partition, LeaderEpoch = epoch, EndOffset = endOffset }
                    : new OffsetForLeaderEpochResponse.EpochEndOffset { Partition = p.Partition, ErrorCode = (short)error });
            }
        }

        return response;
    }
}
