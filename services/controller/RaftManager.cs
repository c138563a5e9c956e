using System.Diagnostics.Metrics;
using Aspire.Kafka.Client;
using Aspire.Kafka.Controller;
using Aspire.Kafka.Raft;

namespace Aspire.Kafka.ControllerService;

/// <summary>
/// Kafka's KafkaRaftManager: opens the metadata log and the quorum-state file and runs the
/// <see cref="RaftNode"/> (the shared Raft host) on them as a voter, with Raft RPCs over a
/// <see cref="NetworkRaftTransport"/> to the other voters and the QuorumController as its
/// listener (RaftManager.Controller.cs). The CONTROLLER listener's handlers step their requests
/// through the node.
/// </summary>
public sealed partial class RaftManager : BackgroundService
{
    private readonly ControllerSettings _settings;
    private readonly ILogger<RaftManager> _logger;
    private readonly NetworkRaftTransport _transport;
    private readonly RaftNode _node;
    private readonly CancellationTokenSource _loopStop = new();
    private MetadataRaftLog? _log;

    // Published for metrics (read from other threads).
    private volatile bool _controllerActive;

    public RaftManager(ControllerSettings settings, ILogger<RaftManager> logger, ILoggerFactory loggerFactory, IMeterFactory meterFactory, IHostApplicationLifetime lifetime)
    {
        // Leave the quorum as soon as the host starts stopping: Kestrel drains connections first,
        // and the peers' connections only close once their Raft loops let go of them.
        lifetime.ApplicationStopping.Register(() => _loopStop.Cancel());
        _settings = settings;
        _logger = logger;
        _transport = new NetworkRaftTransport(settings.NodeId, settings.ClusterId, settings.Voters.Select(v => new KafkaNode(v.Id, v.Host, v.Port)), new KafkaClientOptions
        {
            ClientId = $"raft-client-{settings.NodeId}",
            ClientSoftwareName = "aspire-kafka-controller",
            // A long-polled Fetch waits up to FetchMaxWaitMs on the leader; the core gives up on
            // its own after controller.quorum.request.timeout.ms, so this only reclaims the slot.
            RequestTimeout = TimeSpan.FromMilliseconds(settings.Raft.RequestTimeoutMs + settings.Raft.FetchMaxWaitMs),
            SocketConnectionSetupTimeout = TimeSpan.FromMilliseconds(settings.Raft.RequestTimeoutMs),
            ReconnectBackoff = TimeSpan.FromMilliseconds(20),
            ReconnectBackoffMax = TimeSpan.FromMilliseconds(200),
        }, loggerFactory);
        var snapshotPolicy = new SnapshotPolicy(settings.MaxRecordBytesBetweenSnapshots, settings.MaxSnapshotIntervalMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        _node = new RaftNode(settings.Raft, snapshotPolicy, _transport, this, loggerFactory);
        _controller = new QuorumController(settings.Controller);
        CreateMetrics(meterFactory.Create("Aspire.Kafka.Raft"));
        CreateControllerMetrics(meterFactory.Create(ControllerTelemetry.SourceName));
    }

    /// <summary>What the loop last published.</summary>
    public RaftStatus Status => _node.Status;

    public int NodeId => _settings.NodeId;

    public string ClusterId => _settings.ClusterId;

    /// <summary>Where the metadata log lives (the __cluster_metadata-0 directory).</summary>
    public string? MetadataLogPath => _log?.Dir;

    /// <summary>Steps an inbound Raft request and waits for the core's answer (a parked Fetch waits for new data or its MaxWaitMs).</summary>
    public Task<RaftMessage> HandleRequestAsync(int source, RaftMessage request, CancellationToken cancellationToken) =>
        _node.HandleRequestAsync(source, request, cancellationToken);

    /// <summary>The leader's view of the quorum (an error code and the known leader elsewhere).</summary>
    public Task<QuorumDescription> DescribeQuorumAsync(CancellationToken cancellationToken) => _node.DescribeQuorumAsync(cancellationToken);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await _loopStop.CancelAsync().ConfigureAwait(false);
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void Dispose()
    {
        _node.Dispose();
        _loopStop.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        bool failed = false;
        try
        {
            _log = MetadataRaftLog.Open(_settings.MetadataLogDir, _settings.MetadataLogSegmentBytes, _settings.MetadataLogSegmentMs);
            var store = new FileQuorumStateStore(Path.Combine(_log.Dir, "quorum-state"), _settings.Raft.Voters, _settings.ClusterId);
            LogOpened(_log.Dir, _log.HadCleanShutdown, _log.LoadResult.SegmentsLoaded, _log.LoadResult.SegmentsRecovered, _log.LoadResult.BytesTruncated);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, _loopStop.Token);
            await _node.RunAsync(_log, store, stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            failed = true;
            throw;
        }
        finally
        {
            await _transport.DisposeAsync().ConfigureAwait(false);
            if (failed)
            {
                _log?.Abandon();
            }
            else
            {
                _log?.Dispose();
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Opened the metadata log {Dir}: clean shutdown {CleanShutdown}, {Segments} segment(s), {Recovered} recovered, {Truncated} byte(s) truncated")]
    private partial void LogOpened(string dir, bool cleanShutdown, int segments, int recovered, long truncated);
}
