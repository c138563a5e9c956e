using System.Diagnostics.Metrics;
using Aspire.Kafka.Coordinator.Groups;
using Aspire.Kafka.Metadata;
using Aspire.Kafka.Node;

namespace Aspire.Kafka.Coordinator;

/// <summary>
/// Connects the group state machine to the node: loads and unloads <c>__consumer_offsets</c>
/// partitions as the controller assigns them (an <see cref="IMetadataListener"/>), and runs the
/// coordinator's timers every 100 ms with the clock.
/// </summary>
public sealed class CoordinatorService : BackgroundService, IMetadataListener
{
    private readonly GroupCoordinator _coordinator;
    private readonly NodeSettings _node;
    private readonly TimeProvider _time;
    private readonly ILogger<CoordinatorService> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Meter _meter = new("Aspire.Kafka.Coordinator");

    public CoordinatorService(GroupCoordinator coordinator, NodeSettings node, TimeProvider time, ILogger<CoordinatorService> logger, ConsumerLagMetrics lag)
    {
        // Resolved with the service so that the lag gauges exist from the start.
        ArgumentNullException.ThrowIfNull(lag);
        _coordinator = coordinator;
        _node = node;
        _time = time;
        _logger = logger;
        _meter.CreateObservableGauge("aspire.kafka.coordinator.groups",
            () => coordinator.Snapshot().Groups.Select(g => new Measurement<int>(g.Value, new KeyValuePair<string, object?>("state", g.Key.ToString()))),
            "{group}", "Consumer groups this coordinator holds, by state.");
        _meter.CreateObservableGauge("aspire.kafka.coordinator.members", () => coordinator.Snapshot().Members, "{member}", "Members of the groups this coordinator holds.");
        _meter.CreateObservableGauge("aspire.kafka.coordinator.partitions.owned", () => coordinator.Manager.OwnedPartitions.Count, "{partition}", "__consumer_offsets partitions this coordinator owns.");
        _meter.CreateObservableGauge("aspire.kafka.coordinator.partition.owned",
            () => coordinator.Manager.OwnedPartitions.Select(p => new Measurement<int>(1, new KeyValuePair<string, object?>("partition", p))),
            "{partition}", "1 for each __consumer_offsets partition this coordinator owns, labelled with the partition: which coordinator node serves which groups.");
        _meter.CreateObservableCounter("aspire.kafka.coordinator.rebalances", () => coordinator.RebalancesCompleted, "{rebalance}", "Group generations completed.");
        _meter.CreateObservableCounter("aspire.kafka.coordinator.offset.commits", () => coordinator.OffsetsCommitted, "{offset}", "Partition offsets committed.");
        _meter.CreateObservableCounter("aspire.kafka.coordinator.log.appends", () => coordinator.LogAppends, "{append}",
            "Appends to __consumer_offsets (each one Produce with acks=all); fewer than log.writes when writes waiting for one partition were batched.");
        _meter.CreateObservableCounter("aspire.kafka.coordinator.log.writes", () => coordinator.LogWrites, "{write}",
            "Writes to __consumer_offsets (an offset commit, a group record…) made durable by those appends.");
    }

    public void OnMetadataUpdate(MetadataUpdate update)
    {
        ArgumentNullException.ThrowIfNull(update);
        if (update.Image.Topics.GetTopic(CoordinatorsImage.ConsumerOffsetsTopic) is { Partitions.Count: > 0 } topic)
        {
            _coordinator.Manager.PartitionCount = topic.Partitions.Count;
        }

        CoordinatorChanges changes = update.CoordinatorChanges(_node.NodeId);
        foreach (CoordinatorAssignment lost in changes.Lost)
        {
            _coordinator.Manager.UnloadPartition(lost.PartitionId);
        }

        foreach (CoordinatorAssignment gained in changes.Gained)
        {
            _logger.LogInformation("Loading __consumer_offsets-{Partition} (assignment epoch {Epoch}).", gained.PartitionId, gained.AssignmentEpoch);
            _ = LoadAsync(gained);
        }
    }

    private async Task LoadAsync(CoordinatorAssignment assignment)
    {
        try
        {
            await _coordinator.Manager.LoadPartitionAsync(assignment.PartitionId, assignment.AssignmentEpoch, Now, _stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            _logger.LogError(e, "Loading __consumer_offsets-{Partition} failed.", assignment.PartitionId);
        }
    }

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using PeriodicTimer timer = new(TimeSpan.FromMilliseconds(100), _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                _coordinator.Tick(Now());
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void Dispose()
    {
        _stopping.Dispose();
        _meter.Dispose();
        base.Dispose();
    }
}
