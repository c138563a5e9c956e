using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Coordinator.Apis;

/// <summary>Fetch (key 1), v4–v16 (the brokers' range), sent to a coordinator: NOT_LEADER_OR_FOLLOWER for every partition (a coordinator hosts no replicas).</summary>
public sealed class FetchApi : KafkaApi<FetchRequest, FetchResponse>
{
    public override VersionRange SupportedVersions { get; } = new(4, 16);

    protected override ValueTask<FetchResponse?> HandleAsync(RequestContext context, FetchRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult<FetchResponse?>(new FetchResponse
        {
            Responses = [.. request.Topics.Select(t => new FetchResponse.FetchableTopicResponse
            {
                Topic = t.Topic,
                TopicId = t.TopicId,
                Partitions = [.. t.Partitions.Select(p => new FetchResponse.PartitionData
                {
                    PartitionIndex = p.Partition,
                    ErrorCode = (short)ErrorCode.NotLeaderOrFollower,
                    HighWatermark = -1,
                })],
            })],
        });
}
