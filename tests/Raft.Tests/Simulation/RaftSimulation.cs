using System.Text;

namespace Aspire.Kafka.Raft.Tests.Simulation;

/// <summary>Knobs of one simulated run; <see cref="ForSeed"/> draws them from the seed.</summary>
public sealed record SimulationOptions
{
    public int Voters { get; init; } = 3;

    public int Observers { get; init; } = 1;

    /// <summary>Simulated time with faults, then the network heals.</summary>
    public long ChaosMs { get; init; } = 12_000;

    /// <summary>After healing, a leader must commit a new entry and every node learn it within this.</summary>
    public long LivenessBoundMs { get; init; } = 30_000;

    public double DropRate { get; init; }

    public double DuplicateRate { get; init; }

    public int MaxDelayMs { get; init; } = 10;

    public int MaxStepMs { get; init; } = 30;

    public double CrashRate { get; init; } = 0.004;

    public double PartitionRate { get; init; } = 0.006;

    public double DelayReadyRate { get; init; } = 0.05;

    /// <summary>controller.quorum.request.timeout.ms of every node (Kafka's 2000, or short so retries race the elections).</summary>
    public int RequestTimeoutMs { get; init; } = 2000;

    /// <summary>Chance, after an event, that the node crashes and restarts at once (just after it sent what it promised).</summary>
    public double BounceRate { get; init; } = 0.002;

    /// <summary>RaftConfig.FetchTimeoutJitterMs of every node (0: Kafka's fixed fetch timeout).</summary>
    public int FetchTimeoutJitterMs { get; init; }

    public static SimulationOptions ForSeed(int seed, int voters)
    {
        var rng = new Random(unchecked(seed * 7919 + voters));
        return new SimulationOptions
        {
            Voters = voters,
            DropRate = rng.NextDouble() * 0.15,
            DuplicateRate = rng.NextDouble() * 0.08,
            MaxDelayMs = 1 + rng.Next(60),
            MaxStepMs = 5 + rng.Next(60),
            CrashRate = rng.NextDouble() * 0.01,
            BounceRate = rng.NextDouble() * 0.006,
            RequestTimeoutMs = rng.Next(2) == 0 ? 2000 : 100 + rng.Next(400),
            PartitionRate = rng.NextDouble() * 0.012,
            // Drawn last so the other options of a seed stay what they were before this one existed.
            FetchTimeoutJitterMs = rng.Next(2) == 0 ? 0 : 1 + rng.Next(1500),
        };
    }
}

/// <summary>The outcome of a run: null <see cref="Failure"/> when every invariant held and the cluster made progress after healing.</summary>
public sealed record SimulationResult(int Seed, int Voters, string? Failure, long Events, int Commits, int MaxEpoch, string Trace)
{
    /// <summary>How often the interesting paths ran: truncations, snapshot installs, crashes, partition changes.</summary>
    public IReadOnlyDictionary<string, int> Counters { get; init; } = new Dictionary<string, int>();

    public bool Passed => Failure is null;
}

/// <summary>
/// A seeded, deterministic simulation of a KRaft quorum (Kafka's RaftEventSimulationTest idea):
/// voters and an observer over a network that drops, delays, duplicates and reorders messages,
/// partitions (symmetric and one-way), crashes and restarts nodes (the durable log and
/// quorum-state survive; unflushed entries and untaken Readies are lost), and a clock that
/// advances in random steps. Invariants are checked after every event.
/// </summary>
public sealed class RaftSimulation
{
    private readonly int _seed;
    private readonly SimulationOptions _options;
    private readonly Random _rng;
    private readonly List<SimNode> _nodes = [];
    private readonly PriorityQueue<RaftEnvelope, (long At, long Seq)> _network = new();
    private readonly HashSet<(int From, int To)> _cut = [];
    private readonly Dictionary<int, int> _leaderOfEpoch = [];
    private readonly List<RaftEntry> _committed = [];
    private readonly Queue<string> _trace = new();
    private readonly bool _verbose;
    private long _now;
    private long _seq;
    private long _events;
    private int _proposals;
    private bool _chaos = true;

    public RaftSimulation(int seed, SimulationOptions options, bool verbose = false)
    {
        _seed = seed;
        _options = options;
        _verbose = verbose;
        _rng = new Random(seed);
        int[] voters = [.. Enumerable.Range(1, options.Voters)];
        for (int id = 1; id <= options.Voters + options.Observers; id++)
        {
            var config = new RaftConfig
            {
                NodeId = id,
                Voters = voters,
                FetchMaxBytes = 600,
                RequestTimeoutMs = options.RequestTimeoutMs,
                FetchMaxWaitMs = Math.Min(500, options.RequestTimeoutMs / 2),
                SnapshotChunkBytes = 200,
                FetchTimeoutJitterMs = options.FetchTimeoutJitterMs,
            };
            _nodes.Add(new SimNode(config, _rng.Next()));
        }

        foreach (SimNode node in _nodes)
        {
            node.Start(_now);
        }
    }

    public static SimulationResult Run(int seed, int voters, bool verbose = false) =>
        new RaftSimulation(seed, SimulationOptions.ForSeed(seed, voters), verbose).Run();

    public SimulationResult Run()
    {
        try
        {
            RunChaos();
            _chaos = false;
            RunLiveness();
            CheckDurability("end");
            return Result(null);
        }
        catch (SimulationFailure e)
        {
            return Result(e.Message);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            return Result($"core threw at t={_now}: {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
        }
    }

    private SimulationResult Result(string? failure) =>
        new(_seed, _options.Voters, failure, _events, _committed.Count, _leaderOfEpoch.Count == 0 ? 0 : _leaderOfEpoch.Keys.Max(), string.Join('\n', _trace))
        {
            Counters = _counters,
        };

    private readonly Dictionary<string, int> _counters = [];

    private void Count(string name) => _counters[name] = _counters.GetValueOrDefault(name) + 1;

    // ------------------------------------------------------------------ phases

    private void RunChaos()
    {
        while (_now < _options.ChaosMs)
        {
            Step();
            MaybeFault();
            MaybePropose();
        }
    }

    private void RunLiveness()
    {
        _cut.Clear();
        foreach (SimNode node in _nodes.Where(n => !n.Alive))
        {
            Restart(node);
        }

        Trace("heal: partitions removed, every node up, no more drops");
        long deadline = _now + _options.LivenessBoundMs;
        byte[]? marker = null;
        while (_now < deadline)
        {
            Step();
            SimNode? leader = _nodes.FirstOrDefault(n => n.Alive && n.Core.Role == RaftRole.Leader);
            if (leader is null)
            {
                continue;
            }

            int markerOffset = marker is null ? -1 : _committed.FindIndex(e => e.Payload.Span.SequenceEqual(marker));
            if (markerOffset >= 0 && _nodes.All(n => n.Core.HighWatermark > markerOffset))
            {
                Trace($"liveness: marker committed at {markerOffset}, every node's hw passed it at t={_now}");
                return;
            }

            bool markerInLeaderLog = marker is not null && leader.Log.Entries.Any(e => e.Payload.Span.SequenceEqual(marker));
            if (!markerInLeaderLog && markerOffset < 0)
            {
                marker = Encoding.UTF8.GetBytes($"marker-{_proposals++}");
                ProposeAt(leader, [marker]);
            }
        }

        throw new SimulationFailure($"liveness: no leader committed a new entry that every node learned within {_options.LivenessBoundMs} ms after healing. " + Describe());
    }

    /// <summary>One time step: deliver due messages, then tick every live node.</summary>
    private void Step()
    {
        _now += 1 + _rng.Next(_options.MaxStepMs);
        while (_network.TryPeek(out _, out var at) && at.At <= _now)
        {
            RaftEnvelope envelope = _network.Dequeue();
            Deliver(envelope);
        }

        foreach (SimNode node in _nodes)
        {
            if (node.Alive)
            {
                Event(node, $"tick {node.Id}", core => core.Tick(_now));
            }
        }
    }

    private void Deliver(RaftEnvelope envelope)
    {
        SimNode destination = _nodes[envelope.Destination - 1];
        if (!destination.Alive || _cut.Contains((envelope.Source, envelope.Destination)))
        {
            return;
        }

        Event(destination, $"deliver {envelope}", core => core.Step(envelope, _now));
    }

    /// <summary>Feeds one input to a node, performs (or, sometimes, postpones) its Ready, then checks every invariant.</summary>
    private void Event(SimNode node, string description, Action<KafkaRaftCore> input)
    {
        _events++;
        long hwBefore = node.Core.HighWatermark;
        node.Log.ResetTruncationMark();
        SnapshotId? snapshotBefore = node.Log.LatestSnapshotId;
        input(node.Core);
        if (_verbose)
        {
            Trace($"t={_now} {description}");
        }

        if (_rng.NextDouble() >= _options.DelayReadyRate)
        {
            PerformReady(node);
        }

        if (node.Log.LowestTruncation < hwBefore)
        {
            throw new SimulationFailure($"node {node.Id} truncated its log to {node.Log.LowestTruncation}, below its high watermark {hwBefore}.");
        }

        if (node.Log.LatestSnapshotId != snapshotBefore && node.Log.LatestSnapshotId is { } snapshot)
        {
            CheckSnapshot(node, snapshot);
        }

        CheckInvariants(node);
        if (_chaos && node.Core.IsVoter && _rng.NextDouble() < _options.BounceRate)
        {
            Crash(node);
            Restart(node);
        }
    }

    private void PerformReady(SimNode node)
    {
        while (node.Core.HasReady)
        {
            RaftReady ready = node.Core.TakeReady();
            if (ready.ElectionStateToPersist is { } state)
            {
                node.Store.Write(state);
            }

            if (ready.FlushLog)
            {
                node.Log.Flush();
            }

            foreach (RaftEnvelope message in ready.Messages)
            {
                Send(message);
            }

            foreach (RaftEvent e in ready.Events)
            {
                if (e is RoleChanged role)
                {
                    Count(role.Role == RaftRole.Leader ? "elections" : role.Role == RaftRole.Resigned ? "resignations" : "role-changes");
                    Trace($"t={_now} node {node.Id}: {role}");
                }
                else if (e is LogTruncated)
                {
                    Count("truncations");
                }
                else if (e is SnapshotInstalled installed)
                {
                    Count("snapshot-installs");
                    Trace($"t={_now} node {node.Id}: {installed}");
                }
            }

            node.Core.Advance(ready);
        }
    }

    private void Send(RaftEnvelope message)
    {
        if (_chaos && _rng.NextDouble() < _options.DropRate)
        {
            return;
        }

        int copies = _chaos && _rng.NextDouble() < _options.DuplicateRate ? 2 : 1;
        for (int i = 0; i < copies; i++)
        {
            long at = _now + 1 + _rng.Next(_options.MaxDelayMs);
            _network.Enqueue(message, (at, _seq++));
        }
    }

    // ------------------------------------------------------------------ faults and load

    private void MaybeFault()
    {
        double roll = _rng.NextDouble();
        if (roll < _options.CrashRate)
        {
            SimNode node = _nodes[_rng.Next(_nodes.Count)];
            if (node.Alive)
            {
                Crash(node);
            }
            else
            {
                Restart(node);
            }
        }
        else if (roll < _options.CrashRate * 4)
        {
            SimNode? down = _nodes.FirstOrDefault(n => !n.Alive);
            if (down is not null)
            {
                Restart(down);
            }
        }

        roll = _rng.NextDouble();
        if (roll < _options.PartitionRate)
        {
            ChangePartitions();
        }

        roll = _rng.NextDouble();
        if (roll < 0.004)
        {
            SimNode node = _nodes[_rng.Next(_nodes.Count)];
            if (node.Alive && node.Core.HighWatermark - node.Log.StartOffset >= 4)
            {
                long end = node.Core.HighWatermark - _rng.Next(3);
                Count("snapshots");
                Event(node, $"snapshot {node.Id} at {end}", core => core.CreateSnapshot(end, EncodeSnapshot(node, end)));
            }
        }
        else if (roll < 0.0055)
        {
            SimNode? leader = _nodes.FirstOrDefault(n => n.Alive && n.Core.Role == RaftRole.Leader);
            if (leader is not null)
            {
                Event(leader, $"resign {leader.Id}", core => core.Resign(_now));
            }
        }
    }

    private void MaybePropose()
    {
        if (_rng.NextDouble() >= 0.25)
        {
            return;
        }

        foreach (SimNode node in _nodes)
        {
            if (node.Alive && node.Core.Role == RaftRole.Leader)
            {
                int count = 1 + _rng.Next(3);
                var records = new List<ReadOnlyMemory<byte>>();
                for (int i = 0; i < count; i++)
                {
                    records.Add(Encoding.UTF8.GetBytes($"v{_proposals++}-n{node.Id}"));
                }

                ProposeAt(node, records);
            }
        }
    }

    private void ProposeAt(SimNode node, IReadOnlyList<ReadOnlyMemory<byte>> records)
    {
        Event(node, $"propose {node.Id}", core =>
        {
            ProposeResult result = core.Propose(records, _now);
            if (!result.Succeeded)
            {
                throw new SimulationFailure($"leader {node.Id} refused a proposal: {RaftErrors.Name(result.ErrorCode)}");
            }
        });
    }

    private void Crash(SimNode node)
    {
        Trace($"t={_now} crash {node.Id}");
        Count("crashes");
        node.Crash();
        // The connections of the dead process are gone: nothing queued for it arrives.
        var kept = new List<(RaftEnvelope, (long, long))>();
        while (_network.TryDequeue(out RaftEnvelope? envelope, out var priority))
        {
            if (envelope.Destination != node.Id)
            {
                kept.Add((envelope, priority));
            }
        }

        foreach (var (envelope, priority) in kept)
        {
            _network.Enqueue(envelope, priority);
        }

        CheckDurability($"crash of {node.Id}");
    }

    private void Restart(SimNode node)
    {
        Trace($"t={_now} restart {node.Id}");
        node.Start(_now);
        CheckLogAgainstHistory(node, node.Core.HighWatermark);
        CheckInvariants(node);
    }

    private void ChangePartitions()
    {
        _cut.Clear();
        Count("partition-changes");
        int kind = _rng.Next(4);
        var ids = _nodes.Select(n => n.Id).OrderBy(_ => _rng.Next()).ToList();
        switch (kind)
        {
            case 0:
                Trace($"t={_now} heal");
                break;
            case 1:
            {
                // Symmetric split into two sides.
                int split = 1 + _rng.Next(ids.Count - 1);
                var left = ids.Take(split).ToHashSet();
                foreach (int a in ids)
                {
                    foreach (int b in ids)
                    {
                        if (left.Contains(a) != left.Contains(b))
                        {
                            _cut.Add((a, b));
                        }
                    }
                }

                Trace($"t={_now} partition {string.Join(' ', left.Order())} | {string.Join(' ', ids.Except(left).Order())}");
                break;
            }

            case 2:
            {
                // One-way cuts: some links lose messages in one direction only.
                int cuts = 1 + _rng.Next(ids.Count);
                for (int i = 0; i < cuts; i++)
                {
                    int a = ids[_rng.Next(ids.Count)];
                    int b = ids[_rng.Next(ids.Count)];
                    if (a != b)
                    {
                        _cut.Add((a, b));
                    }
                }

                Trace($"t={_now} one-way cuts {string.Join(' ', _cut.Select(c => $"{c.From}->{c.To}"))}");
                break;
            }

            default:
            {
                // Isolate one node.
                int lone = ids[0];
                foreach (int other in ids.Skip(1))
                {
                    _cut.Add((lone, other));
                    _cut.Add((other, lone));
                }

                Trace($"t={_now} isolate {lone}");
                break;
            }
        }
    }

    // ------------------------------------------------------------------ invariants

    private void CheckInvariants(SimNode node)
    {
        KafkaRaftCore core = node.Core;
        if (core.Role == RaftRole.Leader)
        {
            if (_leaderOfEpoch.TryGetValue(core.Epoch, out int other) && other != node.Id)
            {
                throw new SimulationFailure($"two leaders in epoch {core.Epoch}: {other} and {node.Id}.");
            }

            _leaderOfEpoch[core.Epoch] = node.Id;
        }

        if (!core.IsVoter && core.Role is not (RaftRole.Unattached or RaftRole.Follower))
        {
            throw new SimulationFailure($"observer {node.Id} became {core.Role}.");
        }

        if (core.HighWatermark < node.LastHighWatermark)
        {
            throw new SimulationFailure($"node {node.Id}: high watermark went back from {node.LastHighWatermark} to {core.HighWatermark}.");
        }

        if (core.HighWatermark > core.LogEndOffset)
        {
            throw new SimulationFailure($"node {node.Id}: high watermark {core.HighWatermark} is past its log end {core.LogEndOffset}.");
        }

        if (core.HighWatermark > node.LastHighWatermark)
        {
            CheckLogAgainstHistory(node, core.HighWatermark, node.LastHighWatermark);
            node.LastHighWatermark = core.HighWatermark;
        }
    }

    /// <summary>Entries [from, hw) of the node's log are committed: they must match (or extend) the committed history.</summary>
    private void CheckLogAgainstHistory(SimNode node, long hw, long from = 0)
    {
        long start = Math.Max(from, node.Log.StartOffset);
        if (start > _committed.Count)
        {
            throw new SimulationFailure($"node {node.Id}: committed offsets [{_committed.Count}, {start}) are known to no history (hw {hw}).");
        }

        for (long offset = start; offset < hw; offset++)
        {
            RaftEntry entry = node.Log.Entries[(int)(offset - node.Log.StartOffset)];
            if (offset < _committed.Count)
            {
                if (!_committed[(int)offset].SameContent(entry))
                {
                    throw new SimulationFailure($"node {node.Id}: committed entry {offset} changed: history has {_committed[(int)offset]}, the log has {entry}.");
                }
            }
            else
            {
                _committed.Add(entry);
            }
        }
    }

    private void CheckSnapshot(SimNode node, SnapshotId snapshot)
    {
        List<RaftEntry> entries = DecodeSnapshot(node.Log.SnapshotData);
        if (entries.Count != snapshot.EndOffset)
        {
            throw new SimulationFailure($"node {node.Id}: snapshot {snapshot} holds {entries.Count} entries.");
        }

        for (int i = 0; i < entries.Count; i++)
        {
            if (i >= _committed.Count)
            {
                throw new SimulationFailure($"node {node.Id}: snapshot {snapshot} holds entry {i}, which is not committed (history ends at {_committed.Count}).");
            }

            if (!_committed[i].SameContent(entries[i]))
            {
                throw new SimulationFailure($"node {node.Id}: snapshot {snapshot} entry {i} is {entries[i]}, history has {_committed[i]}.");
            }
        }
    }

    /// <summary>Committed data is never lost: a majority of voters hold all of it durably (snapshot plus durable log).</summary>
    private void CheckDurability(string when)
    {
        int holders = 0;
        foreach (SimNode node in _nodes.Where(n => n.Core.IsVoter))
        {
            long durableEnd = node.Log.DurableStartOffset + node.Log.DurableEntries.Count;
            if (durableEnd < _committed.Count)
            {
                continue;
            }

            bool matches = true;
            for (long offset = node.Log.DurableStartOffset; offset < _committed.Count; offset++)
            {
                if (!node.Log.DurableEntries[(int)(offset - node.Log.DurableStartOffset)].SameContent(_committed[(int)offset]))
                {
                    matches = false;
                    break;
                }
            }

            holders += matches ? 1 : 0;
        }

        if (holders < _options.Voters / 2 + 1)
        {
            throw new SimulationFailure($"after {when}: only {holders} voters hold the {_committed.Count} committed entries durably. " + Describe());
        }
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>The simulated state machine's snapshot: every entry below the end offset, as text lines.</summary>
    private static byte[] EncodeSnapshot(SimNode node, long endOffset)
    {
        var text = new StringBuilder();
        if (node.Log.LatestSnapshotId is not null)
        {
            text.Append(Encoding.UTF8.GetString(node.Log.SnapshotData.Span));
        }

        for (long offset = node.Log.StartOffset; offset < endOffset; offset++)
        {
            RaftEntry e = node.Log.Entries[(int)(offset - node.Log.StartOffset)];
            text.Append(e.Offset).Append(' ').Append(e.Epoch).Append(' ').Append((int)e.Kind).Append(' ').Append(Convert.ToBase64String(e.Payload.Span)).Append('\n');
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static List<RaftEntry> DecodeSnapshot(ReadOnlyMemory<byte> data)
    {
        var entries = new List<RaftEntry>();
        foreach (string line in Encoding.UTF8.GetString(data.Span).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] parts = line.Split(' ');
            entries.Add(new RaftEntry(long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture),
                Convert.FromBase64String(parts[3]), (RaftEntryKind)int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture)));
        }

        return entries;
    }

    private void Trace(string line)
    {
        _trace.Enqueue(line);
        if (!_verbose && _trace.Count > 60)
        {
            _trace.Dequeue();
        }
    }

    private string Describe() =>
        "Nodes: " + string.Join("; ", _nodes.Select(n =>
            $"{n.Id}:{(n.Alive ? n.Core.Role.ToString() : "down")} epoch={n.Core.Epoch} leader={n.Core.LeaderId} hw={n.Core.HighWatermark} leo={n.Core.LogEndOffset}")) +
        $"; cuts={_cut.Count}; t={_now}";

    private sealed class SimulationFailure(string message) : Exception(message);

    private sealed class SimNode(RaftConfig config, int randomSeed)
    {
        private readonly Random _random = new(randomSeed);

        public int Id => config.NodeId;

        public InMemoryRaftLog Log { get; } = new();

        public InMemoryQuorumStateStore Store { get; } = new();

        public KafkaRaftCore Core { get; private set; } = null!;

        public bool Alive { get; private set; }

        /// <summary>High watermark seen in this incarnation (a restarted node relearns it).</summary>
        public long LastHighWatermark { get; set; }

        public void Start(long now)
        {
            Core = new KafkaRaftCore(config, Log, Store, new Random(_random.Next()), now);
            Alive = true;
            LastHighWatermark = Core.HighWatermark;
        }

        public void Crash()
        {
            Alive = false;
            Log.Crash();
        }
    }
}
