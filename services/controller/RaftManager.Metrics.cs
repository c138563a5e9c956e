using System.Diagnostics.Metrics;
using Aspire.Kafka.Raft;

namespace Aspire.Kafka.ControllerService;

public sealed partial class RaftManager
{
    // Kafka's raft-metrics: current-state, current-epoch, current-leader, high-watermark, log-end-offset.
    private void CreateMetrics(Meter meter)
    {
        meter.CreateObservableGauge("aspire.kafka.raft.current.state", ObserveRole, "{state}",
            "1 for the Raft role this node is in (tag state), 0 for the others.");
        meter.CreateObservableGauge("aspire.kafka.raft.current.epoch", () => Status.Epoch, "{epoch}", "The current quorum epoch.");
        meter.CreateObservableGauge("aspire.kafka.raft.current.leader", () => Status.LeaderId, "{node}", "The current leader's node id, -1 when unknown.");
        meter.CreateObservableGauge("aspire.kafka.raft.high.watermark", () => Status.HighWatermark, "{offset}", "The high watermark of the metadata log (exclusive).");
        meter.CreateObservableGauge("aspire.kafka.raft.log.end.offset", () => Status.LogEndOffset, "{offset}", "The end offset of the local metadata log.");
        meter.CreateObservableGauge("aspire.kafka.raft.applied.offset", () => Status.AppliedOffset, "{offset}", "The offset up to which committed records were applied.");
    }

    // Kafka's kafka.controller:type=KafkaController metrics, from this node's committed image.
    // Like ZooKeeper-era Kafka, only the active controller reports the cluster-wide counts (the
    // others report 0), so a sum over the controllers is the cluster's value.
    private void CreateControllerMetrics(Meter meter)
    {
        meter.CreateObservableGauge("kafka.controller.kafkacontroller.activecontrollercount", () => _controllerActive ? 1 : 0, "{controller}",
            "1 on the active controller, 0 elsewhere (ActiveControllerCount); the sum over the controllers should be 1.");
        meter.CreateObservableGauge("kafka.controller.kafkacontroller.offlinepartitionscount",
            () => ActiveOnly(image => image.Topics.TopicsById.Values.Sum(t => t.Partitions.Values.Count(p => !p.HasLeader || image.Cluster.Broker(p.Leader) is not { Fenced: false })))
            , "{partition}", "Partitions without a live leader: no leader, or a fenced or unregistered one (OfflinePartitionsCount).");
        meter.CreateObservableGauge("kafka.controller.kafkacontroller.preferredreplicaimbalancecount",
            () => ActiveOnly(image => image.Topics.TopicsById.Values.Sum(t => t.Partitions.Values.Count(p => p.HasLeader && !p.HasPreferredLeader))),
            "{partition}", "Partitions led by a replica other than the preferred one (PreferredReplicaImbalanceCount).");
        meter.CreateObservableGauge("kafka.controller.kafkacontroller.globaltopiccount", () => ActiveOnly(image => image.Topics.TopicsById.Count),
            "{topic}", "Topics in the cluster (GlobalTopicCount).");
        meter.CreateObservableGauge("kafka.controller.kafkacontroller.globalpartitioncount",
            () => ActiveOnly(image => image.Topics.TopicsById.Values.Sum(t => t.Partitions.Count)), "{partition}", "Partitions in the cluster (GlobalPartitionCount).");
        meter.CreateObservableGauge("kafka.controller.kafkacontroller.activebrokercount", () => ActiveOnly(image => image.Cluster.Brokers.Values.Count(b => !b.Fenced)),
            "{broker}", "Registered brokers that are not fenced (ActiveBrokerCount).");
        meter.CreateObservableGauge("kafka.controller.kafkacontroller.fencedbrokercount", () => ActiveOnly(image => image.Cluster.Brokers.Values.Count(b => b.Fenced)),
            "{broker}", "Registered brokers that are fenced (FencedBrokerCount).");
    }

    private int ActiveOnly(Func<Metadata.MetadataImage, int> count) => _controllerActive ? count(_committedImage) : 0;

    private IEnumerable<Measurement<int>> ObserveRole()
    {
        RaftRole current = Status.Role;
        foreach (RaftRole role in Enum.GetValues<RaftRole>())
        {
            yield return new Measurement<int>(role == current ? 1 : 0, new KeyValuePair<string, object?>("state", role.ToString().ToLowerInvariant()));
        }
    }
}
