using System.Diagnostics;
using Aspire.Kafka.Hosting;
using Aspire.Kafka.Protocol.Messages;
using Xunit.Abstractions;

namespace Aspire.Kafka.ControllerService.Tests;

/// <summary>Real controller processes on loopback: election, DescribeQuorum, kill -9 of the leader, restart and catch-up.</summary>
public sealed class QuorumTests(ITestOutputHelper output)
{
    private const short InconsistentClusterId = 104;

    [Fact]
    public async Task Three_controllers_elect_one_leader_and_DescribeQuorum_shows_every_voter()
    {
        await using Quorum quorum = await Quorum.StartAsync();

        (int leader, DescribeQuorumResponse.PartitionData state) = await quorum.WaitForLeaderAsync(Quorum.Ids, TimeSpan.FromSeconds(10),
            p => p.CurrentVoters.Count == 3 && p.CurrentVoters.All(v => v.LogEndOffset >= p.HighWatermark));

        Assert.True(state.LeaderEpoch >= 1, $"epoch {state.LeaderEpoch}");
        Assert.True(state.HighWatermark >= 1, $"the LeaderChange record of the epoch is committed: hw {state.HighWatermark}");
        long nowMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Assert.All(state.CurrentVoters.Where(v => v.ReplicaId != leader), v =>
            Assert.InRange(v.LastFetchTimestamp, nowMs - 10_000, nowMs + 1_000));
        Assert.Equal(Quorum.Ids, state.CurrentVoters.Select(v => v.ReplicaId).Order());
        Assert.Empty(state.Observers);
        foreach (DescribeQuorumResponse.ReplicaState voter in state.CurrentVoters)
        {
            Assert.True(voter.LogEndOffset >= state.HighWatermark, $"voter {voter.ReplicaId} log end {voter.LogEndOffset} < hw {state.HighWatermark}");
        }

        // The lowest and highest version a client may send get the same picture (v0 has no timestamps).
        DescribeQuorumResponse.PartitionData v0 = await quorum.DescribeQuorumAsync(leader, version: 0);
        Assert.Equal(leader, v0.LeaderId);
        Assert.Equal(state.LeaderEpoch, v0.LeaderEpoch);
        Assert.Equal(3, v0.CurrentVoters.Count);

        // The others are followers of that leader: they answer NOT_LEADER_OR_FOLLOWER and name it.
        foreach (int follower in Quorum.Ids.Where(id => id != leader))
        {
            DescribeQuorumResponse.PartitionData p = await quorum.DescribeQuorumAsync(follower);
            Assert.Equal(6, p.ErrorCode);
            Assert.Equal(leader, p.LeaderId);
            Assert.Equal(state.LeaderEpoch, p.LeaderEpoch);
        }

        // A voter of another cluster is refused before the Raft core sees it.
        VoteResponse foreign = await quorum.SendAsync<VoteRequest, VoteResponse>(leader, new VoteRequest
        {
            ClusterId = "another-cluster-id-000",
            Topics =
            [
                new VoteRequest.TopicData
                {
                    TopicName = Quorum.MetadataTopic,
                    Partitions = [new VoteRequest.PartitionData { PartitionIndex = 0, CandidateEpoch = state.LeaderEpoch + 5, CandidateId = 2, LastOffsetEpoch = 99, LastOffset = 999 }],
                },
            ],
        });
        Assert.Equal(InconsistentClusterId, foreign.ErrorCode);
        DescribeQuorumResponse.PartitionData unchanged = await quorum.DescribeQuorumAsync(leader);
        Assert.Equal(state.LeaderEpoch, unchanged.LeaderEpoch);

        // Kafka's file names under each data directory.
        foreach (int id in Quorum.Ids)
        {
            string dir = Path.Combine(quorum.DataDirectory(id), "__cluster_metadata-0");
            Assert.True(File.Exists(Path.Combine(dir, "quorum-state")), $"{dir}/quorum-state");
            Assert.True(File.Exists(Path.Combine(dir, "00000000000000000000.log")), $"{dir}/00000000000000000000.log");
            Assert.True(File.Exists(Path.Combine(dir, "leader-epoch-checkpoint")), $"{dir}/leader-epoch-checkpoint");
        }
    }

    [Fact]
    public async Task Killing_the_leader_elects_a_new_one_within_3_s_and_the_old_one_catches_up_after_restart()
    {
        await using Quorum quorum = await Quorum.StartAsync();
        // A settled quorum: the active controller's first records are committed and every voter holds them.
        (int oldLeader, DescribeQuorumResponse.PartitionData before) = await quorum.WaitForLeaderAsync(Quorum.Ids, TimeSpan.FromSeconds(10),
            p => p.HighWatermark >= 3 && p.CurrentVoters.All(v => v.LogEndOffset >= p.HighWatermark));
        string oldDir = Path.Combine(quorum.DataDirectory(oldLeader), "__cluster_metadata-0");
        long logBytesBefore = new FileInfo(Path.Combine(oldDir, "00000000000000000000.log")).Length;

        await quorum.Node(oldLeader).KillAsync();
        var sinceKill = Stopwatch.StartNew();
        int[] survivors = [.. Quorum.Ids.Where(id => id != oldLeader)];

        // A new leader in a later epoch whose high watermark moved past the old one (it committed).
        (int newLeader, DescribeQuorumResponse.PartitionData after) = await quorum.WaitForLeaderAsync(survivors, TimeSpan.FromSeconds(10),
            p => p.LeaderEpoch > before.LeaderEpoch && p.HighWatermark > before.HighWatermark);
        TimeSpan failover = sinceKill.Elapsed;
        output.WriteLine($"killed leader {oldLeader} (epoch {before.LeaderEpoch}, hw {before.HighWatermark}); new leader {newLeader} (epoch {after.LeaderEpoch}, hw {after.HighWatermark}) committing after {failover.TotalMilliseconds:0} ms");
        Assert.True(failover < TimeSpan.FromSeconds(3),
            $"new leader {newLeader} (epoch {after.LeaderEpoch}, hw {after.HighWatermark}) took {failover.TotalMilliseconds:0} ms after the kill; " +
            string.Join("\n", survivors.Select(id => $"controller-{id}:\n  " + string.Join("\n  ", quorum.Node(id).Tail))));
        Assert.NotEqual(oldLeader, newLeader);

        // The killed node's files survived the kill.
        Assert.True(File.Exists(Path.Combine(oldDir, "quorum-state")));
        Assert.True(new FileInfo(Path.Combine(oldDir, "00000000000000000000.log")).Length >= logBytesBefore);

        await quorum.Node(oldLeader).RestartAsync();
        Assert.Equal(ResourceState.Healthy, quorum.Node(oldLeader).State);

        // It rejoins as a follower and its log end reaches the leader's high watermark.
        (int leader, DescribeQuorumResponse.PartitionData caughtUp) = await quorum.WaitForLeaderAsync(Quorum.Ids, TimeSpan.FromSeconds(10),
            p => p.CurrentVoters.Single(v => v.ReplicaId == oldLeader).LogEndOffset >= p.HighWatermark && p.HighWatermark >= after.HighWatermark);
        Assert.NotEqual(oldLeader, leader);
        DescribeQuorumResponse.PartitionData fromRestarted = await quorum.DescribeQuorumAsync(oldLeader);
        Assert.Equal(6, fromRestarted.ErrorCode);
        Assert.Equal(leader, fromRestarted.LeaderId);
        Assert.Equal(caughtUp.LeaderEpoch, fromRestarted.LeaderEpoch);
    }
}
