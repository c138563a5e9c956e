using System.Text;

namespace Aspire.Kafka.Raft.Tests;

/// <summary>The host contract of <see cref="KafkaRaftCore"/>: what a Ready holds and when.</summary>
public sealed class KafkaRaftCoreTests
{
    private static KafkaRaftCore Node(int id, int[] voters, InMemoryRaftLog? log = null, InMemoryQuorumStateStore? store = null, long now = 0) =>
        new(new RaftConfig { NodeId = id, Voters = voters }, log ?? new InMemoryRaftLog(), store ?? new InMemoryQuorumStateStore(), new Random(id), now);

    [Fact]
    public void A_vote_grant_travels_in_the_same_ready_as_the_state_to_persist_first()
    {
        KafkaRaftCore voter = Node(2, [1, 2, 3]);

        voter.Step(new RaftEnvelope(1, 2, 9, new VoteRequestData(1, 1, 0, 0)), 10);
        RaftReady ready = voter.TakeReady();

        Assert.Equal(new ElectionState(1, -1, 1), ready.ElectionStateToPersist);
        RaftEnvelope reply = Assert.Single(ready.Messages);
        Assert.Equal(new RaftEnvelope(2, 1, 9, new VoteResponseData(0, -1, 1, true)), reply);
        voter.Advance(ready);
    }

    [Fact]
    public void The_ready_must_be_advanced_before_the_core_takes_more_input()
    {
        KafkaRaftCore node = Node(1, [1, 2, 3]);
        node.Campaign(0);
        RaftReady ready = node.TakeReady();

        Assert.Throws<InvalidOperationException>(() => node.Tick(1));
        Assert.Throws<InvalidOperationException>(() => node.TakeReady());
        node.Advance(ready);
        node.Tick(1);
    }

    [Fact]
    public void A_single_voter_commits_only_once_the_host_flushed_the_log()
    {
        var log = new InMemoryRaftLog();
        KafkaRaftCore node = Node(1, [1], log);
        node.Tick(5_000);
        Assert.Equal(RaftRole.Leader, node.Role);

        RaftReady ready = node.TakeReady();
        Assert.True(ready.FlushLog);
        Assert.Equal(0, node.HighWatermark);
        log.Flush();
        node.Advance(ready);

        Assert.Equal(1, node.HighWatermark);
        ProposeResult result = node.Propose([Encoding.UTF8.GetBytes("a")], 5_001);
        Assert.Equal(new ProposeResult(0, 1, 1, 1, 1), result);
        ready = node.TakeReady();
        log.Flush();
        node.Advance(ready);
        Assert.Equal(2, node.HighWatermark);
        Assert.Contains(node.TakeReady().Events, e => e is HighWatermarkAdvanced { HighWatermark: 2 });
    }

    [Fact]
    public void Followers_refuse_proposals_and_name_the_leader()
    {
        var store = new InMemoryQuorumStateStore();
        store.Write(new ElectionState(3, LeaderId: 1));
        KafkaRaftCore follower = Node(2, [1, 2, 3], store: store);

        Assert.Equal(RaftRole.Follower, follower.Role);
        Assert.Equal(new ProposeResult(RaftErrors.NotLeaderOrFollower, -1, -1, 3, 1), follower.Propose([new byte[] { 1 }], 0));
    }

    [Fact]
    public void A_node_that_led_the_stored_epoch_comes_back_resigned_and_never_leads_it_again()
    {
        var store = new InMemoryQuorumStateStore();
        store.Write(new ElectionState(5, LeaderId: 1, VotedId: 1));
        KafkaRaftCore node = Node(1, [1, 2, 3], store: store);

        Assert.Equal(RaftRole.Resigned, node.Role);
        Assert.Equal(5, node.Epoch);
        node.Tick(10_000);
        Assert.Equal(RaftRole.Candidate, node.Role);
        Assert.Equal(6, node.Epoch);
    }

    [Fact]
    public void Observers_never_stand_and_never_vote()
    {
        KafkaRaftCore observer = Node(4, [1, 2, 3]);
        observer.Tick(60_000);

        Assert.Equal(RaftRole.Unattached, observer.Role);
        Assert.Throws<InvalidOperationException>(() => observer.Campaign(60_000));
        RaftReady ready = observer.TakeReady();
        observer.Advance(ready);
        Assert.All(ready.Messages, m => Assert.IsType<FetchRequestData>(m.Message));

        observer.Step(new RaftEnvelope(1, 4, 1, new VoteRequestData(9, 1, 0, 0)), 60_001);
        ready = observer.TakeReady();
        var reply = (VoteResponseData)Assert.Single(ready.Messages).Message;
        Assert.False(reply.VoteGranted);
        Assert.Equal(RaftErrors.InconsistentVoterSet, reply.ErrorCode);
        Assert.Null(ready.ElectionStateToPersist);
    }

    [Fact]
    public void Snapshots_only_cover_committed_entries()
    {
        var log = new InMemoryRaftLog();
        KafkaRaftCore node = Node(1, [1], log);
        node.Tick(5_000);
        node.Propose([new byte[] { 1 }, new byte[] { 2 }], 5_000);
        RaftReady ready = node.TakeReady();
        Assert.Throws<InvalidOperationException>(() => node.CreateSnapshot(2, new byte[] { 0 }));
        log.Flush();
        node.Advance(ready);

        Assert.Equal(new SnapshotId(2, 1), node.CreateSnapshot(2, new byte[] { 0 }));
        Assert.Equal(2, log.StartOffset);
    }
    [Fact]
    public void While_a_fetch_is_in_flight_nothing_is_due_before_its_deadline()
    {
        // A host sleeps until NextDeadlineMs: a fetch waiting at the leader (long poll) must not
        // make the next fetch look due, or the host loop spins on a core while it waits.
        var store = new InMemoryQuorumStateStore();
        store.Write(new ElectionState(3, LeaderId: 1));
        KafkaRaftCore follower = Node(2, [1, 2, 3], store: store, now: 1_000);
        follower.Tick(1_000);
        RaftReady ready = follower.TakeReady();
        Assert.IsType<FetchRequestData>(Assert.Single(ready.Messages).Message);
        follower.Advance(ready);
        Assert.True(follower.NextDeadlineMs > 1_000, $"follower's next deadline {follower.NextDeadlineMs} is not after now (1000)");

        KafkaRaftCore observer = Node(4, [1, 2, 3], now: 1_000);
        observer.Tick(1_000);
        ready = observer.TakeReady();
        Assert.IsType<FetchRequestData>(Assert.Single(ready.Messages).Message);
        observer.Advance(ready);
        Assert.True(observer.NextDeadlineMs > 1_000, $"observer's next deadline {observer.NextDeadlineMs} is not after now (1000)");
    }
}
