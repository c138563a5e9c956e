using Aspire.Kafka.Client;
using Aspire.Kafka.Metadata;

namespace Aspire.Kafka.Node.Apis;

/// <summary>What one Metadata or DescribeCluster answer tells a client: the nodes it lists and the controller id.</summary>
/// <param name="Nodes">Unfenced brokers with an endpoint on the client's listener, in id order (coordinator nodes are an internal tier, like the controllers: clients never see them).</param>
/// <param name="ControllerId">A broker listed in <paramref name="Nodes"/>, the same on every node with the same image; -1 when no broker is listed.</param>
public sealed record ClientClusterView(IReadOnlyList<KafkaNode> Nodes, int ControllerId);

/// <summary>The cluster as clients see it: the live nodes on a listener, and the id clients use as "controller".</summary>
public static class ClusterView
{
    /// <summary>How long Metadata and DescribeCluster wait for an image that lists a broker (see <see cref="WhenBrokerListedAsync"/>).</summary>
    public static readonly TimeSpan MaxWaitForBroker = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The view answered on <paramref name="listener"/>. In KRaft, clients send admin requests to
    /// any broker (which forwards them), so the "controller" is a broker clients can reach: the
    /// lowest id among the brokers this same answer lists, preferring one not in controlled
    /// shutdown. It depends on the image and the listener only, so every broker names the same controller once their images agree, and the id is always in
    /// the brokers array next to it.
    /// <para>
    /// Why it must be listed: kafka-python 2.0.2's KafkaAdminClient takes the controller id of one
    /// Metadata answer and looks it up in the brokers its client learned from an earlier Metadata
    /// answer (<c>check_version(controller_id)</c> → <c>_maybe_connect</c>); an id it does not know
    /// — -1 included, which it does not treat as "unknown" — raises AssertionError "Broker id N
    /// not in current metadata" out of the constructor, with no retry. A broker that named itself
    /// before the others had seen it tripped it that way. What kafka-python does retry is an
    /// answer listing no broker at all (its metadata refresh ignores it and asks again after
    /// retry.backoff.ms), but its admin client would still read that answer's -1; so a node does
    /// not give that answer while it is starting: see <see cref="WhenBrokerListedAsync"/>.
    /// </para>
    /// </summary>
    public static ClientClusterView ForClients(MetadataImage image, string listener)
    {
        ArgumentNullException.ThrowIfNull(image);
        var nodes = new List<KafkaNode>();
        int lowestBroker = -1;
        int lowestRunningBroker = -1;
        foreach (BrokerRegistration node in image.Cluster.Brokers.Values)
        {
            if (node.Fenced)
            {
                continue;
            }

            Endpoint? endpoint = node.Listener(listener) ?? (node.Listeners.Count == 1 ? node.Listeners[0] : null);
            if (endpoint is null)
            {
                continue;
            }

            nodes.Add(new KafkaNode(node.Id, endpoint.Host, endpoint.Port, node.Rack));
            lowestBroker = lowestBroker < 0 ? node.Id : lowestBroker;
            lowestRunningBroker = lowestRunningBroker < 0 && !node.InControlledShutdown ? node.Id : lowestRunningBroker;
        }

        return new ClientClusterView(nodes, lowestRunningBroker >= 0 ? lowestRunningBroker : lowestBroker);
    }

    /// <summary>
    /// The view for a client's Metadata or DescribeCluster, and the image it comes from. A node
    /// whose image lists no broker on <paramref name="listener"/> — it has just started and not
    /// yet caught up with the metadata log, or no broker is unfenced — holds the answer until one
    /// is listed, for at most <see cref="MaxWaitForBroker"/>, then answers what it has (no
    /// brokers, controller -1). Kafka's brokers do not even accept client connections before
    /// their first metadata catch-up; holding the answer gives kafka-python's admin client a
    /// controller id it can look up instead of the -1 it would trip over.
    /// </summary>
    public static async ValueTask<(MetadataImage Image, ClientClusterView View)> WhenBrokerListedAsync(
        ClusterMetadataFollower follower, string listener, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(follower);
        MetadataImage image = follower.Image;
        ClientClusterView view = ForClients(image, listener);
        if (view.ControllerId >= 0)
        {
            return (image, view);
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(MaxWaitForBroker);
        try
        {
            image = await follower.WaitForAsync(i => ForClients(i, listener).ControllerId >= 0, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            image = follower.Image;
        }

        return (image, ForClients(image, listener));
    }
}
