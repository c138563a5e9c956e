using Aspire.Kafka.Metadata;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Protocol.MetadataRecords;

namespace Aspire.Kafka.Controller;

/// <summary>
/// Node registrations and their lifecycle (Kafka's ClusterControlManager): registration,
/// heartbeats and leases, fencing, controlled shutdown, unregistration — for brokers and
/// coordinator nodes alike. When a broker leaves, the ReplicationControlManager moves its
/// leaderships; when a coordinator leaves, the coordinator assignment is rebalanced.
/// </summary>
internal sealed class ClusterControlManager
{
    private readonly QuorumControllerConfig _config;
    private readonly BrokerHeartbeatManager _heartbeats;
    private readonly ReplicationControlManager _replication;
    private readonly Func<long> _nextWriteOffset;

    public ClusterControlManager(QuorumControllerConfig config, BrokerHeartbeatManager heartbeats, ReplicationControlManager replication, Func<long> nextWriteOffset)
    {
        _config = config;
        _heartbeats = heartbeats;
        _replication = replication;
        _nextWriteOffset = nextWriteOffset;
    }

    /// <summary>
    /// BrokerRegistration (brokers and coordinators): a new registration record whose epoch is its
    /// own log offset; the node starts fenced. A different incarnation while the old one's lease
    /// is valid is DUPLICATE_BROKER_REGISTRATION; the same incarnation may re-register (a retry
    /// or a restart of the process' registration), which fences it again until it catches up.
    /// A node carrying the <see cref="QuorumController.CoordinatorFeature"/> feature registers as a coordinator.
    /// </summary>
    public BrokerRegistrationResponse RegisterBroker(ControllerWriteContext ctx, BrokerRegistrationRequest request, long nowMs)
    {
        var response = new BrokerRegistrationResponse();
        if (_config.ClusterId is { } clusterId && request.ClusterId != clusterId)
        {
            response.ErrorCode = Errors.InconsistentClusterId;
            return response;
        }

        NodeRole role = request.Features.Any(f => f.Name == QuorumController.CoordinatorFeature) ? NodeRole.Coordinator : NodeRole.Broker;
        BrokerRegistration? existing = ctx.Image.Cluster.Node(request.BrokerId);
        if (existing is not null)
        {
            if (existing.Role != role)
            {
                response.ErrorCode = Errors.DuplicateBrokerRegistration;
                return response;
            }

            if (existing.IncarnationId != request.IncarnationId && !existing.Fenced && _heartbeats.HasValidSession(request.BrokerId, nowMs))
            {
                response.ErrorCode = Errors.DuplicateBrokerRegistration;
                return response;
            }
        }

        short metadataVersion = ctx.Image.Features.MetadataVersion;
        if (metadataVersion > 0 && request.Features.FirstOrDefault(f => f.Name == RecordVersions.MetadataVersionFeature) is { } mv
            && (metadataVersion < mv.MinSupportedVersion || metadataVersion > mv.MaxSupportedVersion))
        {
            response.ErrorCode = Errors.UnsupportedVersion;
            return response;
        }

        long epoch = ctx.NextOffset;
        var listeners = request.Listeners.Select(l => (l.Name, l.Host, l.Port, l.SecurityProtocol)).ToList();
        var features = request.Features.Select(f => (f.Name, f.MinSupportedVersion, f.MaxSupportedVersion)).ToList();
        if (role == NodeRole.Coordinator)
        {
            ctx.Add(RecordVersions.Of(new RegisterCoordinatorRecord
            {
                CoordinatorId = request.BrokerId,
                IncarnationId = request.IncarnationId,
                CoordinatorEpoch = epoch,
                EndPoints = [.. listeners.Select(l => new RegisterCoordinatorRecord.CoordinatorEndpoint { Name = l.Name, Host = l.Host, Port = l.Port, SecurityProtocol = l.SecurityProtocol })],
                Features = [.. features.Select(f => new RegisterCoordinatorRecord.CoordinatorFeature { Name = f.Name, MinSupportedVersion = f.MinSupportedVersion, MaxSupportedVersion = f.MaxSupportedVersion })],
                Rack = request.Rack,
                Fenced = true,
            }));
            CoordinatorControlManager.Rebalance(ctx);
        }
        else
        {
            ctx.Add(RecordVersions.Of(new RegisterBrokerRecord
            {
                BrokerId = request.BrokerId,
                IncarnationId = request.IncarnationId,
                BrokerEpoch = epoch,
                EndPoints = [.. listeners.Select(l => new RegisterBrokerRecord.BrokerEndpoint { Name = l.Name, Host = l.Host, Port = l.Port, SecurityProtocol = l.SecurityProtocol })],
                Features = [.. features.Select(f => new RegisterBrokerRecord.BrokerFeature { Name = f.Name, MinSupportedVersion = f.MinSupportedVersion, MaxSupportedVersion = f.MaxSupportedVersion })],
                Rack = request.Rack,
                Fenced = true,
            }));
            if (existing is not null)
            {
                // A re-registered broker is fenced again: it must not lead or be in-sync until it catches up.
                _replication.HandleBrokerFenced(ctx, request.BrokerId);
            }
        }

        _heartbeats.Register(request.BrokerId, nowMs);
        response.BrokerEpoch = epoch;
        return response;
    }

    /// <summary>
    /// BrokerHeartbeat: renews the lease and drives the node's state — unfence once caught up to
    /// its registration (wantFence=false, currentMetadataOffset ≥ registration offset), fence on
    /// request, controlled shutdown (move leadership and ISR membership away, then grant
    /// shouldShutDown once the other active nodes have the records that did so).
    /// </summary>
    public BrokerHeartbeatResponse ProcessBrokerHeartbeat(ControllerWriteContext ctx, BrokerHeartbeatRequest request, long nowMs)
    {
        var response = new BrokerHeartbeatResponse();
        BrokerRegistration? node = ctx.Image.Cluster.Node(request.BrokerId);
        if (node is null)
        {
            response.ErrorCode = Errors.BrokerIdNotRegistered;
            return response;
        }

        if (node.Epoch != request.BrokerEpoch)
        {
            response.ErrorCode = Errors.StaleBrokerEpoch;
            return response;
        }

        _heartbeats.Touch(node.Id, nowMs, request.CurrentMetadataOffset);
        bool fenced = node.Fenced;
        bool shouldShutDown = false;
        if (node.Fenced)
        {
            // A node that completed a controlled shutdown must register again before it may rejoin.
            if (request.WantShutDown || node.InControlledShutdown)
            {
                shouldShutDown = true;
            }
            else if (!request.WantFence && request.CurrentMetadataOffset >= node.Epoch)
            {
                Unfence(ctx, node);
                fenced = false;
            }
        }
        else if (!node.InControlledShutdown)
        {
            if (request.WantFence)
            {
                Fence(ctx, node);
                fenced = true;
                shouldShutDown = request.WantShutDown;
            }
            else if (request.WantShutDown)
            {
                EnterControlledShutdown(ctx, node);
                _heartbeats.SetControlledShutdownOffset(node.Id, ctx.NextOffset - 1);
            }
        }
        else
        {
            // In controlled shutdown: ready once every other active node has caught up to the
            // records that moved leadership away.
            BrokerHeartbeatManager.BrokerHeartbeatState state = _heartbeats.State(node.Id)!;
            if (state.ControlledShutdownOffset < 0)
            {
                // The controller changed during the shutdown: wait for the current log end.
                state.ControlledShutdownOffset = Math.Max(_nextWriteOffset() - 1, 0);
            }

            long lowest = _heartbeats.LowestOffset(ctx.Image.Cluster.Nodes.Values.Where(n => n.IsActive && n.Id != node.Id).Select(n => n.Id));
            if (request.WantShutDown && lowest >= state.ControlledShutdownOffset)
            {
                Fence(ctx, node);
                fenced = true;
                shouldShutDown = true;
            }
        }

        response.IsCaughtUp = request.CurrentMetadataOffset >= node.Epoch;
        response.IsFenced = fenced;
        response.ShouldShutDown = shouldShutDown;
        return response;
    }

    /// <summary>UnregisterBroker: moves leadership off the node and removes its registration.</summary>
    public ApiError UnregisterBroker(ControllerWriteContext ctx, int brokerId)
    {
        BrokerRegistration? node = ctx.Image.Cluster.Node(brokerId);
        if (node is null)
        {
            return new ApiError(Errors.BrokerIdNotRegistered, $"Broker ID {brokerId} is not currently registered");
        }

        ctx.Add(RecordVersions.Of(new UnregisterBrokerRecord { BrokerId = brokerId, BrokerEpoch = node.Epoch }));
        AfterNodeLeft(ctx, node);
        _heartbeats.Remove(brokerId);
        return ApiError.None;
    }

    private void Fence(ControllerWriteContext ctx, BrokerRegistration node)
    {
        ctx.Add(RecordVersions.Of(new BrokerRegistrationChangeRecord { BrokerId = node.Id, BrokerEpoch = node.Epoch, Fenced = 1 }));
        AfterNodeLeft(ctx, node);
    }

    private void EnterControlledShutdown(ControllerWriteContext ctx, BrokerRegistration node)
    {
        ctx.Add(RecordVersions.Of(new BrokerRegistrationChangeRecord { BrokerId = node.Id, BrokerEpoch = node.Epoch, InControlledShutdown = 1 }));
        AfterNodeLeft(ctx, node);
    }

    private void AfterNodeLeft(ControllerWriteContext ctx, BrokerRegistration node)
    {
        if (node.IsCoordinator)
        {
            CoordinatorControlManager.Rebalance(ctx);
        }
        else
        {
            _replication.HandleBrokerFenced(ctx, node.Id);
        }
    }

    private void Unfence(ControllerWriteContext ctx, BrokerRegistration node)
    {
        ctx.Add(RecordVersions.Of(new BrokerRegistrationChangeRecord { BrokerId = node.Id, BrokerEpoch = node.Epoch, Fenced = -1 }));
        if (node.IsCoordinator)
        {
            CoordinatorControlManager.Rebalance(ctx);
        }
        else
        {
            _replication.HandleBrokerUnfenced(ctx, node.Id);
        }
    }

    /// <summary>Fences every unfenced node whose lease has lapsed; returns their ids.</summary>
    public IReadOnlyList<int> FenceStaleNodes(ControllerWriteContext ctx, long nowMs)
    {
        var fenced = new List<int>();
        foreach (BrokerRegistration node in ctx.Image.Cluster.Nodes.Values.ToList())
        {
            if (!node.Fenced && !_heartbeats.HasValidSession(node.Id, nowMs))
            {
                Fence(ctx, ctx.Image.Cluster.Node(node.Id)!);
                fenced.Add(node.Id);
            }
        }

        return fenced;
    }
}
