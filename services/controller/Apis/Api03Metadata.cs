using Aspire.Kafka.Metadata;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.ControllerService.Apis;

/// <summary>
/// Metadata (key 3), minimal: the cluster id, the current Raft leader as controller id, the
/// registered brokers (their first listener) and the topics of this node's committed image —
/// any voter answers from what it replayed.
/// </summary>
public sealed class MetadataApi(RaftManager raft) : KafkaApi<MetadataRequest, MetadataResponse>
{
    protected override ValueTask<MetadataResponse?> HandleAsync(RequestContext context, MetadataRequest request, CancellationToken cancellationToken)
    {
        MetadataImage image = raft.CommittedImage;
        var response = new MetadataResponse
        {
            ClusterId = raft.ClusterId,
            ControllerId = raft.Status.LeaderId,
            Brokers =
            [
                .. image.Cluster.Brokers.Values.Where(b => !b.Fenced && b.Listeners.Count > 0).Select(b => new MetadataResponse.MetadataResponseBroker
                {
                    NodeId = b.Id,
                    Host = b.Listeners[0].Host,
                    Port = b.Listeners[0].Port,
                    Rack = b.Rack,
                }),
            ],
        };

        IEnumerable<string> names = request.Topics is null || (context.ApiVersion == 0 && request.Topics.Count == 0)
            ? image.Topics.InNameOrder().Select(t => t.Name)
            : request.Topics.Select(t => t.Name ?? image.Topics.TopicsById.GetValueOrDefault(t.TopicId)?.Name ?? "");
        foreach (string name in names)
        {
            TopicImage? topic = image.Topics.GetTopic(name);
            if (topic is null)
            {
                response.Topics.Add(new MetadataResponse.MetadataResponseTopic { Name = name, ErrorCode = (short)ErrorCode.UnknownTopicOrPartition });
                continue;
            }

            response.Topics.Add(new MetadataResponse.MetadataResponseTopic
            {
                Name = topic.Name,
                TopicId = topic.Id,
                IsInternal = topic.Name == "__consumer_offsets",
                Partitions =
                [
                    .. topic.Partitions.Select(p => new MetadataResponse.MetadataResponsePartition
                    {
                        PartitionIndex = p.Key,
                        ErrorCode = p.Value.HasLeader ? (short)ErrorCode.None : (short)ErrorCode.LeaderNotAvailable,
                        LeaderId = p.Value.Leader,
                        LeaderEpoch = p.Value.LeaderEpoch,
                        ReplicaNodes = [.. p.Value.Replicas],
                        IsrNodes = [.. p.Value.Isr],
                    }),
                ],
            });
        }

        return ValueTask.FromResult<MetadataResponse?>(response);
    }
}
