using System.Collections.Concurrent;
using Aspire.Kafka.Metadata;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Node.Apis;

/// <summary>
/// Metadata (key 3) from this node's metadata image: the live nodes (brokers and coordinators,
/// design.md §4) on the listener the client connected to, the lowest listed broker as controller
/// id (<see cref="ClusterView"/>: KRaft brokers forward admin requests, so clients never talk to
/// controllers; held briefly while this node lists no broker yet), topics with leaders,
/// leader epochs, replicas, ISR and offline replicas. An unknown topic is created through the
/// controller when auto.create.topics.enable and the request allow it (Kafka answers
/// LEADER_NOT_AVAILABLE meanwhile; the client asks again).
/// </summary>
public sealed partial class MetadataApi(NodeSettings settings, ClusterMetadataFollower follower, ControllerChannel controller, ILogger<MetadataApi> logger)
    : KafkaApi<MetadataRequest, MetadataResponse>
{
    private readonly ConcurrentDictionary<string, Task> _creating = new(StringComparer.Ordinal);

    protected override async ValueTask<MetadataResponse?> HandleAsync(RequestContext context, MetadataRequest request, CancellationToken cancellationToken)
    {
        (MetadataImage image, ClientClusterView view) = await ClusterView.WhenBrokerListedAsync(follower, context.Connection.ListenerName, cancellationToken).ConfigureAwait(false);
        var response = new MetadataResponse
        {
            ClusterId = settings.ClusterId,
            ControllerId = view.ControllerId,
            Brokers = [.. view.Nodes.Select(n => new MetadataResponse.MetadataResponseBroker { NodeId = n.Id, Host = n.Host, Port = n.Port, Rack = n.Rack })],
        };

        bool allTopics = request.Topics is null || (context.ApiVersion == 0 && request.Topics.Count == 0);
        if (allTopics)
        {
            foreach (TopicImage topic in image.Topics.InNameOrder())
            {
                response.Topics.Add(Describe(image, topic));
            }

            return response;
        }

        bool allowAutoCreate = context.ApiVersion < 4 || request.AllowAutoTopicCreation;
        foreach (MetadataRequest.MetadataRequestTopic requested in request.Topics!)
        {
            if (requested.Name is null)
            {
                TopicImage? byId = image.Topics.TopicsById.GetValueOrDefault(requested.TopicId);
                response.Topics.Add(byId is null
                    ? new MetadataResponse.MetadataResponseTopic { Name = null, TopicId = requested.TopicId, ErrorCode = (short)ErrorCode.UnknownTopicId }
                    : Describe(image, byId));
                continue;
            }

            TopicImage? topic = image.Topics.GetTopic(requested.Name);
            if (topic is not null)
            {
                response.Topics.Add(Describe(image, topic));
                continue;
            }

            string? invalid = TopicNames.Validate(requested.Name);
            if (invalid is not null)
            {
                response.Topics.Add(new MetadataResponse.MetadataResponseTopic { Name = requested.Name, ErrorCode = (short)ErrorCode.InvalidTopicException });
                continue;
            }

            bool internalTopic = requested.Name == CoordinatorsImage.ConsumerOffsetsTopic;
            if ((allowAutoCreate && settings.AutoCreateTopics) || internalTopic)
            {
                StartCreating(requested.Name, internalTopic);
                response.Topics.Add(new MetadataResponse.MetadataResponseTopic { Name = requested.Name, IsInternal = internalTopic, ErrorCode = (short)ErrorCode.LeaderNotAvailable });
            }
            else
            {
                response.Topics.Add(new MetadataResponse.MetadataResponseTopic { Name = requested.Name, ErrorCode = (short)ErrorCode.UnknownTopicOrPartition });
            }
        }

        return response;
    }

    private static MetadataResponse.MetadataResponseTopic Describe(MetadataImage image, TopicImage topic) => new()
    {
        Name = topic.Name,
        TopicId = topic.Id,
        IsInternal = topic.Name == CoordinatorsImage.ConsumerOffsetsTopic,
        Partitions =
        [
            .. topic.Partitions.Select(p => new MetadataResponse.MetadataResponsePartition
            {
                PartitionIndex = p.Key,
                ErrorCode = p.Value.HasLeader && image.Cluster.IsActiveBroker(p.Value.Leader) ? (short)ErrorCode.None : (short)ErrorCode.LeaderNotAvailable,
                LeaderId = p.Value.Leader,
                LeaderEpoch = p.Value.LeaderEpoch,
                ReplicaNodes = [.. p.Value.Replicas],
                IsrNodes = [.. p.Value.Isr],
                OfflineReplicas = [.. p.Value.Replicas.Where(r => image.Cluster.Broker(r) is null or { Fenced: true })],
            }),
        ],
    };

    /// <summary>Asks the controller to create the topic once at a time per name; the client's next Metadata sees it.</summary>
    private void StartCreating(string name, bool internalTopic)
    {
        _creating.GetOrAdd(name, n => Task.Run(async () =>
        {
            try
            {
                var request = new CreateTopicsRequest
                {
                    TimeoutMs = settings.RequestTimeoutMs * 5,
                    Topics =
                    [
                        new CreateTopicsRequest.CreatableTopic
                        {
                            Name = n,
                            NumPartitions = internalTopic ? -1 : settings.NumPartitions,
                            ReplicationFactor = internalTopic ? (short)-1 : settings.DefaultReplicationFactor,
                        },
                    ],
                };
                CreateTopicsResponse response = await controller.SendAsync<CreateTopicsRequest, CreateTopicsResponse>(
                    request, r => r.Topics.Any(t => t.ErrorCode == (short)ErrorCode.NotController)).ConfigureAwait(false);
                short error = response.Topics.FirstOrDefault()?.ErrorCode ?? 0;
                if (error is not 0 and not (short)ErrorCode.TopicAlreadyExists)
                {
                    LogAutoCreateFailed(n, (ErrorCode)error, response.Topics.FirstOrDefault()?.ErrorMessage);
                }
                else if (error == 0)
                {
                    LogAutoCreated(n);
                }
            }
            catch (TimeoutException e)
            {
                LogAutoCreateFailed(n, ErrorCode.RequestTimedOut, e.Message);
            }
            finally
            {
                _creating.TryRemove(n, out _);
            }
        }));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Auto-created topic {Topic}")]
    private partial void LogAutoCreated(string topic);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Auto-creating topic {Topic} failed: {Error} {Message}")]
    private partial void LogAutoCreateFailed(string topic, ErrorCode error, string? message);
}
