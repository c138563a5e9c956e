using Aspire.Kafka.Coordinator.Groups;
using Aspire.Kafka.Metadata;
using Aspire.Kafka.Node;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Coordinator.Apis;

/// <summary>
/// OffsetCommit (key 8), v0–v9 (clients use v2+; v0/v1 cost nothing and are kept). On the wire:
/// v1 carries a commit timestamp per partition, v2–v4 a retention time for the whole request (the
/// offsets expire that long after the commit; v5+ dropped it), v1+ a generation and member id
/// (v0: none, a standalone commit), v7+ a group.instance.id. The answer is an error per partition,
/// in the request's order: NONE once the offsets are durable in <c>__consumer_offsets</c>. As in
/// Kafka's KafkaApis, a partition that does not exist in the metadata image (a typo, a deleted
/// topic) is answered UNKNOWN_TOPIC_OR_PARTITION and not stored; when no partition exists the
/// coordinator is not asked at all (the group is neither created nor checked).
/// </summary>
public sealed class OffsetCommitApi(GroupCoordinator coordinator, TimeProvider time, ITopicPartitionCatalog partitions) : KafkaApi<OffsetCommitRequest, OffsetCommitResponse>
{
    protected override async ValueTask<OffsetCommitResponse?> HandleAsync(RequestContext context, OffsetCommitRequest request, CancellationToken cancellationToken)
    {
        Func<string, int, bool> exists = partitions.Snapshot();
        return await CommitAsync(coordinator, request, context.ApiVersion, GroupApi.Now(time), exists).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A request of <paramref name="version"/> → the coordinator's commit of the partitions
    /// <paramref name="partitionExists"/> knows → that version's response.
    /// </summary>
    internal static async Task<OffsetCommitResponse> CommitAsync(GroupCoordinator coordinator, OffsetCommitRequest request, short version, long nowMs, Func<string, int, bool> partitionExists)
    {
        long retentionMs = version is >= 2 and <= 4 && request.RetentionTimeMs >= 0 ? request.RetentionTimeMs : -1;
        var offsets = new List<OffsetToCommit>();
        foreach (OffsetCommitRequest.OffsetCommitRequestTopic topic in request.Topics)
        {
            foreach (OffsetCommitRequest.OffsetCommitRequestPartition p in topic.Partitions)
            {
                if (!partitionExists(topic.Name, p.PartitionIndex))
                {
                    continue;
                }

                long commitTimestamp = version == 1 && p.CommitTimestamp >= 0 ? p.CommitTimestamp : -1;
                offsets.Add(new OffsetToCommit(topic.Name, p.PartitionIndex, p.CommittedOffset, p.CommittedLeaderEpoch, p.CommittedMetadata ?? "", commitTimestamp, retentionMs));
            }
        }

        IReadOnlyList<ErrorCode> errors = offsets.Count == 0 ? [] : await coordinator.CommitOffsetsAsync(
            new OffsetCommitArgs(request.GroupId, request.GenerationIdOrMemberEpoch, request.MemberId, request.GroupInstanceId, offsets), nowMs).ConfigureAwait(false);

        var response = new OffsetCommitResponse();
        int next = 0;
        foreach (OffsetCommitRequest.OffsetCommitRequestTopic topic in request.Topics)
        {
            var answered = new OffsetCommitResponse.OffsetCommitResponseTopic { Name = topic.Name };
            foreach (OffsetCommitRequest.OffsetCommitRequestPartition p in topic.Partitions)
            {
                ErrorCode error = partitionExists(topic.Name, p.PartitionIndex) ? errors[next++] : ErrorCode.UnknownTopicOrPartition;
                answered.Partitions.Add(new OffsetCommitResponse.OffsetCommitResponsePartition { PartitionIndex = p.PartitionIndex, ErrorCode = (short)error });
            }

            response.Topics.Add(answered);
        }

        return response;
    }
}

/// <summary>Which topic partitions exist, for the commit path: the node's metadata image, or a fixed answer in tests.</summary>
public interface ITopicPartitionCatalog
{
    /// <summary>A consistent view (one image) for one request: (topic, partition) → whether it exists.</summary>
    Func<string, int, bool> Snapshot();
}

/// <summary>The partitions of the metadata image this node follows.</summary>
public sealed class MetadataTopicPartitions(ClusterMetadataFollower follower) : ITopicPartitionCatalog
{
    public Func<string, int, bool> Snapshot()
    {
        MetadataImage image = follower.Image;
        return (topic, partition) => image.Topics.GetTopic(topic)?.Partition(partition) is not null;
    }
}
