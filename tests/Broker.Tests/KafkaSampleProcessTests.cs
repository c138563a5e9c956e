using System.Globalization;
using System.Text;
using Aspire.Kafka.Hosting;
using Aspire.Kafka.Tests.KafkaSample;
using Aspire.Kafka.Topology;

namespace Aspire.Kafka.Broker.Tests;

/// <summary>A controller and a broker started from Kafka's own sample properties files (paths, ports, ids and voters filled in) serve kcat.</summary>
[Collection(ProcessCluster.Collection)]
public sealed class KafkaSampleProcessTests
{
    [Fact]
    public async Task Kafka_sample_properties_start_a_controller_and_a_broker_that_kcat_produces_to_and_consumes_from()
    {
        KafkaTopology topology = KafkaTopology.Plan([new ClusterSpec(KafkaTopology.Primary) { Controllers = 1, Brokers = 1, Coordinators = 0 }]);
        NodeSpec controller = topology.Controllers().Single();
        NodeSpec broker = topology.Brokers().Single();
        string voters = topology.Controllers().Single().Config.Single(c => c.Key == "controller.quorum.voters").Value;
        string files = Directory.CreateTempSubdirectory("kafka-sample-files-").FullName;
        string data = Path.Combine(Path.GetTempPath(), "aspire-kafka-test-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            // log.dirs in the files is replaced by the harness' formatted data directory (--override, as every test node).
            string controllerFile = KafkaSampleFiles.Write("controller.properties", files, controller.NodeId, voters,
                controller.Listener(KafkaTopology.ControllerListener).Address, Path.Combine(files, "controller-logs"));
            string brokerFile = KafkaSampleFiles.Write("broker.properties", files, broker.NodeId, voters,
                broker.Listener(KafkaTopology.ClientListener).Address, Path.Combine(files, "broker-logs"));
            await using TestCluster cluster = await TestCluster.StartAsync(
                app =>
                {
                    IReadOnlyDictionary<string, ResourceBuilder> nodes = app.AddTopology(topology);
                    nodes[controller.Name].WithArgs("--config", controllerFile);
                    nodes[broker.Name].WithArgs("--config", brokerFile);
                },
                new DistributedApplicationOptions { DataDirectory = data, BuildProjects = false, StopTimeout = TimeSpan.FromSeconds(10) });
            string bootstrap = cluster.BootstrapServers(KafkaTopology.Primary);

            var input = new StringBuilder();
            for (int i = 0; i < 200; i++)
            {
                input.Append(CultureInfo.InvariantCulture, $"key{i % 7}:value{i}\n");
            }

            // num.partitions=1 from the sample: the first produce auto-creates the topic with one partition.
            await ProcessCluster.KcatAsync(input.ToString(), 90, "-b", bootstrap, "-P", "-t", "sample", "-K:", "-X", "acks=all", "-X", "message.timeout.ms=60000");
            string consumed = await ProcessCluster.KcatAsync("", 90, "-b", bootstrap, "-C", "-t", "sample", "-o", "beginning", "-e", "-f", "%p %k %s\n");
            string[] lines = consumed.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(Enumerable.Range(0, 200).Select(i => $"0 key{i % 7} value{i}"), lines);
        }
        finally
        {
            Directory.Delete(files, recursive: true);
            if (Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }
        }
    }
}
