using System.Diagnostics.Metrics;

namespace Aspire.Kafka.Broker;

/// <summary>
/// The broker's instruments (meter <c>Aspire.Kafka.Broker</c>, exported at /metrics): Kafka's
/// BrokerTopicMetrics and ReplicaManager gauges under OpenTelemetry-style names.
/// </summary>
internal sealed class BrokerMetrics : IDisposable
{
    public const string MeterName = "Aspire.Kafka.Broker";

    private readonly Meter _meter = new(MeterName);

    public BrokerMetrics(ReplicaManager replicaManager)
    {
        MessagesIn = _meter.CreateCounter<long>("aspire.kafka.broker.messages.in", "{record}", "Records appended as leader.");
        BytesIn = _meter.CreateCounter<long>("aspire.kafka.broker.bytes.in", "By", "Record bytes appended as leader.");
        BytesOut = _meter.CreateCounter<long>("aspire.kafka.broker.bytes.out", "By", "Record bytes sent in fetch responses (tag: consumer or follower).");
        ReplicationBytesIn = _meter.CreateCounter<long>("aspire.kafka.broker.replication.bytes.in", "By", "Record bytes appended as follower.");
        DuplicateBatches = _meter.CreateCounter<long>("aspire.kafka.broker.duplicate.batches", "{append}",
            "Idempotent produces answered from producer state without writing: retries of batches the log already has.");
        PartitionErrors = _meter.CreateCounter<long>("aspire.kafka.broker.partition.errors", "{error}", "Partitions answered with an error (tags: api, error).");
        IsrShrinks = _meter.CreateCounter<long>("aspire.kafka.broker.isr.shrinks", "{change}", "ISR shrinks proposed by this broker as leader.");
        IsrExpands = _meter.CreateCounter<long>("aspire.kafka.broker.isr.expands", "{change}", "ISR expansions proposed by this broker as leader.");
        _meter.CreateObservableGauge("aspire.kafka.broker.partitions", () => replicaManager.Partitions.Count, "{partition}", "Partitions hosted.");
        _meter.CreateObservableGauge("aspire.kafka.broker.leader.partitions", () => replicaManager.Partitions.Count(p => p.IsLeader), "{partition}", "Partitions led.");
        _meter.CreateObservableGauge("aspire.kafka.broker.under.replicated.partitions",
            () => replicaManager.Partitions.Count(p => p.IsLeader && p.Isr.Count < p.Replicas.Count), "{partition}", "Led partitions whose ISR is smaller than the replica set.");
        _meter.CreateObservableGauge("aspire.kafka.broker.under.min.isr.partitions",
            () => replicaManager.Partitions.Count(p => p.IsLeader && p.Isr.Count < p.MinInsyncReplicas), "{partition}", "Led partitions whose ISR is below min.insync.replicas.");
        _meter.CreateObservableGauge("aspire.kafka.broker.purgatory.size",
            () => new[]
            {
                new Measurement<int>(replicaManager.ProducePurgatory.Watched, new KeyValuePair<string, object?>("operation", "produce")),
                new Measurement<int>(replicaManager.FetchPurgatory.Watched, new KeyValuePair<string, object?>("operation", "fetch")),
            }, "{request}", "Requests waiting in a purgatory.");
        _meter.CreateObservableGauge("aspire.kafka.broker.fetch.sessions", () => replicaManager.FetchSessions.Count, "{session}", "Incremental fetch sessions cached.");
    }

    public Counter<long> MessagesIn { get; }

    public Counter<long> BytesIn { get; }

    public Counter<long> BytesOut { get; }

    public Counter<long> ReplicationBytesIn { get; }

    public Counter<long> DuplicateBatches { get; }

    public Counter<long> PartitionErrors { get; }

    public Counter<long> IsrShrinks { get; }

    public Counter<long> IsrExpands { get; }

    public void Error(string api, Protocol.ErrorCode error) =>
        PartitionErrors.Add(1, new KeyValuePair<string, object?>("api", api), new KeyValuePair<string, object?>("error", error.ToString()));

    public void Dispose() => _meter.Dispose();
}
