using System.Diagnostics.Metrics;
using Aspire.Kafka.Protocol;

namespace Aspire.Kafka.Broker;

/// <summary>
/// The broker's instruments (meter <c>Aspire.Kafka.Broker</c>, exported at /metrics and by OTLP):
/// Kafka's BrokerTopicMetrics, ReplicaManager, RequestMetrics errors, purgatory and fetch-session
/// metrics under their JMX names, lower-cased with dots (<c>kafka.server:type=ReplicaManager,name=UnderReplicatedPartitions</c>
/// → <c>kafka.server.replicamanager.underreplicatedpartitions</c> → Prometheus
/// <c>kafka_server_replicamanager_underreplicatedpartitions</c>). Kafka's "…PerSec" meters are
/// counters here (Prometheus <c>_total</c>; <c>rate()</c> gives the per-second value).
/// </summary>
internal sealed class BrokerMetrics : IDisposable
{
    public const string MeterName = "Aspire.Kafka.Broker";

    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _messagesIn;
    private readonly Counter<long> _bytesIn;
    private readonly Counter<long> _bytesOut;
    private readonly Counter<long> _replicationBytesIn;
    private readonly Counter<long> _replicationBytesOut;
    private readonly Counter<long> _errors;

    public BrokerMetrics(ReplicaManager replicaManager)
    {
        _messagesIn = _meter.CreateCounter<long>("kafka.server.brokertopicmetrics.messagesin", "{message}", "Records appended as leader (MessagesInPerSec), by topic.");
        _bytesIn = _meter.CreateCounter<long>("kafka.server.brokertopicmetrics.bytesin", "By", "Record bytes appended as leader from producers (BytesInPerSec), by topic.");
        _bytesOut = _meter.CreateCounter<long>("kafka.server.brokertopicmetrics.bytesout", "By", "Record bytes sent to consumers in fetch responses (BytesOutPerSec), by topic.");
        _replicationBytesIn = _meter.CreateCounter<long>("kafka.server.brokertopicmetrics.replicationbytesin", "By", "Record bytes appended as follower (ReplicationBytesInPerSec), by topic.");
        _replicationBytesOut = _meter.CreateCounter<long>("kafka.server.brokertopicmetrics.replicationbytesout", "By", "Record bytes sent to followers in fetch responses (ReplicationBytesOutPerSec), by topic.");
        DuplicateBatches = _meter.CreateCounter<long>("aspire.kafka.broker.duplicate.batches", "{append}",
            "Idempotent produces answered from producer state without writing: retries of batches the log already has.");
        _errors = _meter.CreateCounter<long>("kafka.network.requestmetrics.errors", "{error}", "Partitions answered with an error (ErrorsPerSec), by request and error.");
        IsrShrinks = _meter.CreateCounter<long>("kafka.server.replicamanager.isrshrinks", "{change}", "ISR shrinks proposed by this broker as leader (IsrShrinksPerSec).");
        IsrExpands = _meter.CreateCounter<long>("kafka.server.replicamanager.isrexpands", "{change}", "ISR expansions proposed by this broker as leader (IsrExpandsPerSec).");
        // Reported from the start (0), as Kafka does, so rate() and alerts see the series before the first change.
        IsrShrinks.Add(0);
        IsrExpands.Add(0);
        _meter.CreateObservableGauge("kafka.server.replicamanager.partitioncount", () => replicaManager.Partitions.Count, "{partition}", "Partitions hosted (PartitionCount).");
        _meter.CreateObservableGauge("kafka.server.replicamanager.leadercount", () => replicaManager.Partitions.Count(p => p.IsLeader), "{partition}", "Partitions led (LeaderCount).");
        _meter.CreateObservableGauge("kafka.server.replicamanager.underreplicatedpartitions",
            () => replicaManager.Partitions.Count(p => p.IsLeader && p.Isr.Count < p.Replicas.Count), "{partition}",
            "Led partitions whose ISR is smaller than the replica set (UnderReplicatedPartitions).");
        _meter.CreateObservableGauge("kafka.server.replicamanager.underminisrpartitioncount",
            () => replicaManager.Partitions.Count(p => p.IsLeader && p.Isr.Count < p.MinInsyncReplicas), "{partition}",
            "Led partitions whose ISR is below min.insync.replicas (UnderMinIsrPartitionCount).");
        _meter.CreateObservableGauge("kafka.server.replicamanager.produceridcount",
            () => replicaManager.Partitions.Sum(p => p.Log.ActiveProducerCount), "{producer}",
            "Producer ids with idempotent-producer state, summed over the hosted partitions, leaders and followers (ProducerIdCount, KIP-847).");
        _meter.CreateObservableGauge("kafka.server.delayedoperationpurgatory.purgatorysize",
            () => new[]
            {
                new Measurement<int>(replicaManager.ProducePurgatory.Watched, new KeyValuePair<string, object?>("delayed_operation", "Produce")),
                new Measurement<int>(replicaManager.FetchPurgatory.Watched, new KeyValuePair<string, object?>("delayed_operation", "Fetch")),
            }, "{request}", "Requests waiting in a purgatory (PurgatorySize).");
        _meter.CreateObservableGauge("kafka.server.fetchsessioncache.numincrementalfetchsessions", () => replicaManager.FetchSessions.Count, "{session}",
            "Incremental fetch sessions cached (NumIncrementalFetchSessions).");
    }

    public Counter<long> DuplicateBatches { get; }

    public Counter<long> IsrShrinks { get; }

    public Counter<long> IsrExpands { get; }

    public void MessagesIn(string topic, long records) => _messagesIn.Add(records, Topic(topic));

    public void BytesIn(string topic, long bytes) => _bytesIn.Add(bytes, Topic(topic));

    public void ReplicationBytesIn(string topic, long bytes) => _replicationBytesIn.Add(bytes, Topic(topic));

    /// <summary>Fetched record bytes: BytesOut for consumers, ReplicationBytesOut for followers.</summary>
    public void BytesOut(string topic, long bytes, bool toFollower) => (toFollower ? _replicationBytesOut : _bytesOut).Add(bytes, Topic(topic));

    public void Error(string api, ErrorCode error) =>
        _errors.Add(1, new KeyValuePair<string, object?>("request", api), new KeyValuePair<string, object?>("error", Server.RequestSpan.ErrorName((short)error)));

    private static KeyValuePair<string, object?> Topic(string topic) => new("topic", topic);

    public void Dispose() => _meter.Dispose();
}
