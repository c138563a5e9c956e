using System.Diagnostics.Metrics;

namespace Aspire.Kafka.Mirror;

/// <summary>
/// The mirror's metrics (meter <c>Aspire.Kafka.Mirror</c>, on /metrics and by OTLP): per mirror
/// partition its lag in records and in ms, the source and target end offsets and its state; and
/// the records and bytes copied.
/// </summary>
public sealed class MirrorMetrics : IDisposable
{
    public const string MeterName = "Aspire.Kafka.Mirror";

    private readonly Meter _meter;
    private readonly Counter<long> _records;
    private readonly Counter<long> _bytes;

    public MirrorMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(MeterName);
        _records = _meter.CreateCounter<long>("aspire.kafka.mirror.records", "{record}", "Records copied from the source to the target.");
        _bytes = _meter.CreateCounter<long>("aspire.kafka.mirror.bytes", "By", "Record batch bytes copied from the source to the target.");
    }

    /// <summary>Registers the per-partition gauges over <paramref name="mirror"/>'s partitions.</summary>
    public void Observe(MirrorService mirror)
    {
        ArgumentNullException.ThrowIfNull(mirror);
        _meter.CreateObservableGauge("aspire.kafka.mirror.partition.lag", () => PerPartition(mirror, p => p.LagRecords), "{record}",
            "Records on the source partition not yet on the target.");
        _meter.CreateObservableGauge("aspire.kafka.mirror.partition.lag.ms", () => PerPartition(mirror, p => p.LagMs(mirror.NowMs)), "ms",
            "Age of the oldest record not yet on the target (0 when caught up).");
        _meter.CreateObservableGauge("aspire.kafka.mirror.partition.source.end.offset", () => PerPartition(mirror, p => p.SourceEndOffset), "{offset}",
            "The source partition's high watermark at the last fetch.");
        _meter.CreateObservableGauge("aspire.kafka.mirror.partition.target.end.offset", () => PerPartition(mirror, p => p.NextOffset), "{offset}",
            "The target partition's log end offset: everything below it is mirrored.");
        _meter.CreateObservableGauge("aspire.kafka.mirror.partition.state",
            () => mirror.Partitions.Select(p => new Measurement<int>(1, Tags(p, new KeyValuePair<string, object?>("state", p.State.ToString())))),
            "{partition}", "1 per mirror partition, labelled with its state (Mirroring, Paused, FailedOver, Failed, SourceDeleted).");
    }

    public void Copied(int records, int bytes)
    {
        _records.Add(records);
        _bytes.Add(bytes);
    }

    private static IEnumerable<Measurement<long>> PerPartition(MirrorService mirror, Func<MirrorPartition, long> value) =>
        mirror.Partitions.Select(p => new Measurement<long>(value(p), Tags(p)));

    private static KeyValuePair<string, object?>[] Tags(MirrorPartition p, params KeyValuePair<string, object?>[] more) =>
        [new("topic", p.Topic), new("partition", p.Partition), .. more];

    public void Dispose() => _meter.Dispose();
}
