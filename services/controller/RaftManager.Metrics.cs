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
        meter.CreateObservableGauge("aspire.kafka.raft.current.epoch", () => _status.Epoch, "{epoch}", "The current quorum epoch.");
        meter.CreateObservableGauge("aspire.kafka.raft.current.leader", () => _status.LeaderId, "{node}", "The current leader's node id, -1 when unknown.");
        meter.CreateObservableGauge("aspire.kafka.raft.high.watermark", () => _status.HighWatermark, "{offset}", "The high watermark of the metadata log (exclusive).");
        meter.CreateObservableGauge("aspire.kafka.raft.log.end.offset", () => _status.LogEndOffset, "{offset}", "The end offset of the local metadata log.");
        meter.CreateObservableGauge("aspire.kafka.raft.applied.offset", () => _status.AppliedOffset, "{offset}", "The offset up to which committed records were applied.");
    }

    private IEnumerable<Measurement<int>> ObserveRole()
    {
        RaftRole current = _status.Role;
        foreach (RaftRole role in Enum.GetValues<RaftRole>())
        {
            yield return new Measurement<int>(role == current ? 1 : 0, new KeyValuePair<string, object?>("state", role.ToString().ToLowerInvariant()));
        }
    }
}
