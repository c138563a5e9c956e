using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aspire.Kafka.Raft.Tests;

/// <summary>
/// <see cref="RaftNode"/>, the one host loop, with real threads and clocks and an in-memory
/// transport: voters elect a leader and commit what it proposes, an observer follows, and a node
/// that joins after the leader snapshotted loads the snapshot instead of the log.
/// </summary>
public sealed class RaftNodeTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Voters_elect_a_leader_and_every_node_including_an_observer_applies_what_it_proposes()
    {
        await using var cluster = new Cluster([1, 2, 3], maxRecordBytesBetweenSnapshots: long.MaxValue);
        cluster.Start(1, 2, 3, 100);

        TestNode leader = await cluster.WaitForLeaderAsync();
        await cluster.ProposeAsync(leader, "a", "b");
        await cluster.ProposeAsync(leader, "c");

        foreach (TestNode node in cluster.Nodes)
        {
            await PollAsync(() => node.Listener.State.SequenceEqual(["a", "b", "c"]), () => $"node {node.Id} applied {string.Join(',', node.Listener.State)}");
            Assert.Equal(0, node.Node.SnapshotsCreated);
        }

        Assert.True(cluster.Node(100).Listener.LeaderSeen >= 1, "the observer never learned the leader");
        Assert.Equal(RaftRole.Follower, cluster.Node(100).Node.Status.Role);
    }

    [Fact]
    public async Task A_node_that_joins_after_the_leader_snapshotted_loads_the_snapshot_then_follows_the_log()
    {
        await using var cluster = new Cluster([1], maxRecordBytesBetweenSnapshots: 1);
        cluster.Start(1);
        TestNode leader = await cluster.WaitForLeaderAsync();
        await cluster.ProposeAsync(leader, "x", "y");
        await PollAsync(() => leader.Node.SnapshotsCreated >= 1 && leader.Node.Status.LogStartOffset > 0,
            () => $"leader snapshots {leader.Node.SnapshotsCreated}, log start {leader.Node.Status.LogStartOffset}");
        Assert.Equal(["x", "y"], RaftSnapshotCodec.Decode(leader.Listener.LastSnapshot!).Select(v => Encoding.UTF8.GetString(v.Span)));

        cluster.Start(100);
        TestNode late = cluster.Node(100);
        await PollAsync(() => late.Node.SnapshotsLoaded >= 1 && late.Listener.State.SequenceEqual(["x", "y"]),
            () => $"late node loaded {late.Node.SnapshotsLoaded} snapshot(s), state {string.Join(',', late.Listener.State)}");
        await cluster.ProposeAsync(leader, "z");
        await PollAsync(() => late.Listener.State.SequenceEqual(["x", "y", "z"]), () => $"late node state {string.Join(',', late.Listener.State)}");
    }

    private static async Task PollAsync(Func<bool> condition, Func<string> describe)
    {
        DateTime until = DateTime.UtcNow + Deadline;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, describe());
            await Task.Delay(10);
        }
    }

    private sealed class Cluster(int[] voters, long maxRecordBytesBetweenSnapshots) : IAsyncDisposable
    {
        private readonly ConcurrentDictionary<int, TestNode> _nodes = new();

        public IEnumerable<TestNode> Nodes => _nodes.Values;

        public TestNode Node(int id) => _nodes[id];

        public void Start(params int[] ids)
        {
            foreach (int id in ids)
            {
                var config = new RaftConfig { NodeId = id, Voters = voters, ElectionTimeoutMs = 1000, FetchTimeoutMs = 2000, FetchMaxWaitMs = 100, RequestTimeoutMs = 1000 };
                var listener = new TestListener();
                var node = new RaftNode(config, new SnapshotPolicy(maxRecordBytesBetweenSnapshots, 0, 0), new Transport(this), listener, NullLoggerFactory.Instance);
                var stop = new CancellationTokenSource();
                var test = new TestNode(id, node, listener, stop, node.RunAsync(new InMemoryRaftLog(), new InMemoryQuorumStateStore(), stop.Token));
                _nodes[id] = test;
            }
        }

        public async Task<TestNode> WaitForLeaderAsync()
        {
            TestNode? leader = null;
            await PollAsync(() => (leader = Nodes.FirstOrDefault(n => n.Node.Status.Role == RaftRole.Leader)) is not null, () => "no leader");
            return leader!;
        }

        /// <summary>
        /// Proposes on the leader's loop and waits until that leader applied the records. A node
        /// that lost the leadership between the status read and the proposal refuses it without
        /// appending anything (NOT_LEADER_OR_FOLLOWER); the proposal then goes to the new leader, as
        /// a real client would retry (a loaded machine can starve a follower past its fetch timeout).
        /// </summary>
        public async Task ProposeAsync(TestNode leader, params string[] values)
        {
            DateTime until = DateTime.UtcNow + Deadline;
            while (true)
            {
                var proposed = new TaskCompletionSource<ProposeResult>(TaskCreationOptions.RunContinuationsAsynchronously);
                TestNode target = leader;
                Assert.True(target.Node.TryPost(now => proposed.SetResult(target.Node.Core.Propose([.. values.Select(v => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(v))], now))));
                ProposeResult result = await proposed.Task.WaitAsync(Deadline);
                if (result.Succeeded)
                {
                    await PollAsync(() => target.Node.AppliedOffset > result.LastOffset, () => $"leader applied {target.Node.AppliedOffset}, proposed up to {result.LastOffset}");
                    return;
                }

                Assert.True(result.ErrorCode == RaftErrors.NotLeaderOrFollower && DateTime.UtcNow < until, RaftErrors.Name(result.ErrorCode));
                leader = await WaitForLeaderAsync();
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (TestNode node in _nodes.Values)
            {
                await node.Stop.CancelAsync();
            }

            foreach (TestNode node in _nodes.Values)
            {
                await node.Run.WaitAsync(Deadline);
                node.Node.Dispose();
                node.Stop.Dispose();
            }
        }

        /// <summary>Delivers a request to the destination's node and hands back its answer.</summary>
        private sealed class Transport(Cluster cluster) : IRaftTransport
        {
            public async Task<RaftEnvelope?> SendAsync(RaftEnvelope request, CancellationToken cancellationToken)
            {
                if (!cluster._nodes.TryGetValue(request.Destination, out TestNode? destination))
                {
                    return null;
                }

                try
                {
                    RaftMessage answer = await destination.Node.HandleRequestAsync(request.Source, request.Message, cancellationToken);
                    return new RaftEnvelope(request.Destination, request.Source, request.CorrelationId, answer);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    return null; // the destination stopped
                }
            }
        }
    }

    private sealed record TestNode(int Id, RaftNode Node, TestListener Listener, CancellationTokenSource Stop, Task Run);

    /// <summary>A state machine of strings: the data entries applied, in order.</summary>
    private sealed class TestListener : IRaftListener
    {
        private volatile string[] _state = [];
        private int _leaderSeen;

        public IReadOnlyList<string> State => _state;

        public int LeaderSeen => Volatile.Read(ref _leaderSeen);

        public byte[]? LastSnapshot { get; private set; }

        public void OnCommitted(IReadOnlyList<RaftEntry> entries, long nowMs) =>
            _state = [.. _state, .. entries.Where(e => e.Kind == RaftEntryKind.Data).Select(e => Encoding.UTF8.GetString(e.Payload.Span))];

        public void OnSnapshotLoaded(SnapshotId id, IReadOnlyList<ReadOnlyMemory<byte>> values, long nowMs) =>
            _state = [.. values.Select(v => Encoding.UTF8.GetString(v.Span))];

        public IReadOnlyList<ReadOnlyMemory<byte>> SnapshotValues() => [.. _state.Select(s => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(s))];

        public void OnRoleChanged(RoleChanged role)
        {
            if (role.LeaderId >= 0)
            {
                Interlocked.Increment(ref _leaderSeen);
            }
        }

        public void OnSnapshotCreated(SnapshotId id, byte[] snapshot) => LastSnapshot = snapshot;
    }
}
