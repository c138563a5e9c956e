using Aspire.Kafka.Coordinator.Groups;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Coordinator.Apis;

/// <summary>
/// OffsetFetch (key 9): v0–v7 one group (v2+: null topics = all, a top-level error; v0/v1 carry the
/// group's error on every requested partition), v5+ the committed leader epoch, v8+ several groups.
/// No commit: offset -1, metadata "".
/// </summary>
public sealed class OffsetFetchApi(GroupCoordinator coordinator) : KafkaApi<OffsetFetchRequest, OffsetFetchResponse>
{
    protected override ValueTask<OffsetFetchResponse?> HandleAsync(RequestContext context, OffsetFetchRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult<OffsetFetchResponse?>(Fetch(coordinator, request, context.ApiVersion));

    internal static OffsetFetchResponse Fetch(GroupCoordinator coordinator, OffsetFetchRequest request, short version)
    {
        if (version >= 8)
        {
            return new OffsetFetchResponse
            {
                Groups = [.. request.Groups.Select(g =>
                {
                    OffsetFetchResult result = coordinator.FetchOffsets(g.GroupId, g.Topics?.Select(t => (t.Name, (IReadOnlyList<int>)t.PartitionIndexes)).ToList());
                    return new OffsetFetchResponse.OffsetFetchResponseGroup { GroupId = g.GroupId, ErrorCode = (short)result.Error, Topics = GroupTopics(result) };
                })],
            };
        }

        OffsetFetchResult found = coordinator.FetchOffsets(request.GroupId, request.Topics?.Select(t => (t.Name, (IReadOnlyList<int>)t.PartitionIndexes)).ToList());
        var response = new OffsetFetchResponse { ErrorCode = version >= 2 ? (short)found.Error : (short)0 };
        if (found.Error != ErrorCode.None)
        {
            // v0/v1 have no top-level error: every requested partition carries it.
            response.Topics = version >= 2 || request.Topics is null ? [] : [.. request.Topics.Select(t => new OffsetFetchResponse.OffsetFetchResponseTopic
            {
                Name = t.Name,
                Partitions = [.. t.PartitionIndexes.Select(p => new OffsetFetchResponse.OffsetFetchResponsePartition { PartitionIndex = p, CommittedOffset = -1, ErrorCode = (short)found.Error })],
            })];
            return response;
        }

        response.Topics = [.. found.Topics.Select(t => new OffsetFetchResponse.OffsetFetchResponseTopic
        {
            Name = t.Topic,
            Partitions = [.. t.Partitions.Select(p => new OffsetFetchResponse.OffsetFetchResponsePartition
            {
                PartitionIndex = p.Partition,
                CommittedOffset = p.Offset?.Offset ?? -1,
                CommittedLeaderEpoch = version >= 5 ? p.Offset?.LeaderEpoch ?? -1 : -1,
                Metadata = p.Offset?.Metadata ?? "",
            })],
        })];
        return response;
    }

    /// <summary>One group's offsets as v8+ answers them (no top-level error; the group's error is beside them).</summary>
    internal static List<OffsetFetchResponse.OffsetFetchResponseTopics> GroupTopics(OffsetFetchResult result) =>
        [.. result.Topics.Select(t => new OffsetFetchResponse.OffsetFetchResponseTopics
        {
            Name = t.Topic,
            Partitions = [.. t.Partitions.Select(p => new OffsetFetchResponse.OffsetFetchResponsePartitions
            {
                PartitionIndex = p.Partition,
                CommittedOffset = p.Offset?.Offset ?? -1,
                CommittedLeaderEpoch = p.Offset?.LeaderEpoch ?? -1,
                Metadata = p.Offset?.Metadata ?? "",
            })],
        })];
}
