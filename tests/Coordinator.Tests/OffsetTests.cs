using Aspire.Kafka.Coordinator.Apis;
using Aspire.Kafka.Coordinator.Groups;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Coordinator.Tests;

public sealed class OffsetTests
{
    private static ErrorCode Error(OffsetCommitResponse response) => (ErrorCode)Assert.Single(Assert.Single(response.Topics).Partitions).ErrorCode;

    [Fact]
    public async Task A_standalone_commit_is_fetched_back_and_unknown_partitions_are_minus_one()
    {
        var h = new Harness();
        Assert.Equal(-1, h.Committed("t", 0));
        Assert.Equal(ErrorCode.None, Error(await h.Commit("t", 0, 42, metadata: "m")));
        Assert.Equal(42, h.Committed("t", 0));
        Assert.Equal(1, h.Coordinator.OffsetsCommitted);
        Assert.Equal(-1, h.Committed("t", 1));
        Assert.Equal(-1, h.Committed("t", 0, group: "other"));

        (ErrorCode error, List<OffsetFetchResponse.OffsetFetchResponseTopics> all) = h.FetchOffsets(Harness.Group, null);
        Assert.Equal(ErrorCode.None, error);
        OffsetFetchResponse.OffsetFetchResponsePartitions p = Assert.Single(Assert.Single(all).Partitions);
        Assert.Equal((42L, "m"), (p.CommittedOffset, p.Metadata));
    }

    [Fact]
    public async Task A_commit_to_a_topic_that_does_not_exist_is_unknown_topic_or_partition_and_not_stored()
    {
        var h = new Harness();
        h.Topics.Missing.Add("typo");
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, Error(await h.Commit("typo", 0, 5, group: "g-typo")));
        Assert.Null(h.GroupState("g-typo")); // the coordinator was not asked: no group, no offsets
        Assert.Equal(0, h.Coordinator.OffsetsCommitted);

        // One request with both: the known partition is stored, the unknown one is refused.
        OffsetCommitResponse mixed = await OffsetCommitApi.CommitAsync(h.Coordinator, new OffsetCommitRequest
        {
            GroupId = "g-mixed",
            GenerationIdOrMemberEpoch = -1,
            Topics =
            [
                new() { Name = "typo", Partitions = [new() { PartitionIndex = 0, CommittedOffset = 1 }] },
                new() { Name = "t", Partitions = [new() { PartitionIndex = 3, CommittedOffset = 7 }] },
            ],
        }, 8, h.Now, h.Topics.Snapshot());
        Assert.Equal([(short)ErrorCode.UnknownTopicOrPartition, (short)ErrorCode.None], mixed.Topics.Select(t => Assert.Single(t.Partitions).ErrorCode));
        Assert.Equal(7, h.Committed("t", 3, group: "g-mixed"));
        Assert.Equal(-1, h.Committed("typo", 0, group: "g-mixed"));
    }

    [Fact]
    public async Task Commits_are_checked_against_the_generation_and_the_member()
    {
        var h = new Harness();
        Assert.Equal(ErrorCode.IllegalGeneration, Error(await h.Commit("t", 0, 1, generation: 3, memberId: "m", group: "nogroup")));
        (List<string> members, int generation) = await h.StableGroupAsync(2);

        Assert.Equal(ErrorCode.None, Error(await h.Commit("t", 0, 10, generation, members[1])));
        Assert.Equal(ErrorCode.IllegalGeneration, Error(await h.Commit("t", 0, 11, generation + 1, members[1])));
        Assert.Equal(ErrorCode.UnknownMemberId, Error(await h.Commit("t", 0, 12, generation, "ghost")));
        Assert.Equal(ErrorCode.UnknownMemberId, Error(await h.Commit("t", 0, 13))); // no generation on a live group
        Assert.Equal(10, h.Committed("t", 0));

        // During PreparingRebalance the old generation may still commit (Kafka lets it); during CompletingRebalance not.
        Task<JoinGroupResult> j0 = h.Join(members[0]);
        Assert.Equal(ErrorCode.None, Error(await h.Commit("t", 0, 14, generation, members[1])));
        Task<JoinGroupResult> j1 = h.Join(members[1]);
        await Task.WhenAll(j0, j1);
        Assert.Equal(ErrorCode.RebalanceInProgress, Error(await h.Commit("t", 0, 15, generation + 1, members[1])));
        Assert.Equal(14, h.Committed("t", 0));
    }

    [Fact]
    public async Task Oversized_metadata_is_refused()
    {
        var h = new Harness();
        Assert.Equal(ErrorCode.OffsetMetadataTooLarge, Error(await h.Commit("t", 0, 1, metadata: new string('x', 4097))));
        Assert.Equal(-1, h.Committed("t", 0));
    }

    [Fact]
    public async Task A_failed_write_is_reported_and_the_offset_is_not_visible()
    {
        var h = new Harness();
        h.Log.AppendFailure = new IOException("brokers down");
        Assert.Equal(ErrorCode.CoordinatorNotAvailable, Error(await h.Commit("t", 0, 5)));
        Assert.Equal(-1, h.Committed("t", 0));
    }

    [Fact]
    public async Task Offsets_of_an_empty_group_expire_after_the_retention_and_are_tombstoned()
    {
        var h = new Harness(new GroupConfig { InitialRebalanceDelayMs = 0, OffsetsTopicPartitions = 1, OffsetsRetentionMs = 60_000, OffsetsRetentionCheckIntervalMs = 1_000 });
        (List<string> members, int generation) = await h.StableGroupAsync(1);
        await h.Commit("t", 0, 7, generation, members[0]);
        await h.Commit("t", 0, 99, group: "standalone");

        h.Advance(61_000); // the member stopped heartbeating long ago: removed, group Empty from here
        Assert.Equal(GroupState.Empty, h.GroupState()!.State);
        Assert.Equal(7, h.Committed("t", 0));
        Assert.Equal(-1, h.Committed("t", 0, "standalone")); // 61 s after its commit
        h.Advance(59_000);
        Assert.Equal(7, h.Committed("t", 0));
        h.Advance(1_000);
        Assert.Equal(-1, h.Committed("t", 0));
        Assert.Null(h.GroupState()); // empty and without offsets: removed

        var reloaded = new Harness(h.Config, h.Log);
        Assert.Equal(-1, reloaded.Committed("t", 0));
        Assert.Null(reloaded.GroupState());
    }

    [Fact]
    public async Task Offsets_of_a_stable_group_do_not_expire()
    {
        var h = new Harness(new GroupConfig { InitialRebalanceDelayMs = 0, OffsetsTopicPartitions = 1, OffsetsRetentionMs = 60_000, OffsetsRetentionCheckIntervalMs = 1_000 });
        (List<string> members, int generation) = await h.StableGroupAsync(1);
        await h.Commit("t", 0, 7, generation, members[0]);
        for (int i = 0; i < 30; i++)
        {
            h.Advance(5_000);
            Assert.Equal(ErrorCode.None, h.Heartbeat(members[0], generation));
        }

        Assert.Equal(7, h.Committed("t", 0));
    }

    [Fact]
    public async Task OffsetDelete_refuses_subscribed_topics_and_deletes_the_others()
    {
        var h = new Harness();
        (List<string> members, int generation) = await h.StableGroupAsync(1); // subscribed to "t"
        await h.Commit("t", 0, 1, generation, members[0]);
        await h.Commit("old", 0, 2, generation, members[0]);

        OffsetDeleteResponse response = await h.DeleteOffsetsAsync(new OffsetDeleteRequest
        {
            GroupId = Harness.Group,
            Topics = [new() { Name = "t", Partitions = [new() { PartitionIndex = 0 }] }, new() { Name = "old", Partitions = [new() { PartitionIndex = 0 }] }],
        }, h.Now);

        Assert.Equal(0, response.ErrorCode);
        Assert.Equal((short)ErrorCode.GroupSubscribedToTopic, response.Topics[0].Partitions[0].ErrorCode);
        Assert.Equal(0, response.Topics[1].Partitions[0].ErrorCode);
        Assert.Equal(1, h.Committed("t", 0));
        Assert.Equal(-1, h.Committed("old", 0));
        OffsetDeleteResponse unknown = await h.DeleteOffsetsAsync(new OffsetDeleteRequest { GroupId = "nope" }, h.Now);
        Assert.Equal((short)ErrorCode.GroupIdNotFound, unknown.ErrorCode);
    }

    [Fact]
    public async Task DeleteGroups_deletes_empty_groups_only()
    {
        var h = new Harness();
        (List<string> members, int generation) = await h.StableGroupAsync(1);
        await h.Commit("t", 0, 5, group: "standalone");

        List<DeleteGroupsResponse.DeletableGroupResult> results = await h.DeleteGroupsAsync([Harness.Group, "standalone", "missing"], h.Now);

        Assert.Equal([ErrorCode.NonEmptyGroup, ErrorCode.None, ErrorCode.GroupIdNotFound], results.Select(r => (ErrorCode)r.ErrorCode));
        Assert.Equal(-1, h.Committed("t", 0, "standalone"));
        Assert.Equal(nameof(GroupState.Dead), h.DescribeGroup("standalone").GroupState);
        var reloaded = new Harness(h.Config, h.Log);
        Assert.Equal(-1, reloaded.Committed("t", 0, "standalone"));
        Assert.Equal(ErrorCode.None, h.Heartbeat(members[0], generation));
    }
}
