using Aspire.Kafka.Coordinator.Groups;
using Aspire.Kafka.Protocol;

namespace Aspire.Kafka.Coordinator.Tests;

public sealed class GroupMembershipTests
{
    [Fact]
    public async Task Three_members_joining_together_get_one_generation_with_one_leader()
    {
        var h = new Harness();
        var joins = new[] { h.Join(), h.Join(), h.Join() };
        Assert.All(joins, j => Assert.False(j.IsCompleted));
        Assert.Equal(GroupState.PreparingRebalance, h.GroupState()!.State);

        h.Advance(3000); // members 2 and 3 arrived during the initial delay: it is extended once
        Assert.All(joins, j => Assert.False(j.IsCompleted));
        h.Advance(3000);

        JoinGroupResult[] results = await Task.WhenAll(joins);
        Assert.All(results, r => Assert.Equal(ErrorCode.None, r.Error));
        Assert.All(results, r => Assert.Equal(1, r.GenerationId));
        Assert.Single(results.Select(r => r.LeaderId).Distinct());
        Assert.Equal(3, results.Select(r => r.MemberId).Distinct().Count());
        Assert.All(results, r => Assert.Equal("range", r.ProtocolName));
        JoinGroupResult leader = Assert.Single(results, r => r.MemberId == r.LeaderId);
        Assert.Equal(3, leader.Members.Count);
        Assert.All(results.Where(r => r != leader), r => Assert.Empty(r.Members));
        Assert.Equal(GroupState.CompletingRebalance, h.GroupState()!.State);
        Assert.Equal(1, h.Coordinator.RebalancesCompleted);
        (IReadOnlyDictionary<GroupState, int> groups, int members) = h.Coordinator.Snapshot();
        Assert.Equal((1, 3), (groups[GroupState.CompletingRebalance], members));
    }

    [Fact]
    public async Task Followers_get_their_assignment_once_the_leader_syncs()
    {
        var h = new Harness();
        var joins = new[] { h.Join(), h.Join() };
        h.Advance(3000);
        h.Advance(3000);
        JoinGroupResult[] results = await Task.WhenAll(joins);
        JoinGroupResult leader = results.Single(r => r.MemberId == r.LeaderId);
        JoinGroupResult follower = results.Single(r => r.MemberId != r.LeaderId);

        Task<SyncGroupResult> followerSync = h.Sync(follower.MemberId, 1);
        Assert.False(followerSync.IsCompleted);
        SyncGroupResult leaderSync = await h.Sync(leader.MemberId, 1, new() { [leader.MemberId] = [1], [follower.MemberId] = [2] });

        Assert.Equal(ErrorCode.None, leaderSync.Error);
        Assert.Equal([1], leaderSync.Assignment);
        SyncGroupResult f = await followerSync;
        Assert.Equal(ErrorCode.None, f.Error);
        Assert.Equal([2], f.Assignment);
        Assert.Equal("consumer", f.ProtocolType);
        Assert.Equal(GroupState.Stable, h.GroupState()!.State);
        Assert.Equal(ErrorCode.None, h.Heartbeat(follower.MemberId, 1));

        // A late SyncGroup in Stable returns the stored assignment.
        Assert.Equal([2], (await h.Sync(follower.MemberId, 1)).Assignment);
    }

    [Fact]
    public async Task Join_v4_with_an_empty_member_id_first_gets_member_id_required()
    {
        var h = new Harness(new GroupConfig { InitialRebalanceDelayMs = 0, OffsetsTopicPartitions = 1 });
        JoinGroupResult first = await h.Join(version: 4);
        Assert.Equal(ErrorCode.MemberIdRequired, first.Error);
        Assert.StartsWith("client-", first.MemberId);
        Assert.Equal(GroupState.Empty, h.GroupState()!.State);

        JoinGroupResult second = await h.Join(memberId: first.MemberId, version: 4);
        Assert.Equal(ErrorCode.None, second.Error);
        Assert.Equal(first.MemberId, second.MemberId);
        Assert.Equal(1, second.GenerationId);
        Assert.Equal(first.MemberId, second.LeaderId);
    }

    [Fact]
    public async Task A_pending_member_that_never_returns_expires_and_stops_blocking_the_rebalance()
    {
        var h = new Harness(new GroupConfig { InitialRebalanceDelayMs = 0, OffsetsTopicPartitions = 1 });
        (List<string> members, int generation) = await h.StableGroupAsync(1);
        JoinGroupResult pending = await h.Join(version: 4);
        Assert.Equal(ErrorCode.MemberIdRequired, pending.Error);

        Task<JoinGroupResult> rejoin = h.Join(memberId: members[0], version: 4); // leader rejoin: rebalance
        Assert.False(rejoin.IsCompleted); // waits for the pending member
        h.Advance(10_000); // its session timeout
        JoinGroupResult done = await rejoin;
        Assert.Equal(ErrorCode.None, done.Error);
        Assert.Equal(generation + 1, done.GenerationId);
        Assert.Single(done.Members);
    }

    [Fact]
    public async Task A_member_leaving_triggers_a_rebalance_of_the_others()
    {
        var h = new Harness();
        (List<string> members, int generation) = await h.StableGroupAsync(3);

        (ErrorCode top, IReadOnlyList<ErrorCode> errors) = h.Coordinator.LeaveGroup(Harness.Group, [(members[2], null)], h.Now);
        Assert.Equal(ErrorCode.None, top);
        Assert.Equal([ErrorCode.None], errors);
        Assert.Equal(GroupState.PreparingRebalance, h.GroupState()!.State);
        Assert.Equal(ErrorCode.RebalanceInProgress, h.Heartbeat(members[0], generation));
        Assert.Equal(ErrorCode.UnknownMemberId, h.Heartbeat(members[2], generation));

        Task<JoinGroupResult> a = h.Join(members[0]);
        Assert.False(a.IsCompleted);
        Task<JoinGroupResult> b = h.Join(members[1]);
        JoinGroupResult[] rejoined = await Task.WhenAll(a, b);
        Assert.All(rejoined, r => Assert.Equal(generation + 1, r.GenerationId));
        Assert.Equal(2, rejoined.Single(r => r.MemberId == r.LeaderId).Members.Count);
    }

    [Fact]
    public async Task A_member_without_heartbeats_is_removed_after_its_session_timeout()
    {
        var h = new Harness();
        (List<string> members, int generation) = await h.StableGroupAsync(2);

        h.Advance(6_000);
        Assert.Equal(ErrorCode.None, h.Heartbeat(members[0], generation)); // only the first one heartbeats
        h.Advance(3_999);
        Assert.Equal(GroupState.Stable, h.GroupState()!.State); // 9.999 s since the second's last heartbeat
        h.Advance(1);

        Assert.Equal(GroupState.PreparingRebalance, h.GroupState()!.State);
        Assert.False(h.GroupState()!.Members.ContainsKey(members[1]));
        Assert.Equal(ErrorCode.RebalanceInProgress, h.Heartbeat(members[0], generation));
        JoinGroupResult rejoin = await h.Join(members[0]);
        Assert.Equal(generation + 1, rejoin.GenerationId);
        Assert.Single(rejoin.Members);
    }

    [Fact]
    public async Task A_member_that_does_not_rejoin_within_the_rebalance_timeout_is_dropped()
    {
        var h = new Harness();
        (List<string> members, int generation) = await h.StableGroupAsync(2);
        Task<JoinGroupResult> leaderRejoin = h.Join(members[0], rebalanceMs: 5_000);
        Assert.False(leaderRejoin.IsCompleted);

        // The other member keeps heartbeating but never rejoins; the join deadline is the largest
        // rebalance timeout among the members (30 s).
        for (int i = 0; i < 11; i++)
        {
            h.Advance(2_500);
            Assert.Equal(ErrorCode.RebalanceInProgress, h.Heartbeat(members[1], generation));
        }

        Assert.False(leaderRejoin.IsCompleted);
        h.Advance(2_500);

        JoinGroupResult result = await leaderRejoin;
        Assert.Equal(generation + 1, result.GenerationId);
        Assert.Equal([members[0]], result.Members.Select(m => m.MemberId));
        Assert.Equal(ErrorCode.UnknownMemberId, h.Heartbeat(members[1], generation));
    }

    [Fact]
    public async Task Members_that_do_not_sync_in_time_are_removed_and_the_group_rebalances()
    {
        var h = new Harness();
        var joins = new[] { h.Join(rebalanceMs: 5_000), h.Join(rebalanceMs: 5_000) };
        h.Advance(3000);
        h.Advance(3000);
        JoinGroupResult[] results = await Task.WhenAll(joins);
        string follower = results.Single(r => r.MemberId != r.LeaderId).MemberId;
        Task<SyncGroupResult> followerSync = h.Sync(follower, 1);

        h.Advance(5_000); // the leader never sends SyncGroup

        Assert.Equal(GroupState.PreparingRebalance, h.GroupState()!.State);
        Assert.Equal(ErrorCode.RebalanceInProgress, (await followerSync).Error);
        Assert.Equal([follower], h.GroupState()!.Members.Keys);
    }

    [Fact]
    public async Task A_follower_rejoining_a_stable_group_with_the_same_metadata_causes_no_rebalance()
    {
        var h = new Harness();
        (List<string> members, int generation) = await h.StableGroupAsync(2);

        JoinGroupResult again = await h.Join(members[1]);
        Assert.Equal(ErrorCode.None, again.Error);
        Assert.Equal(generation, again.GenerationId);
        Assert.Equal(GroupState.Stable, h.GroupState()!.State);
        Assert.Equal(ErrorCode.None, h.Heartbeat(members[0], generation));
    }

    [Fact]
    public async Task A_member_rejoining_with_new_metadata_rebalances_and_the_others_keep_their_assignment_until_the_next_sync()
    {
        // Cooperative rebalancing as the clients drive it: the member's subscription (owned partitions) changes.
        var h = new Harness();
        (List<string> members, int generation) = await h.StableGroupAsync(2);
        byte[] leaderAssignment = h.GroupState()!.Members[members[0]].Assignment;

        Task<JoinGroupResult> follower = h.Join(members[1], protocols: [("cooperative-sticky", Harness.Subscription("t", "u"))], protocolType: "consumer");
        Assert.Equal(ErrorCode.InconsistentGroupProtocol, (await follower).Error); // no protocol in common with the leader

        Task<JoinGroupResult> changed = h.Join(members[1], protocols: [("range", Harness.Subscription("t", "u"))]);
        Assert.Equal(GroupState.PreparingRebalance, h.GroupState()!.State);
        Assert.Equal(leaderAssignment, h.GroupState()!.Members[members[0]].Assignment); // still consuming what it owns
        Assert.Equal(ErrorCode.RebalanceInProgress, h.Heartbeat(members[0], generation));
        JoinGroupResult leader = await h.Join(members[0]);
        Assert.Equal(generation + 1, leader.GenerationId);
        Assert.Equal(generation + 1, (await changed).GenerationId);

        Task<SyncGroupResult> f = h.Sync(members[1], generation + 1);
        Assert.Equal([0], (await h.Sync(members[0], generation + 1, new() { [members[0]] = [0], [members[1]] = [9] })).Assignment);
        Assert.Equal([9], (await f).Assignment);
    }

    [Fact]
    public async Task The_protocol_most_members_prefer_among_those_all_support_is_chosen()
    {
        var h = new Harness();
        byte[] m = Harness.Subscription("t");
        var joins = new[]
        {
            h.Join(protocols: [("range", m), ("roundrobin", m)]),
            h.Join(protocols: [("roundrobin", m), ("range", m)]),
            h.Join(protocols: [("sticky", m), ("roundrobin", m), ("range", m)]),
        };
        h.Advance(3000);
        h.Advance(3000);
        JoinGroupResult[] results = await Task.WhenAll(joins);
        Assert.All(results, r => Assert.Equal("roundrobin", r.ProtocolName));
    }

    [Fact]
    public async Task LeaveGroup_batch_answers_per_member()
    {
        var h = new Harness();
        var s1 = h.Join(instanceId: "i1", version: 5);
        var s2 = h.Join(version: 3);
        h.Advance(3000);
        h.Advance(3000);
        JoinGroupResult[] results = await Task.WhenAll(s1, s2);
        string dynamicMember = results[1].MemberId;

        (ErrorCode top, IReadOnlyList<ErrorCode> errors) = h.Coordinator.LeaveGroup(Harness.Group,
            [("", "i1"), (dynamicMember, null), ("nobody", null), ("wrong-id", "i9")], h.Now);
        Assert.Equal(ErrorCode.None, top);
        Assert.Equal([ErrorCode.None, ErrorCode.None, ErrorCode.UnknownMemberId, ErrorCode.UnknownMemberId], errors);
        Assert.Equal(GroupState.Empty, h.GroupState()!.State);
        Assert.Equal(2, h.GroupState()!.GenerationId);
    }

    [Fact]
    public async Task Errors_for_bad_joins_heartbeats_and_syncs()
    {
        var h = new Harness();
        Assert.Equal(ErrorCode.InvalidSessionTimeout, (await h.Join(sessionMs: 5_999)).Error);
        Assert.Equal(ErrorCode.InvalidSessionTimeout, (await h.Join(sessionMs: 1_800_001)).Error);
        Assert.Equal(ErrorCode.UnknownMemberId, (await h.Join(memberId: "ghost")).Error);
        Assert.Equal(ErrorCode.InvalidGroupId, (await h.Join(group: "")).Error);
        Assert.Equal(ErrorCode.UnknownMemberId, h.Heartbeat("ghost", 1));

        (List<string> members, int generation) = await h.StableGroupAsync(1);
        Assert.Equal(ErrorCode.IllegalGeneration, h.Heartbeat(members[0], generation + 1));
        Assert.Equal(ErrorCode.UnknownMemberId, h.Heartbeat("ghost", generation));
        Assert.Equal(ErrorCode.IllegalGeneration, (await h.Sync(members[0], generation - 1)).Error);
        Assert.Equal(ErrorCode.UnknownMemberId, (await h.Sync("ghost", generation)).Error);
        Assert.Equal(ErrorCode.InconsistentGroupProtocol, (await h.Join(protocolType: "connect")).Error);
        Assert.Equal(ErrorCode.InconsistentGroupProtocol, (await h.Join(protocols: [("other", [])])).Error);
        Assert.Equal(GroupState.Stable, h.GroupState()!.State);
    }

    [Fact]
    public async Task A_new_member_joining_a_stable_group_starts_a_new_generation_for_everyone()
    {
        var h = new Harness();
        (List<string> members, int generation) = await h.StableGroupAsync(2);

        Task<JoinGroupResult> newcomer = h.Join();
        Assert.Equal(GroupState.PreparingRebalance, h.GroupState()!.State);
        Assert.Equal(ErrorCode.RebalanceInProgress, h.Heartbeat(members[0], generation));
        Task<JoinGroupResult> a = h.Join(members[0]);
        Assert.False(newcomer.IsCompleted);
        Task<JoinGroupResult> b = h.Join(members[1]);

        JoinGroupResult[] results = await Task.WhenAll(newcomer, a, b);
        Assert.All(results, r => Assert.Equal(generation + 1, r.GenerationId));
        Assert.Equal(members[0], results[0].LeaderId); // the leader stays
        Assert.Equal(3, results[1].Members.Count);
        Assert.Equal(ErrorCode.IllegalGeneration, h.Heartbeat(members[1], generation));
    }

    [Fact]
    public async Task The_initial_delay_is_bounded_by_the_rebalance_timeout_and_the_group_size_by_group_max_size()
    {
        var h = new Harness(new GroupConfig { InitialRebalanceDelayMs = 3000, OffsetsTopicPartitions = 1, MaxSize = 3 });
        var joins = new List<Task<JoinGroupResult>> { h.Join(rebalanceMs: 7000) };
        for (int i = 0; i < 2; i++)
        {
            h.Advance(2000); // a new member within every delay keeps extending it...
            joins.Add(h.Join(rebalanceMs: 7000));
        }

        Assert.Equal(ErrorCode.GroupMaxSizeReached, (await h.Join(rebalanceMs: 7000)).Error);
        h.Advance(2000);
        h.Advance(1000); // ...but not beyond the rebalance timeout (7 s after the first join)
        Assert.All(joins, j => Assert.True(j.IsCompletedSuccessfully));
        Assert.All(await Task.WhenAll(joins), r => Assert.Equal(1, r.GenerationId));
    }

    [Fact]
    public async Task Heartbeats_during_completing_rebalance_are_accepted()
    {
        var h = new Harness();
        var joins = new[] { h.Join(), h.Join() };
        h.Advance(3000);
        h.Advance(3000);
        JoinGroupResult[] results = await Task.WhenAll(joins);
        Assert.Equal(GroupState.CompletingRebalance, h.GroupState()!.State);
        Assert.All(results, r => Assert.Equal(ErrorCode.None, h.Heartbeat(r.MemberId, r.GenerationId)));
    }
}
