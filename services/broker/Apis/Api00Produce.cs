using System.Diagnostics;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;
using Aspire.Kafka.Storage;

namespace Aspire.Kafka.Broker.Apis;

/// <summary>
/// Produce (key 0): served v3+ (record batches v2 only), advertised from v0 (librdkafka turns
/// compression off otherwise, KAFKA-18659).
/// <list type="bullet">
/// <item>Every partition of every topic is appended by <see cref="ReplicaManager.AppendRecordsAsync"/>
/// (validation, leader check, idempotence, acks); the answer has one entry per requested
/// partition, in request order.</item>
/// <item>acks=0: no response at all; acks other than -1/0/1: INVALID_REQUIRED_ACKS for every
/// partition.</item>
/// <item>Error messages from v8; NOT_LEADER_OR_FOLLOWER carries the current leader and the
/// response the leaders' endpoints from v10 (KIP-951).</item>
/// <item>A recorded request span gets links to the traces whose W3C traceparent headers the
/// records carry.</item>
/// </list>
/// </summary>
public sealed class ProduceApi(ReplicaManager replicaManager) : KafkaApi<ProduceRequest, ProduceResponse>
{
    public override VersionRange SupportedVersions { get; } = new(3, ProduceRequest.ValidVersions.Highest);

    public override VersionRange AdvertisedVersions { get; } = new(0, ProduceRequest.ValidVersions.Highest);

    protected override ValueTask<ProduceResponse?> HandleAsync(RequestContext context, ProduceRequest request, CancellationToken cancellationToken) =>
        HandleAsync(request, context.ApiVersion, context.Connection.ListenerName, context.Activity, cancellationToken);

    /// <summary>Answers <paramref name="request"/> at <paramref name="version"/>; null for acks=0.</summary>
    internal async ValueTask<ProduceResponse?> HandleAsync(ProduceRequest request, short version, string? listenerName, Activity? span, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var entries = new List<ProducePartition>();
        foreach (ProduceRequest.TopicProduceData topic in request.TopicData)
        {
            foreach (ProduceRequest.PartitionProduceData data in topic.PartitionData)
            {
                entries.Add(new ProducePartition(new TopicPartition(topic.Name, data.Index), data.Records));
            }
        }

        // Only for a recorded span: links to the traces the records carry.
        TraceparentLinks? links = span is not null ? new TraceparentLinks(span) : null;
        IReadOnlyList<ProducePartitionResult> results = await replicaManager.AppendRecordsAsync(entries, request.Acks, request.TimeoutMs, cancellationToken, links)
            .ConfigureAwait(false);
        if (links is { Count: > 0 })
        {
            span!.SetTag("kafka.produce.trace_links", links.Count);
        }

        if (request.Acks == 0)
        {
            return null;
        }

        var response = new ProduceResponse();
        var hintNodes = new HashSet<int>();
        int next = 0;
        foreach (ProduceRequest.TopicProduceData topic in request.TopicData)
        {
            var topicResponse = new ProduceResponse.TopicProduceResponse { Name = topic.Name };
            response.Responses.Add(topicResponse);
            foreach (ProduceRequest.PartitionProduceData data in topic.PartitionData)
            {
                ProducePartitionResult r = results[next++];
                var partitionResponse = new ProduceResponse.PartitionProduceResponse
                {
                    Index = data.Index,
                    ErrorCode = (short)r.Error,
                    ErrorMessage = version >= 8 ? r.ErrorMessage : null,
                    BaseOffset = r.BaseOffset,
                    LogAppendTimeMs = r.LogAppendTime,
                    LogStartOffset = r.LogStartOffset,
                };
                if (r.Error == ErrorCode.NotLeaderOrFollower && version >= 10)
                {
                    (int leaderId, int leaderEpoch) = replicaManager.LeaderHint(r.TopicPartition);
                    partitionResponse.CurrentLeader = new ProduceResponse.LeaderIdAndEpoch { LeaderId = leaderId, LeaderEpoch = leaderEpoch };
                    if (leaderId >= 0)
                    {
                        hintNodes.Add(leaderId);
                    }
                }

                topicResponse.PartitionResponses.Add(partitionResponse);
            }
        }

        if (version >= 10)
        {
            foreach (int id in hintNodes.Order())
            {
                if (replicaManager.EndpointOf(id, listenerName) is { } e)
                {
                    response.NodeEndpoints.Add(new ProduceResponse.NodeEndpoint { NodeId = id, Host = e.Host, Port = e.Port, Rack = replicaManager.Image.Cluster.Broker(id)?.Rack });
                }
            }
        }

        return response;
    }
}
