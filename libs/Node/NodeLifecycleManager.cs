using Aspire.Kafka.Metadata;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Node;

/// <summary>
/// Kafka's BrokerLifecycleManager for brokers and coordinators: registers this node with the
/// active controller (a fresh incarnation id per process; coordinators add the
/// <c>aspire.coordinator</c> feature), then heartbeats every broker.heartbeat.interval.ms with the
/// last applied metadata offset, so the controller unfences the node once it has caught up and
/// fences it when the heartbeats stop. A node the controller no longer knows (stale epoch, not
/// registered) registers again. At SIGTERM (<see cref="StoppingAsync"/>, before Kestrel stops
/// serving) it asks for a controlled shutdown and keeps heartbeating until the controller says
/// leaderships have moved away (ShouldShutDown) or controlled.shutdown.timeout.ms passes.
/// </summary>
public sealed partial class NodeLifecycleManager : BackgroundService, IHostedLifecycleService
{
    private readonly NodeSettings _settings;
    private readonly ClusterMetadataFollower _follower;
    private readonly ControllerChannel _controller;
    private readonly ILogger<NodeLifecycleManager> _logger;
    private readonly TaskCompletionSource _unfenced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly KafkaUuid _incarnationId = KafkaUuid.NewRandom();
    private readonly SemaphoreSlim _heartbeatLock = new(1, 1);
    private long _brokerEpoch = -1;
    private volatile bool _fenced = true;
    private volatile bool _wantShutDown;

    public NodeLifecycleManager(NodeSettings settings, ClusterMetadataFollower follower, ControllerChannel controller, ILogger<NodeLifecycleManager> logger)
    {
        _settings = settings;
        _follower = follower;
        _controller = controller;
        _logger = logger;
    }

    /// <summary>The epoch the controller gave this node's registration (-1 before).</summary>
    public long BrokerEpoch => Interlocked.Read(ref _brokerEpoch);

    /// <summary>Fenced until the controller unfences us (metadata caught up); fenced again when the lease lapses or at controlled shutdown.</summary>
    public bool IsFenced => _fenced;

    /// <summary>Set once this node asked for a controlled shutdown.</summary>
    public bool InControlledShutdown => _wantShutDown;

    /// <summary>Completes once registered and unfenced the first time.</summary>
    public Task Unfenced => _unfenced.Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (BrokerEpoch < 0)
                {
                    await RegisterAsync(stoppingToken).ConfigureAwait(false);
                    continue;
                }

                await HeartbeatAsync(stoppingToken).ConfigureAwait(false);
                await Task.Delay(TimeSpan.FromMilliseconds(_fenced ? Math.Min(_settings.HeartbeatIntervalMs, 200) : _settings.HeartbeatIntervalMs), stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task RegisterAsync(CancellationToken cancellationToken)
    {
        var request = new BrokerRegistrationRequest
        {
            BrokerId = _settings.NodeId,
            ClusterId = _settings.ClusterId,
            IncarnationId = _incarnationId,
            Rack = _settings.Rack,
            Listeners = [.. _settings.AdvertisedListeners.Select(l => new BrokerRegistrationRequest.Listener { Name = l.Name, Host = l.Host, Port = (ushort)l.Port, SecurityProtocol = l.SecurityProtocol })],
            Features = [new BrokerRegistrationRequest.Feature { Name = RecordVersions.MetadataVersionFeature, MinSupportedVersion = 1, MaxSupportedVersion = RecordVersions.MetadataVersion }],
        };
        if (_settings.Role == NodeRole.Coordinator)
        {
            request.Features.Add(new BrokerRegistrationRequest.Feature { Name = CoordinatorsImage.CoordinatorFeature, MinSupportedVersion = 1, MaxSupportedVersion = 1 });
        }

        BrokerRegistrationResponse response;
        try
        {
            response = await _controller.SendAsync<BrokerRegistrationRequest, BrokerRegistrationResponse>(
                request, r => r.ErrorCode == (short)ErrorCode.NotController, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            LogRegistrationRetry(e.Message);
            return;
        }

        switch ((ErrorCode)response.ErrorCode)
        {
            case ErrorCode.None:
                Interlocked.Exchange(ref _brokerEpoch, response.BrokerEpoch);
                _fenced = true;
                LogRegistered(_settings.NodeId, response.BrokerEpoch, _incarnationId.ToString());
                return;
            case ErrorCode.InconsistentClusterId:
                throw new InvalidOperationException($"The controller quorum belongs to another cluster than {_settings.ClusterId} (INCONSISTENT_CLUSTER_ID): this node's log dirs were formatted for a different cluster.");
            default:
                // DUPLICATE_BROKER_REGISTRATION while our previous incarnation's lease runs out, or a controller still starting.
                LogRegistrationRetry($"{(ErrorCode)response.ErrorCode}");
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(_settings.HeartbeatIntervalMs, 500)), cancellationToken).ConfigureAwait(false);
                return;
        }
    }

    private async Task<BrokerHeartbeatResponse?> HeartbeatAsync(CancellationToken cancellationToken)
    {
        await _heartbeatLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            long epoch = BrokerEpoch;
            if (epoch < 0)
            {
                return null;
            }

            var request = new BrokerHeartbeatRequest
            {
                BrokerId = _settings.NodeId,
                BrokerEpoch = epoch,
                CurrentMetadataOffset = _follower.AppliedOffset - 1,
                WantFence = false,
                WantShutDown = _wantShutDown,
            };
            BrokerHeartbeatResponse response;
            try
            {
                response = await _controller.SendAsync<BrokerHeartbeatRequest, BrokerHeartbeatResponse>(
                    request, r => r.ErrorCode == (short)ErrorCode.NotController,
                    TimeSpan.FromMilliseconds(Math.Max(_settings.HeartbeatIntervalMs, _settings.RequestTimeoutMs)), cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException e)
            {
                LogHeartbeatFailed(e.Message);
                return null;
            }

            switch ((ErrorCode)response.ErrorCode)
            {
                case ErrorCode.None:
                    bool wasFenced = _fenced;
                    _fenced = response.IsFenced;
                    if (wasFenced && !response.IsFenced)
                    {
                        LogUnfenced(epoch);
                        _unfenced.TrySetResult();
                    }
                    else if (!wasFenced && response.IsFenced && !_wantShutDown)
                    {
                        LogFenced(epoch);
                    }

                    return response;
                case ErrorCode.StaleBrokerEpoch or ErrorCode.BrokerIdNotRegistered:
                    LogReregister((ErrorCode)response.ErrorCode, epoch);
                    Interlocked.CompareExchange(ref _brokerEpoch, -1, epoch);
                    _fenced = true;
                    return response;
                default:
                    LogHeartbeatFailed($"{(ErrorCode)response.ErrorCode}");
                    return response;
            }
        }
        finally
        {
            _heartbeatLock.Release();
        }
    }

    /// <summary>
    /// Controlled shutdown: before the host stops serving, ask the controller to move this node's
    /// leaderships away and wait until it says we may go (or the timeout passes).
    /// </summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        if (BrokerEpoch < 0 || _fenced)
        {
            return;
        }

        _wantShutDown = true;
        LogControlledShutdown(_settings.NodeId);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMilliseconds(_settings.ControlledShutdownTimeoutMs));
        try
        {
            while (true)
            {
                BrokerHeartbeatResponse? response = await HeartbeatAsync(timeout.Token).ConfigureAwait(false);
                if (response is { ErrorCode: 0, ShouldShutDown: true })
                {
                    LogControlledShutdownDone(_settings.NodeId);
                    return;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(100), timeout.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            LogControlledShutdownTimedOut(_settings.NodeId);
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Dispose()
    {
        _heartbeatLock.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Registered node {NodeId} with the controller: epoch {Epoch}, incarnation {Incarnation}")]
    private partial void LogRegistered(int nodeId, long epoch, string incarnation);

    [LoggerMessage(Level = LogLevel.Information, Message = "Registration not accepted yet ({Reason}); retrying")]
    private partial void LogRegistrationRetry(string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Unfenced by the controller (epoch {Epoch}): metadata caught up")]
    private partial void LogUnfenced(long epoch);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Fenced by the controller (epoch {Epoch}): the lease lapsed")]
    private partial void LogFenced(long epoch);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The controller answered {Error} to the heartbeat of epoch {Epoch}; registering again")]
    private partial void LogReregister(ErrorCode error, long epoch);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Heartbeat failed: {Reason}")]
    private partial void LogHeartbeatFailed(string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} asks for a controlled shutdown")]
    private partial void LogControlledShutdown(int nodeId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Controlled shutdown of node {NodeId} complete: leaderships moved")]
    private partial void LogControlledShutdownDone(int nodeId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Controlled shutdown of node {NodeId} timed out; stopping anyway")]
    private partial void LogControlledShutdownTimedOut(int nodeId);
}
