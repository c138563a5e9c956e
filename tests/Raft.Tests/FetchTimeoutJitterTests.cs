namespace Aspire.Kafka.Raft.Tests;

/// <summary>RaftConfig.FetchTimeoutJitterMs: followers whose timers restarted together stand at different instants.</summary>
public sealed class FetchTimeoutJitterTests
{
    [Fact]
    public void Without_jitter_every_follower_of_a_silent_leader_stands_after_exactly_the_fetch_timeout()
    {
        for (int seed = 0; seed < 20; seed++)
        {
            Assert.Equal(2000, StandsAfter(2, seed, jitterMs: 0));
            Assert.Equal(2000, StandsAfter(3, seed + 1000, jitterMs: 0));
        }
    }

    [Fact]
    public void With_jitter_two_followers_stand_at_different_instants_within_the_window()
    {
        int apart = 0;
        for (int seed = 0; seed < 100; seed++)
        {
            long a = StandsAfter(2, seed, jitterMs: 1000);
            long b = StandsAfter(3, seed + 1000, jitterMs: 1000);
            Assert.InRange(a, 1001, 2000);
            Assert.InRange(b, 1001, 2000);
            if (Math.Abs(a - b) >= 20)
            {
                apart++;
            }
        }

        // Uniform draws over 1000 ms: two land within 20 ms of each other about 4% of the time.
        Assert.True(apart >= 90, $"only {apart} of 100 pairs stood at least 20 ms apart (seeded: deterministic)");
    }

    [Fact]
    public void Jitter_must_stay_below_the_fetch_timeout()
    {
        Assert.Throws<ArgumentException>(() => new RaftConfig { NodeId = 1, Voters = [1, 2, 3], FetchTimeoutJitterMs = 2000 }.Validate());
        Assert.Throws<ArgumentException>(() => new RaftConfig { NodeId = 1, Voters = [1, 2, 3], FetchTimeoutJitterMs = -1 }.Validate());
        new RaftConfig { NodeId = 1, Voters = [1, 2, 3], FetchTimeoutJitterMs = 1999 }.Validate();
    }

    /// <summary>A voter restarted as follower of leader 1 (which never answers): the ms at which it becomes a candidate.</summary>
    private static long StandsAfter(int id, int seed, int jitterMs)
    {
        var store = new InMemoryQuorumStateStore();
        store.Write(new ElectionState(1, LeaderId: 1));
        var core = new KafkaRaftCore(new RaftConfig { NodeId = id, Voters = [1, 2, 3], FetchTimeoutJitterMs = jitterMs, RequestTimeoutMs = 5000 },
            new InMemoryRaftLog(), store, new Random(seed), 0);
        Assert.Equal(RaftRole.Follower, core.Role);
        for (long now = 0; now <= 5000; now++)
        {
            core.Tick(now);
            while (core.HasReady)
            {
                core.Advance(core.TakeReady());
            }

            if (core.Role == RaftRole.Candidate)
            {
                return now;
            }
        }

        Assert.Fail($"node {id} never stood");
        return -1;
    }
}
