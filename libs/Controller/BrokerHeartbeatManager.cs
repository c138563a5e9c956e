namespace Aspire.Kafka.Controller;

/// <summary>
/// The active controller's view of node liveness (Kafka's BrokerHeartbeatManager): last contact
/// time and reported metadata offset per node. Not in the log: rebuilt when a controller becomes
/// active (every registered node gets a fresh lease then). Time is injected (milliseconds).
/// </summary>
public sealed class BrokerHeartbeatManager
{
    private readonly Dictionary<int, BrokerHeartbeatState> _states = [];

    public BrokerHeartbeatManager(long sessionTimeoutMs)
    {
        SessionTimeoutMs = sessionTimeoutMs;
    }

    public long SessionTimeoutMs { get; }

    public sealed class BrokerHeartbeatState
    {
        public long LastContactMs { get; internal set; }

        /// <summary>The metadata offset the node reported in its last heartbeat (-1: none yet).</summary>
        public long MetadataOffset { get; internal set; } = -1;

        /// <summary>The offset of the records that moved leadership off the node when it entered controlled shutdown (-1: not shutting down).</summary>
        public long ControlledShutdownOffset { get; internal set; } = -1;
    }

    public BrokerHeartbeatState? State(int nodeId) => _states.GetValueOrDefault(nodeId);

    /// <summary>A registration starts a new lease.</summary>
    public void Register(int nodeId, long nowMs) => _states[nodeId] = new BrokerHeartbeatState { LastContactMs = nowMs };

    public void Touch(int nodeId, long nowMs, long metadataOffset)
    {
        if (!_states.TryGetValue(nodeId, out BrokerHeartbeatState? state))
        {
            state = new BrokerHeartbeatState();
            _states[nodeId] = state;
        }

        state.LastContactMs = nowMs;
        state.MetadataOffset = metadataOffset;
    }

    public void Remove(int nodeId) => _states.Remove(nodeId);

    public void Clear() => _states.Clear();

    /// <summary>True while the node's lease has not lapsed: its last contact is at most broker.session.timeout.ms ago.</summary>
    public bool HasValidSession(int nodeId, long nowMs) =>
        _states.TryGetValue(nodeId, out BrokerHeartbeatState? state) && nowMs - state.LastContactMs <= SessionTimeoutMs;

    public void SetControlledShutdownOffset(int nodeId, long offset)
    {
        if (_states.TryGetValue(nodeId, out BrokerHeartbeatState? state))
        {
            state.ControlledShutdownOffset = offset;
        }
    }

    /// <summary>The lowest metadata offset reported by <paramref name="nodeIds"/> (long.MaxValue when there are none).</summary>
    public long LowestOffset(IEnumerable<int> nodeIds)
    {
        long lowest = long.MaxValue;
        foreach (int id in nodeIds)
        {
            lowest = Math.Min(lowest, _states.TryGetValue(id, out BrokerHeartbeatState? s) ? s.MetadataOffset : -1);
        }

        return lowest;
    }
}
