using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Coordinator.Apis;

/// <summary>
/// Produce (key 0) sent to a coordinator: it leads no partition (design.md §4), so every partition
/// gets NOT_LEADER_OR_FOLLOWER and the client refreshes its metadata. Served from v3, advertised
/// from v0 as brokers do (KAFKA-18659).
/// </summary>
public sealed partial class ProduceApi(ILogger<ProduceApi> logger) : KafkaApi<ProduceRequest, ProduceResponse>
{
    public override VersionRange SupportedVersions { get; } = new(3, ProduceRequest.ValidVersions.Highest);

    public override VersionRange AdvertisedVersions { get; } = ProduceRequest.ValidVersions;

    protected override ValueTask<ProduceResponse?> HandleAsync(RequestContext context, ProduceRequest request, CancellationToken cancellationToken)
    {
        LogNotLeader(logger, context.ClientId);
        if (request.Acks == 0)
        {
            return ValueTask.FromResult<ProduceResponse?>(null);
        }

        return ValueTask.FromResult<ProduceResponse?>(new ProduceResponse
        {
            Responses = [.. request.TopicData.Select(t => new ProduceResponse.TopicProduceResponse
            {
                Name = t.Name,
                PartitionResponses = [.. t.PartitionData.Select(p => new ProduceResponse.PartitionProduceResponse
                {
                    Index = p.Index,
                    ErrorCode = (short)ErrorCode.NotLeaderOrFollower,
                    BaseOffset = -1,
                })],
            })],
        });
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Produce from client {ClientId} sent to a coordinator: NOT_LEADER_OR_FOLLOWER.")]
    private static partial void LogNotLeader(ILogger logger, string? clientId);
}
