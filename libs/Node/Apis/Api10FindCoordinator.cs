using Aspire.Kafka.Metadata;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Node.Apis;

/// <summary>
/// FindCoordinator (key 10), v0–v4 (v4: batched keys), answered from the metadata image as
/// Kafka answers it: the BROKER that leads the group's <c>__consumer_offsets</c> partition. That
/// broker forwards the group's requests to the coordinator node the controller assigned the
/// partition to (design.md §4, <see cref="CoordinatorChannel"/>); until a live coordinator owns
/// the partition the answer is COORDINATOR_NOT_AVAILABLE, as is a partition without a leader. The first lookup in a cluster asks the controller to create
/// <c>__consumer_offsets</c> (as Kafka's broker does) and answers COORDINATOR_NOT_AVAILABLE, so
/// the client retries; so does a partition whose coordinator is gone. Transactions have no
/// coordinator here: key type 1 is answered COORDINATOR_NOT_AVAILABLE with a message saying so.
/// </summary>
public sealed partial class FindCoordinatorApi(ClusterMetadataFollower follower, ControllerChannel controller, ILogger<FindCoordinatorApi> logger)
    : KafkaApi<FindCoordinatorRequest, FindCoordinatorResponse>
{
    private const sbyte GroupKeyType = 0;
    private int _creatingOffsetsTopic;

    public override VersionRange SupportedVersions { get; } = new(0, 4);

    protected override ValueTask<FindCoordinatorResponse?> HandleAsync(RequestContext context, FindCoordinatorRequest request, CancellationToken cancellationToken)
    {
        MetadataImage image = follower.Image;
        string listener = context.Connection.ListenerName;
        var response = new FindCoordinatorResponse();
        if (context.ApiVersion >= 4)
        {
            foreach (string key in request.CoordinatorKeys)
            {
                (short error, string? message, KafkaNodeAddress? node) = Lookup(image, listener, request.KeyType, key);
                response.Coordinators.Add(new FindCoordinatorResponse.Coordinator
                {
                    Key = key,
                    ErrorCode = error,
                    ErrorMessage = message,
                    NodeId = node?.Id ?? -1,
                    Host = node?.Host ?? "",
                    Port = node?.Port ?? -1,
                });
            }
        }
        else
        {
            (short error, string? message, KafkaNodeAddress? node) = Lookup(image, listener, request.KeyType, request.Key);
            response.ErrorCode = error;
            response.ErrorMessage = message;
            response.NodeId = node?.Id ?? -1;
            response.Host = node?.Host ?? "";
            response.Port = node?.Port ?? -1;
        }

        return ValueTask.FromResult<FindCoordinatorResponse?>(response);
    }

    private (short Error, string? Message, KafkaNodeAddress? Node) Lookup(MetadataImage image, string listener, sbyte keyType, string key)
    {
        if (keyType != GroupKeyType)
        {
            return ((short)ErrorCode.CoordinatorNotAvailable, "Transactions are not supported by this cluster: there is no transaction coordinator.", null);
        }

        CoordinatorLookup? lookup = image.FindCoordinator(key);
        if (lookup is null)
        {
            CreateOffsetsTopic();
            return ((short)ErrorCode.CoordinatorNotAvailable, "The __consumer_offsets topic is being created.", null);
        }

        if (lookup.Coordinator is null)
        {
            return ((short)ErrorCode.CoordinatorNotAvailable, $"No live coordinator owns __consumer_offsets-{lookup.Partition} yet.", null);
        }

        int leader = image.Topics.GetTopic(CoordinatorsImage.ConsumerOffsetsTopic)?.Partition(lookup.Partition)?.Leader ?? -1;
        if (image.Cluster.Broker(leader) is not { IsActive: true } broker)
        {
            return ((short)ErrorCode.CoordinatorNotAvailable, $"__consumer_offsets-{lookup.Partition} has no live leader.", null);
        }

        Endpoint? endpoint = broker.Listener(listener) ?? (broker.Listeners.Count == 1 ? broker.Listeners[0] : null);
        return endpoint is null
            ? ((short)ErrorCode.CoordinatorNotAvailable, $"Broker {broker.Id} has no {listener} listener.", null)
            : ((short)ErrorCode.None, null, new KafkaNodeAddress(broker.Id, endpoint.Host, endpoint.Port));
    }

    private void CreateOffsetsTopic()
    {
        if (Interlocked.Exchange(ref _creatingOffsetsTopic, 1) == 1)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                var request = new CreateTopicsRequest
                {
                    TimeoutMs = 30_000,
                    Topics = [new CreateTopicsRequest.CreatableTopic { Name = CoordinatorsImage.ConsumerOffsetsTopic, NumPartitions = -1, ReplicationFactor = -1 }],
                };
                CreateTopicsResponse response = await controller.SendAsync<CreateTopicsRequest, CreateTopicsResponse>(
                    request, r => r.Topics.Any(t => t.ErrorCode == (short)ErrorCode.NotController)).ConfigureAwait(false);
                CreateTopicsResponse.CreatableTopicResult? result = response.Topics.FirstOrDefault();
                if (result is { ErrorCode: not 0 and not (short)ErrorCode.TopicAlreadyExists })
                {
                    LogCreateFailed((ErrorCode)result.ErrorCode, result.ErrorMessage);
                }
            }
            catch (TimeoutException e)
            {
                LogCreateFailed(ErrorCode.RequestTimedOut, e.Message);
            }
            finally
            {
                Volatile.Write(ref _creatingOffsetsTopic, 0);
            }
        });
    }

    private sealed record KafkaNodeAddress(int Id, string Host, int Port);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Creating __consumer_offsets failed: {Error} {Message}")]
    private partial void LogCreateFailed(ErrorCode error, string? message);
}
