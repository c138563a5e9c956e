using System.Diagnostics.Metrics;
using Aspire.Kafka.Coordinator.Groups;

namespace Aspire.Kafka.Coordinator;

/// <summary>The end offsets (high watermarks) of partitions, asked of their leaders.</summary>
public interface IPartitionEndOffsets
{
    /// <summary>End offsets of <paramref name="partitions"/>; a partition that could not be asked is left out.</summary>
    Task<IReadOnlyDictionary<(string Topic, int Partition), long>> EndOffsetsAsync(IReadOnlyCollection<(string Topic, int Partition)> partitions, CancellationToken cancellationToken);
}

/// <summary>
/// Consumer-group lag per group and partition, as kafka_exporter names it
/// (<c>kafka_consumergroup_lag</c>, <c>kafka_consumergroup_current_offset</c>): the committed offset
/// of each group this coordinator holds against the partition's end offset. A coordinator hosts no
/// partitions, so the end offsets are asked of the leaders (ListOffsets latest through
/// <see cref="IPartitionEndOffsets"/>) in the background: only when something reads the gauges
/// (a scrape of /metrics, an OTLP export), at most once every <see cref="RefreshInterval"/>, and
/// the gauges report the last answer — so lag is up to that interval (plus a scrape) old, and a
/// partition appears once its first answer is in.
/// </summary>
public sealed class ConsumerLagMetrics : IDisposable
{
    /// <summary>How old the end offsets may be before a read asks again.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(1);

    private readonly GroupCoordinator _coordinator;
    private readonly IPartitionEndOffsets _endOffsets;
    private readonly TimeProvider _time;
    private readonly ILogger<ConsumerLagMetrics> _logger;
    private readonly Meter _meter = new(CoordinatorTelemetry.SourceName);
    private readonly CancellationTokenSource _stopping = new();
    private volatile IReadOnlyDictionary<(string Topic, int Partition), long> _ends = new Dictionary<(string, int), long>();
    private long _lastAttempt = long.MinValue;
    private long _lastSuccess = long.MinValue;
    private int _refreshing;

    public ConsumerLagMetrics(GroupCoordinator coordinator, IPartitionEndOffsets endOffsets, TimeProvider time, ILogger<ConsumerLagMetrics> logger)
    {
        _coordinator = coordinator;
        _endOffsets = endOffsets;
        _time = time;
        _logger = logger;
        _meter.CreateObservableGauge("kafka.consumergroup.lag", ObserveLag, "{message}",
            "End offset (high watermark) minus committed offset, per group and partition (kafka_exporter's kafka_consumergroup_lag); end offsets at most 5 s old.");
        _meter.CreateObservableGauge("kafka.consumergroup.current.offset", ObserveCommitted, "{offset}",
            "Committed offset per group and partition (kafka_exporter's kafka_consumergroup_current_offset).");
    }

    /// <summary>The end offsets known now (for tests and the console).</summary>
    public IReadOnlyDictionary<(string Topic, int Partition), long> EndOffsets => _ends;

    private IEnumerable<Measurement<long>> ObserveCommitted() =>
        Committed().Select(c => new Measurement<long>(c.Offset, Tags(c.Group, c.Topic, c.Partition)));

    private IEnumerable<Measurement<long>> ObserveLag()
    {
        List<(string Group, string Topic, int Partition, long Offset)> committed = Committed();
        MaybeRefresh(committed);
        IReadOnlyDictionary<(string Topic, int Partition), long> ends = _ends;
        foreach ((string group, string topic, int partition, long offset) in committed)
        {
            if (ends.TryGetValue((topic, partition), out long end))
            {
                yield return new Measurement<long>(Math.Max(0, end - offset), Tags(group, topic, partition));
            }
        }
    }

    private List<(string Group, string Topic, int Partition, long Offset)> Committed() => _coordinator.CommittedOffsets();

    private void MaybeRefresh(List<(string Group, string Topic, int Partition, long Offset)> committed)
    {
        if (committed.Count == 0)
        {
            return;
        }

        long now = _time.GetTimestamp();
        IReadOnlyDictionary<(string Topic, int Partition), long> ends = _ends;
        bool missing = committed.Any(c => !ends.ContainsKey((c.Topic, c.Partition)));
        bool due = _lastSuccess == long.MinValue || _time.GetElapsedTime(_lastSuccess, now) >= RefreshInterval;
        bool mayTry = _lastAttempt == long.MinValue || _time.GetElapsedTime(_lastAttempt, now) >= RetryInterval;
        if (!(due || missing) || !mayTry || Interlocked.CompareExchange(ref _refreshing, 1, 0) != 0)
        {
            return;
        }

        _lastAttempt = now;
        (string, int)[] partitions = [.. committed.Select(c => (c.Topic, c.Partition)).Distinct()];
        _ = Task.Run(async () =>
        {
            try
            {
                _ends = await _endOffsets.EndOffsetsAsync(partitions, _stopping.Token).ConfigureAwait(false);
                _lastSuccess = _time.GetTimestamp();
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                _logger.LogDebug("Asking the end offsets of {Count} partition(s) for the lag metrics failed: {Message}", partitions.Length, e.Message);
            }
            finally
            {
                Volatile.Write(ref _refreshing, 0);
            }
        });
    }

    private static KeyValuePair<string, object?>[] Tags(string group, string topic, int partition) =>
        [new("consumergroup", group), new("topic", topic), new("partition", partition)];

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
        _meter.Dispose();
    }
}
