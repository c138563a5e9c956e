using System.Globalization;
using System.Text;

namespace Aspire.Kafka.Raft.Tests.Scenarios;

/// <summary>
/// The cluster a scenario script drives: nodes with in-memory logs and quorum-state stores, one
/// clock, and a FIFO network whose messages move only when the script says <c>deliver</c>.
/// Every command returns the text the script expects.
/// </summary>
public sealed class ScenarioCluster
{
    private readonly SortedDictionary<int, Node> _nodes = [];
    private readonly List<RaftEnvelope> _queue = [];
    private readonly HashSet<(int From, int To)> _cut = [];
    private long _now;
    private int _seed = 1;

    public string Execute(string command, IReadOnlyList<string> args)
    {
        var output = new StringBuilder();
        switch (command)
        {
            case "add-nodes":
                AddNodes(args);
                break;
            case "tick":
            {
                long ms = Long(args[^1]);
                _now += ms;
                foreach (Node node in Targets(args.Take(args.Count - 1)).Where(n => n.Alive))
                {
                    node.Core.Tick(_now);
                    Drain(node, output);
                }

                break;
            }

            case "campaign":
                foreach (Node node in Targets(args))
                {
                    try
                    {
                        node.Core.Campaign(_now);
                    }
                    catch (InvalidOperationException e)
                    {
                        output.AppendLine("error: " + e.Message);
                    }

                    Drain(node, output);
                }

                break;
            case "deliver":
                Deliver(args.Count == 0 ? null : Targets(args).Select(n => n.Id).ToHashSet(), output);
                break;
            case "stabilize":
            {
                int rounds = 0;
                while (_queue.Count > 0 && rounds++ < 100)
                {
                    Deliver(null, output);
                }

                break;
            }

            case "drop":
                output.AppendLine($"dropped {_queue.Count} messages");
                _queue.Clear();
                break;
            case "propose":
            {
                Node node = _nodes[Int(args[0])];
                ProposeResult result = node.Core.Propose([.. args.Skip(1).Select(a => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(a))], _now);
                output.AppendLine(result.Succeeded
                    ? $"offsets {result.BaseOffset}-{result.LastOffset} epoch {result.Epoch}"
                    : $"{RaftErrors.Name(result.ErrorCode)} leader={result.LeaderId} epoch={result.Epoch}");
                Drain(node, output);
                break;
            }

            case "resign":
                foreach (Node node in Targets(args))
                {
                    node.Core.Resign(_now);
                    Drain(node, output);
                }

                break;
            case "partition":
            {
                _cut.Clear();
                int bar = args.ToList().IndexOf("|");
                var left = args.Take(bar).Select(Int).ToHashSet();
                var right = args.Skip(bar + 1).Select(Int).ToHashSet();
                foreach (int a in left)
                {
                    foreach (int b in right)
                    {
                        _cut.Add((a, b));
                        _cut.Add((b, a));
                    }
                }

                break;
            }

            case "cut":
                foreach (string link in args)
                {
                    string[] parts = link.Split("->");
                    _cut.Add((Int(parts[0]), Int(parts[1])));
                }

                break;
            case "heal":
                _cut.Clear();
                break;
            case "crash":
                foreach (Node node in Targets(args))
                {
                    node.Alive = false;
                    node.Log.Crash();
                    _queue.RemoveAll(m => m.Destination == node.Id);
                }

                break;
            case "restart":
                foreach (Node node in Targets(args))
                {
                    node.Start(_now, _seed++);
                    output.AppendLine(Status(node));
                }

                break;
            case "status":
                foreach (Node node in args.Count == 0 ? _nodes.Values : Targets(args))
                {
                    output.AppendLine(Status(node));
                }

                break;
            case "log":
                foreach (Node node in Targets(args))
                {
                    output.Append(node.Id).Append(':');
                    if (node.Log.LatestSnapshotId is { } snapshot)
                    {
                        output.Append(" snapshot=").Append(snapshot);
                    }

                    foreach (RaftEntry entry in node.Log.Entries)
                    {
                        output.Append(' ').Append(entry);
                    }

                    output.AppendLine();
                }

                break;
            case "snapshot":
            {
                Node node = _nodes[Int(args[0])];
                long end = Long(args[1]);
                string data = string.Join(' ', node.Log.Entries.Where(e => e.Offset < end).Select(e => e.ToString()));
                SnapshotId id = node.Core.CreateSnapshot(end, Encoding.UTF8.GetBytes(data));
                output.AppendLine($"snapshot {id} ({data.Length} bytes)");
                break;
            }

            case "describe":
            {
                QuorumDescription d = _nodes[Int(args[0])].Core.DescribeQuorum();
                output.AppendLine($"{RaftErrors.Name(d.ErrorCode)} leader={d.LeaderId} epoch={d.LeaderEpoch} hw={d.HighWatermark}");
                foreach (ReplicaDescription r in d.Voters)
                {
                    output.AppendLine($"voter {r.ReplicaId} leo={r.LogEndOffset} lastFetch={r.LastFetchTimestamp} lastCaughtUp={r.LastCaughtUpTimestamp}");
                }

                foreach (ReplicaDescription r in d.Observers)
                {
                    output.AppendLine($"observer {r.ReplicaId} leo={r.LogEndOffset} lastFetch={r.LastFetchTimestamp} lastCaughtUp={r.LastCaughtUpTimestamp}");
                }

                break;
            }

            default:
                throw new InvalidDataException($"unknown command '{command}'");
        }

        return output.Length == 0 ? "ok" : output.ToString().TrimEnd('\n', '\r');
    }

    private void AddNodes(IReadOnlyList<string> args)
    {
        int count = Int(args[0]);
        int[] voters = [];
        var overrides = new Dictionary<string, int>();
        foreach (string arg in args.Skip(1))
        {
            string[] kv = arg.Split('=', 2);
            if (kv[0] == "voters")
            {
                voters = [.. kv[1].Split(',').Select(Int)];
            }
            else if (kv[0] == "seed")
            {
                _seed = Int(kv[1]);
            }
            else
            {
                overrides[kv[0]] = Int(kv[1]);
            }
        }

        for (int i = 0; i < count; i++)
        {
            int id = _nodes.Count == 0 ? 1 : _nodes.Keys.Max() + 1;
            var config = new RaftConfig
            {
                NodeId = id,
                Voters = voters,
                FetchMaxBytes = overrides.GetValueOrDefault("fetch-max-bytes", 8 * 1024 * 1024),
                SnapshotChunkBytes = overrides.GetValueOrDefault("snapshot-chunk-bytes", 1024 * 1024),
            };
            var node = new Node(config);
            node.Start(_now, _seed++);
            _nodes[id] = node;
        }
    }

    private void Deliver(HashSet<int>? destinations, StringBuilder output)
    {
        var batch = _queue.Where(m => destinations is null || destinations.Contains(m.Destination)).ToList();
        _queue.RemoveAll(batch.Contains);
        foreach (RaftEnvelope message in batch)
        {
            Node destination = _nodes[message.Destination];
            string line = $"{message.Source}->{message.Destination} {message.Message}";
            if (!destination.Alive || _cut.Contains((message.Source, message.Destination)))
            {
                output.AppendLine(line + " (dropped)");
                continue;
            }

            output.AppendLine(line);
            destination.Core.Step(message, _now);
            Drain(destination, output);
        }
    }

    /// <summary>Performs a node's Ready (persist, flush, queue messages) and reports its events.</summary>
    private void Drain(Node node, StringBuilder output)
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

            _queue.AddRange(ready.Messages);
            foreach (RaftEvent e in ready.Events)
            {
                output.Append("  ").Append(node.Id).Append(": ").AppendLine(e.ToString());
            }

            node.Core.Advance(ready);
        }
    }

    private static string Status(Node node)
    {
        if (!node.Alive)
        {
            return $"{node.Id}: down";
        }

        KafkaRaftCore c = node.Core;
        return $"{node.Id}: {c.Role} epoch={c.Epoch} leader={c.LeaderId} voted={c.VotedId} hw={c.HighWatermark} leo={c.LogEndOffset} start={c.Log.StartOffset}{(c.IsVoter ? "" : " observer")}";
    }

    private IEnumerable<Node> Targets(IEnumerable<string> args)
    {
        var list = args.ToList();
        if (list.Count == 1 && list[0] == "all")
        {
            return _nodes.Values.Where(n => n.Alive).ToList();
        }

        return list.Select(a => _nodes[Int(a)]).ToList();
    }

    private static int Int(string s) => int.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture);

    private static long Long(string s) => long.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture);

    private sealed class Node(RaftConfig config)
    {
        public int Id => config.NodeId;

        public InMemoryRaftLog Log { get; } = new();

        public InMemoryQuorumStateStore Store { get; } = new();

        public KafkaRaftCore Core { get; private set; } = null!;

        public bool Alive { get; set; }

        public void Start(long now, int seed)
        {
            Core = new KafkaRaftCore(config, Log, Store, new Random(seed), now);
            Alive = true;
        }
    }
}
