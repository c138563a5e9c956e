using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;
using Aspire.Kafka.Storage;

namespace Aspire.Kafka.Broker.Apis;

/// <summary>
/// DeleteRecords (key 21): v0–v2. Per partition, on the leader: the log start offset moves up to
/// the requested offset (-1: the high watermark); beyond the high watermark is OFFSET_OUT_OF_RANGE.
/// The answer's low watermark is the new log start offset (-1 on error).
/// </summary>
public sealed class DeleteRecordsApi(ReplicaManager replicaManager) : KafkaApi<DeleteRecordsRequest, DeleteRecordsResponse>
{
    public override VersionRange SupportedVersions { get; } = new(0, 2);

    protected override ValueTask<DeleteRecordsResponse?> HandleAsync(RequestContext context, DeleteRecordsRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult<DeleteRecordsResponse?>(Handle(request));

    internal DeleteRecordsResponse Handle(DeleteRecordsRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var response = new DeleteRecordsResponse();
        foreach (DeleteRecordsRequest.DeleteRecordsTopic topic in request.Topics)
        {
            var topicResult = new DeleteRecordsResponse.DeleteRecordsTopicResult { Name = topic.Name };
            response.Topics.Add(topicResult);
            foreach (DeleteRecordsRequest.DeleteRecordsPartition p in topic.Partitions)
            {
                (ErrorCode error, long lowWatermark) = replicaManager.DeleteRecords(new TopicPartition(topic.Name, p.PartitionIndex), p.Offset);
                topicResult.Partitions.Add(new DeleteRecordsResponse.DeleteRecordsPartitionResult
                {
                    PartitionIndex = p.PartitionIndex,
                    ErrorCode = (short)error,
                    LowWatermark = lowWatermark,
                });
            }
        }

        return response;
    }
}
