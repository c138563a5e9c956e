using Aspire.Kafka.Coordinator.Groups;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Coordinator.Apis;

/// <summary>
/// OffsetFetch (key 9): v0–v7 one group (v2+: null topics = all, a top-level error), v8+ several
/// groups. No commit: offset -1, metadata "".
/// </summary>
public sealed class OffsetFetchApi(GroupCoordinator coordinator) : KafkaApi<OffsetFetchRequest, OffsetFetchResponse>
{
    protected override ValueTask<OffsetFetchResponse?> HandleAsync(RequestContext context, OffsetFetchRequest request, CancellationToken cancellationToken)
    {
        short version = context.ApiVersion;
        if (version >= 8)
        {
            return ValueTask.FromResult<OffsetFetchResponse?>(new OffsetFetchResponse
            {
                Groups = [.. request.Groups.Select(g =>
                {
                    (ErrorCode error, List<OffsetFetchResponse.OffsetFetchResponseTopics> topics) = coordinator.FetchOffsets(g.GroupId,
                        g.Topics?.Select(t => (t.Name, (IReadOnlyList<int>)t.PartitionIndexes)).ToList());
                    return new OffsetFetchResponse.OffsetFetchResponseGroup { GroupId = g.GroupId, ErrorCode = (short)error, Topics = topics };
                })],
            });
        }

        (ErrorCode groupError, List<OffsetFetchResponse.OffsetFetchResponseTopics> found) = coordinator.FetchOffsets(request.GroupId,
            request.Topics?.Select(t => (t.Name, (IReadOnlyList<int>)t.PartitionIndexes)).ToList());
        var response = new OffsetFetchResponse { ErrorCode = version >= 2 ? (short)groupError : (short)0 };
        if (groupError != ErrorCode.None)
        {
            // v0/v1 have no top-level error: every requested partition carries it.
            response.Topics = version >= 2 || request.Topics is null ? [] : [.. request.Topics.Select(t => new OffsetFetchResponse.OffsetFetchResponseTopic
            {
                Name = t.Name,
                Partitions = [.. t.PartitionIndexes.Select(p => new OffsetFetchResponse.OffsetFetchResponsePartition { PartitionIndex = p, CommittedOffset = -1, ErrorCode = (short)groupError })],
            })];
            return ValueTask.FromResult<OffsetFetchResponse?>(response);
        }

        response.Topics = [.. found.Select(t => new OffsetFetchResponse.OffsetFetchResponseTopic
        {
            Name = t.Name,
            Partitions = [.. t.Partitions.Select(p => new OffsetFetchResponse.OffsetFetchResponsePartition
            {
                PartitionIndex = p.PartitionIndex,
                CommittedOffset = p.CommittedOffset,
                CommittedLeaderEpoch = version >= 5 ? p.CommittedLeaderEpoch : -1,
                Metadata = p.Metadata,
            })],
        })];
        return ValueTask.FromResult<OffsetFetchResponse?>(response);
    }
}
