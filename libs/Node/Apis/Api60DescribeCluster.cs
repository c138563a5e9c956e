using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Node.Apis;

/// <summary>DescribeCluster (key 60): the cluster id, the live nodes on the client's listener and the controller id clients use (the lowest listed broker, as Metadata: <see cref="ClusterView"/>). Endpoint type 2 (controllers) is a controller's question: UNSUPPORTED_ENDPOINT_TYPE, as a Kafka broker answers.</summary>
public sealed class DescribeClusterApi(NodeSettings settings, ClusterMetadataFollower follower) : KafkaApi<DescribeClusterRequest, DescribeClusterResponse>
{
    private const sbyte BrokersEndpointType = 1;

    protected override async ValueTask<DescribeClusterResponse?> HandleAsync(RequestContext context, DescribeClusterRequest request, CancellationToken cancellationToken)
    {
        if (context.ApiVersion >= 1 && request.EndpointType != BrokersEndpointType)
        {
            return new DescribeClusterResponse
            {
                ErrorCode = (short)ErrorCode.UnsupportedEndpointType,
                ErrorMessage = $"Endpoint type {request.EndpointType} is not served by a {(settings.Role == Metadata.NodeRole.Broker ? "broker" : "coordinator")}; ask for brokers (1).",
                EndpointType = request.EndpointType,
                ClusterId = settings.ClusterId,
            };
        }

        (_, ClientClusterView view) = await ClusterView.WhenBrokerListedAsync(follower, context.Connection.ListenerName, cancellationToken).ConfigureAwait(false);
        return new DescribeClusterResponse
        {
            EndpointType = BrokersEndpointType,
            ClusterId = settings.ClusterId,
            ControllerId = view.ControllerId,
            Brokers = [.. view.Nodes.Select(n => new DescribeClusterResponse.DescribeClusterBroker { BrokerId = n.Id, Host = n.Host, Port = n.Port, Rack = n.Rack })],
        };
    }
}
