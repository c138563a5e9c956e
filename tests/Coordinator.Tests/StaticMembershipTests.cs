using Aspire.Kafka.Coordinator.Groups;
using Aspire.Kafka.Protocol;

namespace Aspire.Kafka.Coordinator.Tests;

public sealed class StaticMembershipTests
{
    private static async Task<(Harness H, string StaticId, string Other, int Generation)> StableStaticGroupAsync()
    {
        var h = new Harness();
        Task<JoinGroupResult> a = h.Join(instanceId: "instance-a", version: 5);
        Task<JoinGroupResult> b = h.Join(version: 3);
        h.Advance(3000);
        h.Advance(3000);
        JoinGroupResult ra = await a;
        JoinGroupResult rb = await b;
        string leader = ra.LeaderId;
        Task<SyncGroupResult> followerSync = h.Sync(leader == ra.MemberId ? rb.MemberId : ra.MemberId, 1, instanceId: leader == ra.MemberId ? null : "instance-a");
        await h.Sync(leader, 1, new() { [ra.MemberId] = [0xA], [rb.MemberId] = [0xB] }, instanceId: leader == ra.MemberId ? "instance-a" : null);
        Assert.Equal(ErrorCode.None, (await followerSync).Error);
        return (h, ra.MemberId, rb.MemberId, 1);
    }

    [Fact]
    public async Task A_restarted_static_member_gets_its_assignment_back_without_a_rebalance()
    {
        (Harness h, string oldId, string other, int generation) = await StableStaticGroupAsync();
        int appendsBefore = h.Log.AppendCount;

        JoinGroupResult rejoin = await h.Join(instanceId: "instance-a", version: 5);

        Assert.Equal(ErrorCode.None, rejoin.Error);
        Assert.NotEqual(oldId, rejoin.MemberId);
        Assert.Equal(generation, rejoin.GenerationId);
        Assert.Equal(GroupState.Stable, h.GroupState()!.State);
        Assert.Equal(ErrorCode.None, h.Heartbeat(other, generation)); // the other member sees no rebalance
        Assert.Equal([0xA], (await h.Sync(rejoin.MemberId, generation, instanceId: "instance-a")).Assignment);
        Assert.Equal(appendsBefore + 1, h.Log.AppendCount); // the new member id is stored

        // The old incarnation is fenced.
        Assert.Equal(ErrorCode.FencedInstanceId, h.Heartbeat(oldId, generation, "instance-a"));
        Assert.Equal(ErrorCode.FencedInstanceId, (await h.Sync(oldId, generation, instanceId: "instance-a")).Error);
        Assert.Equal(ErrorCode.FencedInstanceId, (await h.Join(memberId: oldId, instanceId: "instance-a", version: 5)).Error);
        (_, IReadOnlyList<ErrorCode> leave) = h.Coordinator.LeaveGroup(Harness.Group, [(oldId, "instance-a")], h.Now);
        Assert.Equal([ErrorCode.FencedInstanceId], leave);
    }

    [Fact]
    public async Task A_static_member_rejoining_with_a_new_subscription_triggers_a_rebalance()
    {
        (Harness h, _, string other, int generation) = await StableStaticGroupAsync();

        Task<JoinGroupResult> rejoin = h.Join(instanceId: "instance-a", version: 5, protocols: [("range", Harness.Subscription("t", "new-topic"))]);

        Assert.False(rejoin.IsCompleted);
        Assert.Equal(GroupState.PreparingRebalance, h.GroupState()!.State);
        Assert.Equal(ErrorCode.RebalanceInProgress, h.Heartbeat(other, generation));
        await h.Join(other);
        Assert.Equal(generation + 1, (await rejoin).GenerationId);
    }

    [Fact]
    public async Task A_static_member_that_misses_a_rebalance_stays_a_member_until_its_session_expires()
    {
        (Harness h, string staticId, string other, int generation) = await StableStaticGroupAsync();
        Task<JoinGroupResult> otherRejoin = h.Join(other, rebalanceMs: 1_000, protocols: [("range", Harness.Subscription("t", "x"))]);
        for (int i = 0; i < 5; i++)
        {
            h.Advance(6_000);
            h.Heartbeat(staticId, generation, "instance-a");
        }

        JoinGroupResult result = await otherRejoin;
        Assert.Equal(generation + 1, result.GenerationId);
        Assert.True(h.GroupState()!.Members.ContainsKey(staticId)); // kept: static members are not dropped at the join deadline
        Assert.Equal(2, result.Members.Count);
    }
}
