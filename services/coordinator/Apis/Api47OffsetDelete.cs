using Aspire.Kafka.Coordinator.Groups;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Coordinator.Apis;

/// <summary>OffsetDelete (key 47), v0: deletes committed offsets of topics the group does not consume; a group error and one per partition.</summary>
public sealed class OffsetDeleteApi(GroupCoordinator coordinator, TimeProvider time) : KafkaApi<OffsetDeleteRequest, OffsetDeleteResponse>
{
    protected override async ValueTask<OffsetDeleteResponse?> HandleAsync(RequestContext context, OffsetDeleteRequest request, CancellationToken cancellationToken) =>
        await DeleteAsync(coordinator, request, GroupApi.Now(time)).WaitAsync(cancellationToken).ConfigureAwait(false);

    internal static async Task<OffsetDeleteResponse> DeleteAsync(GroupCoordinator coordinator, OffsetDeleteRequest request, long nowMs)
    {
        OffsetDeleteResult result = await coordinator.DeleteOffsetsAsync(request.GroupId,
            [.. request.Topics.Select(t => (t.Name, (IReadOnlyList<int>)[.. t.Partitions.Select(p => p.PartitionIndex)]))], nowMs).ConfigureAwait(false);
        var response = new OffsetDeleteResponse { ErrorCode = (short)result.Error };
        int next = 0;
        foreach (OffsetDeleteRequest.OffsetDeleteRequestTopic topic in request.Topics)
        {
            var answered = new OffsetDeleteResponse.OffsetDeleteResponseTopic { Name = topic.Name };
            foreach (OffsetDeleteRequest.OffsetDeleteRequestPartition p in topic.Partitions)
            {
                answered.Partitions.Add(new OffsetDeleteResponse.OffsetDeleteResponsePartition { PartitionIndex = p.PartitionIndex, ErrorCode = (short)result.Partitions[next++].Error });
            }

            response.Topics.Add(answered);
        }

        return response;
    }
}
