using Aspire.Kafka.Coordinator.Groups;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.GroupCoordinator;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Coordinator.Tests;

public sealed class PersistenceTests
{
    [Fact]
    public async Task A_coordinator_taking_over_replays_groups_and_offsets_from_the_log()
    {
        var h = new Harness();
        (List<string> members, int generation) = await h.StableGroupAsync(2);
        await h.Commit("t", 0, 10, generation, members[0]);
        await h.Commit("t", 0, 11, generation, members[0]);
        await h.Commit("t", 1, 20, generation, members[1]);

        var next = new Harness(h.Config, h.Log);

        Assert.Equal(11, next.Committed("t", 0));
        Assert.Equal(20, next.Committed("t", 1));
        GroupMetadata group = next.GroupState()!;
        Assert.Equal(GroupState.Stable, group.State);
        Assert.Equal(generation, group.GenerationId);
        Assert.Equal(members[0], group.LeaderId);
        Assert.Equal("range", group.ProtocolName);
        Assert.Equal(members.Order(), group.Members.Keys.Order());
        Assert.Equal([1], group.Members[members[1]].Assignment);
        // The members carry on with the new coordinator without rejoining.
        Assert.Equal(ErrorCode.None, next.Heartbeat(members[1], generation));
        Assert.Equal([1], (await next.Sync(members[1], generation)).Assignment);
    }

    [Fact]
    public async Task A_coordinator_fenced_by_a_newer_owner_stops_serving_the_partition_and_writes_nothing()
    {
        var log = new InMemoryGroupLog();
        var old = new Harness(log: log); // owns __consumer_offsets-0 at epoch 1
        Assert.Equal(0, (await old.Commit("t", 0, 5)).Topics[0].Partitions[0].ErrorCode);

        // The controller moved the partition (epoch 2) while the old owner did not hear of it.
        var newer = new Harness(old.Config, log, load: false);
        newer.Load(0, epoch: 2);
        Assert.Equal(GroupRecords.ClaimGroupId, Assert.IsType<GroupRecords.GroupRecord>(GroupRecords.Decode(log.Records(0)[^1].Key, null)).GroupId);

        // The old owner's next write is refused: it answers NOT_COORDINATOR and lets the partition go.
        Assert.Equal((short)ErrorCode.NotCoordinator, (await old.Commit("t", 0, 6)).Topics[0].Partitions[0].ErrorCode);
        Assert.Empty(old.Manager.OwnedPartitions);
        Assert.Equal(5, newer.Committed("t", 0));
        Assert.DoesNotContain(log.Records(0), r => r.Value is { } v && GroupRecords.Decode(r.Key, v) is GroupRecords.OffsetRecord { Offset.Offset: 6 });

        // An owner that comes back with an older assignment does not load the partition at all.
        var stale = new Harness(old.Config, log, load: false);
        await stale.Manager.LoadPartitionAsync(0, 1, () => stale.Now, CancellationToken.None);
        Assert.Empty(stale.Manager.OwnedPartitions);

        // The reserved claim group cannot be used by clients.
        Assert.Equal((short)ErrorCode.InvalidGroupId, (await newer.Commit("t", 0, 7, group: GroupRecords.ClaimGroupId)).Topics[0].Partitions[0].ErrorCode);
    }

    [Fact]
    public async Task Requests_for_a_partition_still_loading_get_load_in_progress_and_unowned_ones_not_coordinator()
    {
        var log = new InMemoryGroupLog();
        var seed = new Harness(log: log);
        await seed.Commit("t", 0, 3);

        var gate = new TaskCompletionSource();
        log.ReadGate = gate.Task;
        var h = new Harness(seed.Config, log, load: false);
        Assert.Equal(ErrorCode.NotCoordinator, (await h.Join()).Error);
        Assert.Equal(ErrorCode.NotCoordinator, h.FetchOffsets(Harness.Group, null).Error);

        Task loading = h.Manager.LoadPartitionAsync(0, 1, () => h.Now, CancellationToken.None);
        Assert.False(loading.IsCompleted);
        Assert.Equal(ErrorCode.CoordinatorLoadInProgress, (await h.Join()).Error);
        Assert.Equal(ErrorCode.CoordinatorLoadInProgress, h.Heartbeat("m", 1));
        Assert.Equal(ErrorCode.CoordinatorLoadInProgress, h.FetchOffsets(Harness.Group, null).Error);
        Assert.Equal(ErrorCode.CoordinatorLoadInProgress, h.ListGroups([], []).Error);
        Assert.Equal((short)ErrorCode.CoordinatorLoadInProgress, h.DescribeGroup(Harness.Group).ErrorCode);

        gate.SetResult();
        await loading.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(3, h.Committed("t", 0));
    }

    [Fact]
    public async Task Losing_a_partition_answers_waiting_joins_with_not_coordinator()
    {
        var h = new Harness();
        Task<JoinGroupResult> join = h.Join();
        Assert.False(join.IsCompleted);

        h.Manager.UnloadPartition(0);

        Assert.Equal(ErrorCode.NotCoordinator, (await join).Error);
        Assert.Equal(ErrorCode.NotCoordinator, (await h.Join()).Error);
    }

    [Fact]
    public async Task A_failed_assignment_write_fails_the_syncs_and_restarts_the_rebalance()
    {
        var h = new Harness();
        var joins = new[] { h.Join(), h.Join() };
        h.Advance(3000);
        h.Advance(3000);
        JoinGroupResult[] results = await Task.WhenAll(joins);
        JoinGroupResult leader = results.Single(r => r.MemberId == r.LeaderId);
        JoinGroupResult follower = results.Single(r => r.MemberId != r.LeaderId);
        Task<SyncGroupResult> followerSync = h.Sync(follower.MemberId, 1);
        h.Log.AppendFailure = new IOException("not enough replicas");

        SyncGroupResult leaderSync = await h.Sync(leader.MemberId, 1, new() { [leader.MemberId] = [1], [follower.MemberId] = [2] });

        Assert.Equal(ErrorCode.CoordinatorNotAvailable, leaderSync.Error);
        Assert.Equal(ErrorCode.CoordinatorNotAvailable, (await followerSync).Error);
        Assert.Equal(GroupState.PreparingRebalance, h.GroupState()!.State);
    }

    [Fact]
    public void Records_use_kafkas_key_and_value_versions()
    {
        GroupLogRecord offset = GroupRecords.Offset("g", "t", 3, new CommittedOffset(42, 5, "meta", 1000, -1));
        var reader = new KafkaReader(offset.Key);
        Assert.Equal(1, reader.ReadInt16());
        Assert.Equal(new OffsetCommitKey { Group = "g", Topic = "t", Partition = 3 }, OffsetCommitKey.Read(ref reader, 1));
        var valueReader = new KafkaReader(offset.Value!);
        Assert.Equal(3, valueReader.ReadInt16());
        OffsetCommitValue value = OffsetCommitValue.Read(ref valueReader, 3);
        Assert.Equal((42L, 5, "meta", 1000L), (value.Offset, value.LeaderEpoch, value.Metadata, value.CommitTimestamp));

        GroupLogRecord expiring = GroupRecords.Offset("g", "t", 3, new CommittedOffset(1, -1, "", 1000, 5000));
        Assert.Equal(1, new KafkaReader(expiring.Value!).ReadInt16()); // v1 carries expireTimestamp

        var group = new GroupMetadata("g", 0, 0) { ProtocolName = "range", GenerationId = 4 };
        group.Add(new MemberMetadata("m1", "i1", "c", "/h", 100, 10, "consumer", [new GroupProtocol("range", [7])]) { Assignment = [8] });
        GroupLogRecord groupRecord = GroupRecords.Group(group);
        var keyReader = new KafkaReader(groupRecord.Key);
        Assert.Equal(2, keyReader.ReadInt16());
        var groupValue = (GroupRecords.GroupRecord)GroupRecords.Decode(groupRecord.Key, groupRecord.Value)!;
        GroupMetadataValue.MemberMetadata member = Assert.Single(groupValue.Value!.Members);
        Assert.Equal(("consumer", 4, "range", "m1"), (groupValue.Value.ProtocolType, groupValue.Value.Generation, groupValue.Value.Protocol, groupValue.Value.Leader));
        Assert.Equal(("m1", "i1", 100, 10), (member.MemberId, member.GroupInstanceId, member.RebalanceTimeout, member.SessionTimeout));
        Assert.Equal([7], member.Subscription);
        Assert.Equal([8], member.Assignment);

        Assert.Null(((GroupRecords.GroupRecord)GroupRecords.Decode(GroupRecords.Group(group, tombstone: true).Key, null)!).Value);
        Assert.Null(GroupRecords.Decode(new byte[] { 0, 5, 0, 0 }, null)); // a key version this coordinator does not use
    }

    [Fact]
    public async Task ListGroups_and_DescribeGroups_show_state_protocol_and_members()
    {
        var h = new Harness();
        (List<string> members, _) = await h.StableGroupAsync(2);
        await h.Commit("t", 0, 1, group: "offsets-only");

        (ErrorCode error, List<ListGroupsResponse.ListedGroup> groups) = h.ListGroups([], []);
        Assert.Equal(ErrorCode.None, error);
        Assert.Equal([("g", "consumer", "Stable"), ("offsets-only", "", "Empty")], groups.Select(g => (g.GroupId, g.ProtocolType, g.GroupState)));
        Assert.Equal(["offsets-only"], h.ListGroups(["empty"], []).Groups.Select(g => g.GroupId));
        Assert.Empty(h.ListGroups([], ["consumer"]).Groups);

        DescribeGroupsResponse.DescribedGroup described = h.DescribeGroup("g");
        Assert.Equal(("Stable", "consumer", "range"), (described.GroupState, described.ProtocolType, described.ProtocolData));
        Assert.Equal(members, described.Members.Select(m => m.MemberId));
        Assert.All(described.Members, m => Assert.Equal(("client", "/127.0.0.1"), (m.ClientId, m.ClientHost)));
        Assert.Equal([1], described.Members[1].MemberAssignment);
        Assert.Equal(["t"], ConsumerProtocol.ReadSubscriptionTopics(described.Members[0].MemberMetadata));
        Assert.Equal("Dead", h.DescribeGroup("unknown").GroupState);
    }
}
