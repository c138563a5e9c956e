using System.Collections.Immutable;
using Aspire.Kafka.Metadata;
using Aspire.Kafka.Node.Apis;
using Aspire.Kafka.Protocol;

namespace Aspire.Kafka.Node.Tests;

/// <summary>
/// The controller id clients are told (issue 15): the lowest broker the same answer lists, so a
/// client that looks it up in the brokers it was given finds it, and every node with the same
/// image names the same one.
/// </summary>
public sealed class ClusterViewTests
{
    private const string Plaintext = "PLAINTEXT";

    [Fact]
    public void Every_live_node_is_listed_and_the_lowest_broker_is_the_controller()
    {
        MetadataImage image = Image(Broker(103), Broker(101), Broker(102));

        ClientClusterView view = ClusterView.ForClients(image, Plaintext);

        Assert.Equal([101, 102, 103], view.Nodes.Select(n => n.Id));
        Assert.Equal(101, view.ControllerId);
        Assert.Equal(("localhost", 9102), (view.Nodes[1].Host, view.Nodes[1].Port));
    }

    [Fact]
    public void A_fenced_broker_is_neither_listed_nor_the_controller()
    {
        // A broker that just registered again (restarted) is fenced until it caught up.
        MetadataImage image = Image(Broker(101, fenced: true), Broker(102), Broker(103, fenced: true));

        ClientClusterView view = ClusterView.ForClients(image, Plaintext);

        Assert.Equal([102], view.Nodes.Select(n => n.Id));
        Assert.Equal(102, view.ControllerId);
    }

    [Fact]
    public void Coordinator_nodes_are_an_internal_tier_clients_never_see()
    {
        MetadataImage image = Image(Coordinator(51), Broker(102), Coordinator(52), Broker(101));

        ClientClusterView view = ClusterView.ForClients(image, Plaintext);

        Assert.Equal([101, 102], view.Nodes.Select(n => n.Id));
        Assert.Equal(101, view.ControllerId);
    }

    [Fact]
    public void No_listed_broker_means_controller_minus_one()
    {
        ClientClusterView empty = ClusterView.ForClients(MetadataImage.Empty, Plaintext);
        Assert.Empty(empty.Nodes);
        Assert.Equal(-1, empty.ControllerId);

        ClientClusterView onlyCoordinators = ClusterView.ForClients(Image(Coordinator(51), Broker(101, fenced: true)), Plaintext);
        Assert.Empty(onlyCoordinators.Nodes);
        Assert.Equal(-1, onlyCoordinators.ControllerId);
    }

    [Fact]
    public void A_broker_in_controlled_shutdown_is_listed_but_a_running_one_is_preferred_as_controller()
    {
        ClientClusterView view = ClusterView.ForClients(Image(Broker(101, shuttingDown: true), Broker(102), Broker(103)), Plaintext);
        Assert.Equal([101, 102, 103], view.Nodes.Select(n => n.Id));
        Assert.Equal(102, view.ControllerId);

        ClientClusterView allStopping = ClusterView.ForClients(Image(Broker(102, shuttingDown: true), Broker(101, shuttingDown: true)), Plaintext);
        Assert.Equal(101, allStopping.ControllerId);
    }

    [Fact]
    public void Each_listener_gets_its_own_brokers_and_a_controller_among_them()
    {
        // 101 serves only internal clients, 102 only external ones, 103 both; all replicate on REPLICATION.
        MetadataImage image = Image(
            Broker(101, listeners: [Listener("INTERNAL", 19101), Listener("REPLICATION", 29101)]),
            Broker(102, listeners: [Listener("EXTERNAL", 9102), Listener("REPLICATION", 29102)]),
            Broker(103, listeners: [Listener("INTERNAL", 19103), Listener("EXTERNAL", 9103), Listener("REPLICATION", 29103)]));

        ClientClusterView external = ClusterView.ForClients(image, "EXTERNAL");
        Assert.Equal([(102, 9102), (103, 9103)], external.Nodes.Select(n => (n.Id, n.Port)));
        Assert.Equal(102, external.ControllerId);

        ClientClusterView internalView = ClusterView.ForClients(image, "INTERNAL");
        Assert.Equal([(101, 19101), (103, 19103)], internalView.Nodes.Select(n => (n.Id, n.Port)));
        Assert.Equal(101, internalView.ControllerId);

        Assert.Equal(-1, ClusterView.ForClients(image, "SASL").ControllerId);
        Assert.Empty(ClusterView.ForClients(image, "SASL").Nodes);
    }

    [Fact]
    public void A_node_with_a_single_listener_is_listed_on_any_listener()
    {
        // The connection's listener name is the server's; a one-listener node advertises it under its own name.
        MetadataImage image = Image(
            Broker(101, listeners: [Listener("CLIENTS", 9101)]),
            Broker(102, listeners: [Listener("EXTERNAL", 9102), Listener("REPLICATION", 29102)]));

        ClientClusterView view = ClusterView.ForClients(image, Plaintext);

        Assert.Equal([(101, 9101)], view.Nodes.Select(n => (n.Id, n.Port)));
        Assert.Equal(101, view.ControllerId);
    }

    [Fact]
    public void The_controller_is_always_the_lowest_listed_running_broker_of_the_same_answer()
    {
        const int Seed = 15;
        var random = new Random(Seed);
        string[] listenerNames = ["A", "B", "C"];
        for (int round = 0; round < 2_000; round++)
        {
            var nodes = new List<BrokerRegistration>();
            foreach (int id in Enumerable.Range(1, 8).Where(_ => random.Next(3) > 0))
            {
                Endpoint[] listeners = [.. listenerNames.Where(_ => random.Next(2) == 0).Select(name => Listener(name, 9000 + id))];
                var node = new BrokerRegistration(id, 1, KafkaUuid.Zero, listeners.Length > 0 ? listeners : [Listener("A", 9000 + id)], [], null,
                    Fenced: random.Next(4) == 0, InControlledShutdown: random.Next(5) == 0, random.Next(4) == 0 ? NodeRole.Coordinator : NodeRole.Broker);
                nodes.Add(node);
            }

            MetadataImage image = Image([.. nodes]);
            string listener = listenerNames[random.Next(listenerNames.Length)];
            ClientClusterView view = ClusterView.ForClients(image, listener);

            var listedBrokers = nodes.Where(n => n.Role == NodeRole.Broker && view.Nodes.Any(l => l.Id == n.Id)).OrderBy(n => n.Id).ToList();
            int expected = listedBrokers.FirstOrDefault(b => !b.InControlledShutdown)?.Id ?? listedBrokers.FirstOrDefault()?.Id ?? -1;
            string context = $"seed {Seed}, round {round}, listener {listener}: {string.Join("; ", nodes)}";
            Assert.True(expected == view.ControllerId, $"controller {view.ControllerId}, expected {expected}; {context}");
            Assert.True(view.ControllerId == -1 || view.Nodes.Any(n => n.Id == view.ControllerId), context);
            Assert.True(view.Nodes.Select(n => n.Id).SequenceEqual(view.Nodes.Select(n => n.Id).Order()), context);
            Assert.All(view.Nodes, n => Assert.False(image.Cluster.Node(n.Id)!.Fenced, context));
            Assert.All(view.Nodes, n => Assert.Equal(NodeRole.Broker, image.Cluster.Node(n.Id)!.Role));
        }
    }

    private static Endpoint Listener(string name, int port) => new(name, "localhost", port, 0);

    private static BrokerRegistration Broker(int id, bool fenced = false, bool shuttingDown = false, Endpoint[]? listeners = null) =>
        new(id, 1, KafkaUuid.Zero, listeners ?? [Listener(Plaintext, 9000 + id % 1000), Listener("REPLICATION", 29000 + id % 1000)], [], null, fenced, shuttingDown, NodeRole.Broker);

    private static BrokerRegistration Coordinator(int id) =>
        new(id, 1, KafkaUuid.Zero, [Listener(Plaintext, 9000 + id)], [], null, Fenced: false, InControlledShutdown: false, NodeRole.Coordinator);

    private static MetadataImage Image(params BrokerRegistration[] nodes) => new(
        MetadataProvenance.Empty,
        FeaturesImage.Empty,
        new ClusterImage(nodes.ToImmutableSortedDictionary(n => n.Id, n => n)),
        TopicsImage.Empty,
        ConfigurationsImage.Empty,
        ProducerIdsImage.Empty,
        CoordinatorsImage.Empty);
}
