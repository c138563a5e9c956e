using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Coordinator.Apis;

/// <summary>ListOffsets (key 2), v1–v8 (the brokers' range), sent to a coordinator: NOT_LEADER_OR_FOLLOWER for every partition (a coordinator hosts no replicas).</summary>
public sealed class ListOffsetsApi : KafkaApi<ListOffsetsRequest, ListOffsetsResponse>
{
    public override VersionRange SupportedVersions { get; } = new(1, 8);

    protected override ValueTask<ListOffsetsResponse?> HandleAsync(RequestContext context, ListOffsetsRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult<ListOffsetsResponse?>(new ListOffsetsResponse
        {
            Topics = [.. request.Topics.Select(t => new ListOffsetsResponse.ListOffsetsTopicResponse
            {
                Name = t.Name,
                Partitions = [.. t.Partitions.Select(p => new ListOffsetsResponse.ListOffsetsPartitionResponse
                {
                    PartitionIndex = p.PartitionIndex,
                    ErrorCode = (short)ErrorCode.NotLeaderOrFollower,
                })],
            })],
        });
}
