using Aspire.Kafka.Client;
using Aspire.Kafka.Metadata;

namespace Aspire.Kafka.Node.Apis;

/// <summary>The cluster as clients see it: the live nodes on a listener, and the id clients use as "controller".</summary>
public static class ClusterView
{
    /// <summary>Unfenced nodes (brokers and coordinators) that have <paramref name="listener"/>, in id order.</summary>
    public static IEnumerable<KafkaNode> LiveNodes(MetadataImage image, string listener)
    {
        ArgumentNullException.ThrowIfNull(image);
        foreach (BrokerRegistration node in image.Cluster.Nodes.Values)
        {
            if (node.Fenced)
            {
                continue;
            }

            Endpoint? endpoint = node.Listener(listener) ?? (node.Listeners.Count == 1 ? node.Listeners[0] : null);
            if (endpoint is not null)
            {
                yield return new KafkaNode(node.Id, endpoint.Host, endpoint.Port, node.Rack);
            }
        }
    }

    /// <summary>
    /// The controller id handed to clients: in KRaft, clients send admin requests to any broker
    /// (which forwards them), so this is a live broker — this node when it is one — never a
    /// controller clients cannot reach. -1 when no broker is live.
    /// </summary>
    public static int ControllerIdForClients(NodeSettings settings, MetadataImage image)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(image);
        if (settings.Role == NodeRole.Broker && image.Cluster.IsActiveBroker(settings.NodeId))
        {
            return settings.NodeId;
        }

        BrokerRegistration? live = image.Cluster.Brokers.Values.FirstOrDefault(b => !b.Fenced);
        return live?.Id ?? (settings.Role == NodeRole.Broker ? settings.NodeId : -1);
    }
}
