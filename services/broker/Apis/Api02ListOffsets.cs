using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;
using Aspire.Kafka.Storage;

namespace Aspire.Kafka.Broker.Apis;

/// <summary>
/// ListOffsets (key 2): v1–v8. Per partition: earliest (-2), latest (-1), max timestamp (-3),
/// earliest local (-4) or by timestamp; a timestamp below -4 is INVALID_REQUEST. Replica id -2
/// (debugging tools) may ask any replica, everyone else the leader. From v4 the request's current
/// leader epoch is checked (FENCED/UNKNOWN_LEADER_EPOCH) and the answer carries the leader epoch of
/// the offset found. Nothing found: offset and timestamp -1.
/// </summary>
public sealed class ListOffsetsApi(ReplicaManager replicaManager) : KafkaApi<ListOffsetsRequest, ListOffsetsResponse>
{
    public override VersionRange SupportedVersions { get; } = new(1, 8);

    protected override ValueTask<ListOffsetsResponse?> HandleAsync(RequestContext context, ListOffsetsRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult<ListOffsetsResponse?>(Handle(request, context.ApiVersion));

    internal ListOffsetsResponse Handle(ListOffsetsRequest request, short version)
    {
        ArgumentNullException.ThrowIfNull(request);
        var response = new ListOffsetsResponse();
        foreach (ListOffsetsRequest.ListOffsetsTopic topic in request.Topics)
        {
            var topicResponse = new ListOffsetsResponse.ListOffsetsTopicResponse { Name = topic.Name };
            response.Topics.Add(topicResponse);
            foreach (ListOffsetsRequest.ListOffsetsPartition p in topic.Partitions)
            {
                var result = new ListOffsetsResponse.ListOffsetsPartitionResponse { PartitionIndex = p.PartitionIndex };
                topicResponse.Partitions.Add(result);
                (ErrorCode error, TimestampAndOffset? found) = replicaManager.FetchOffsetForTimestamp(new TopicPartition(topic.Name, p.PartitionIndex), p.Timestamp,
                    version >= 4 ? p.CurrentLeaderEpoch : -1, isConsumer: request.ReplicaId < 0, anyReplica: request.ReplicaId == -2);
                result.ErrorCode = (short)error;
                if (found is { } hit)
                {
                    result.Offset = hit.Offset;
                    result.Timestamp = hit.Timestamp;
                    if (version >= 4)
                    {
                        result.LeaderEpoch = hit.LeaderEpoch ?? -1;
                    }
                }
            }
        }

        return response;
    }
}
