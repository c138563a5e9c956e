using Aspire.Kafka.Storage;
using Aspire.Kafka.Topology;

namespace Aspire.Kafka.Hosting.Tests;

/// <summary>The one topology definition (libs/Topology) that the AppHost, the harness and the benchmarks start.</summary>
public sealed class TopologyTests
{
    [Fact]
    public void The_default_topology_is_the_primary_and_the_backup_cluster_with_their_ids_ports_and_order()
    {
        KafkaTopology topology = KafkaTopology.Default();
        Assert.Equal(
            ["controller-1", "controller-2", "controller-3", "broker-1", "broker-2", "broker-3", "coordinator-1", "coordinator-2",
             "backup-controller-1", "backup-broker-1", "backup-coordinator-1", "mirror"],
            topology.Nodes.Select(n => n.Name));
        Assert.Equal([101, 102, 103], topology.Brokers().Select(b => b.NodeId));
        Assert.Equal([201, 202], topology.Coordinators().Select(b => b.NodeId));
        Assert.Equal("127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094", topology.BootstrapServers());
        Assert.Equal("127.0.0.1:29092", topology.BootstrapServers(KafkaTopology.Backup));

        string voters = string.Join(',', topology.Controllers().Select(c => $"{c.NodeId}@{c.Listener(KafkaTopology.ControllerListener).Address}"));
        foreach (NodeSpec node in topology.Nodes.Where(n => n.Cluster == KafkaTopology.Primary))
        {
            Assert.Contains(new KeyValuePair<string, string>("controller.quorum.voters", voters), node.Config);
        }

        Assert.Empty(topology["controller-1"].WaitFor);
        Assert.Equal(["controller-1", "controller-2", "controller-3"], topology["broker-2"].WaitFor);
        Assert.Equal(["controller-1", "controller-2", "controller-3", "broker-1", "broker-2", "broker-3"], topology["coordinator-1"].WaitFor);
        Assert.Equal(["backup-controller-1", "backup-broker-1"], topology["backup-coordinator-1"].WaitFor);

        // The mirror: primary -> backup, after both clusters' brokers and coordinators; no data directory, no node id.
        NodeSpec mirror = topology.Mirrors.Single();
        Assert.Equal(("mirror", NodeRole.Mirror), (mirror.Name, mirror.Role));
        Assert.Equal(["broker-1", "broker-2", "broker-3", "coordinator-1", "coordinator-2", "backup-broker-1", "backup-coordinator-1"], mirror.WaitFor);
        Assert.Equal(
            ["http.listener", "source.cluster.alias", "source.bootstrap.servers", "target.cluster.alias", "target.bootstrap.servers", "control.listener"],
            mirror.Overrides("/unused").Select(p => p.Key));
        Assert.Contains(new KeyValuePair<string, string>("source.bootstrap.servers", "127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094"), mirror.Config);
        Assert.Contains(new KeyValuePair<string, string>("target.bootstrap.servers", "127.0.0.1:29092"), mirror.Config);
        Assert.Contains(new KeyValuePair<string, string>("control.listener", "127.0.0.1:9096"), mirror.Config);
        Assert.Contains(new KeyValuePair<string, string>("auto.create.topics.enable", "false"), topology["backup-broker-1"].Config);
        // Every port distinct (Kafka, controller and HTTP ports alike).
        List<int> ports = topology.Nodes.SelectMany(n => n.Listeners.Select(l => l.Port).Append(n.HttpPort)).ToList();
        Assert.Equal(ports.Count, ports.Distinct().Count());
    }

    [Fact]
    public void A_node_is_started_with_its_listeners_data_directory_node_id_and_then_its_configs()
    {
        KafkaTopology topology = KafkaTopology.Plan([new ClusterSpec("primary") { Controllers = 1, Brokers = 1, Coordinators = 0, BrokerConfig = new Dictionary<string, string> { ["num.partitions"] = "3" } }]);
        NodeSpec controller = topology["controller-1"];
        IReadOnlyList<KeyValuePair<string, string>> overrides = controller.Overrides("/data/controller-1");
        Assert.Equal(
            ["http.listener", "listeners", "listener.security.protocol.map", "log.dirs", "node.id", "controller.quorum.voters"],
            overrides.Select(p => p.Key));
        Assert.Equal($"CONTROLLER://127.0.0.1:{controller.Listeners[0].Port}", overrides[1].Value);
        Assert.Equal("PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT", overrides[2].Value);
        NodeSpec broker = topology["broker-1"];
        Assert.Equal("3", broker.Overrides("/d").Last(p => p.Key == "num.partitions").Value);
        Assert.DoesNotContain(broker.Overrides("/d"), p => p.Key == "listener.security.protocol.map");
    }

    [Fact]
    public void Data_directories_are_formatted_once_per_cluster_and_a_directory_of_another_node_is_refused()
    {
        string root = Path.Combine(Path.GetTempPath(), "topology-test-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            KafkaTopology topology = KafkaTopology.Plan([new ClusterSpec("primary") { Controllers = 1, Brokers = 2, Coordinators = 0 }, new ClusterSpec("backup") { Controllers = 1, Brokers = 1, Coordinators = 0 }]);
            IReadOnlyDictionary<string, string> ids = DataDirectories.Prepare(root, topology, clean: false);
            Assert.NotEqual(ids["primary"], ids["backup"]);
            Assert.Equal(ids["primary"], MetaProperties.Read(Path.Combine(root, "broker-2"))!.ClusterId);
            Assert.Equal(102, MetaProperties.Read(Path.Combine(root, "broker-2"))!.NodeId);
            Assert.Equal(ids, DataDirectories.Prepare(root, topology, clean: false));

            // broker-1's directory now claims another node: refused, with the way out.
            new MetaProperties(1, ids["primary"], 999, null).Write(Path.Combine(root, "broker-1"));
            InvalidDataException e = Assert.Throws<InvalidDataException>(() => DataDirectories.Prepare(root, topology, clean: false));
            Assert.Contains("--clean", e.Message, StringComparison.Ordinal);
            Assert.NotEqual(ids["primary"], DataDirectories.Prepare(root, topology, clean: true)["primary"]);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
