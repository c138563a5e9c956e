using System.Net;
using Aspire.Kafka.Coordinator.Apis;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;
using Aspire.Kafka.Tools.ConsumerGroups;

namespace Aspire.Kafka.Coordinator.Tests;

/// <summary>Every API answers at every version it serves with a response that encodes at that version (no field a version lacks).</summary>
public sealed class ApiVersionTests
{
    private sealed class FixedTime(long ms) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(ms);
    }

    private static RequestContext Context(short apiKey, short version) => new(
        new RequestHeader { RequestApiKey = apiKey, RequestApiVersion = version, ClientId = "client-1" },
        new KafkaConnectionContext("c1", "PLAINTEXT", new IPEndPoint(IPAddress.Loopback, 50000), null));

    private static async Task<T> Roundtrip<T>(IKafkaApi api, IApiMessage request, short version)
        where T : class, IApiMessage<T>
    {
        var response = (T)(await api.HandleAsync(Context(api.ApiKey, version), request, CancellationToken.None))!;
        using var writer = new KafkaWriter();
        response.Write(writer, version);
        var reader = new KafkaReader(writer.ToArray());
        return T.Read(ref reader, version);
    }

    [Fact]
    public async Task The_group_protocol_answers_encode_at_every_version()
    {
        var h = new Harness(new GroupConfig { InitialRebalanceDelayMs = 0, OffsetsTopicPartitions = 1 });
        var time = new FixedTime(h.Now);
        var join = new JoinGroupApi(h.Coordinator, time);
        var sync = new SyncGroupApi(h.Coordinator, time);
        var heartbeat = new HeartbeatApi(h.Coordinator, time);
        var leave = new LeaveGroupApi(h.Coordinator, time);
        for (short v = 0; v <= 9; v++)
        {
            string group = $"g{v}";
            var request = new JoinGroupRequest
            {
                GroupId = group,
                SessionTimeoutMs = 10_000,
                RebalanceTimeoutMs = v >= 1 ? 10_000 : -1,
                ProtocolType = "consumer",
                Protocols = [new() { Name = "range", Metadata = Harness.Subscription("t") }],
            };
            JoinGroupResponse joined = await Roundtrip<JoinGroupResponse>(join, request, v);
            if (v >= 4)
            {
                Assert.Equal((short)ErrorCode.MemberIdRequired, joined.ErrorCode);
                request.MemberId = joined.MemberId;
                joined = await Roundtrip<JoinGroupResponse>(join, request, v);
            }

            Assert.Equal((0, 1, "range"), (joined.ErrorCode, joined.GenerationId, joined.ProtocolName));
            Assert.Equal(v >= 7 ? "consumer" : null, joined.ProtocolType);
            Assert.StartsWith("client-1-", joined.MemberId);
            Assert.Single(joined.Members);

            short syncVersion = Math.Min(v, (short)5);
            SyncGroupResponse synced = await Roundtrip<SyncGroupResponse>(sync, new SyncGroupRequest
            {
                GroupId = group,
                GenerationId = 1,
                MemberId = joined.MemberId,
                ProtocolType = syncVersion >= 5 ? "consumer" : null,
                ProtocolName = syncVersion >= 5 ? "range" : null,
                Assignments = [new() { MemberId = joined.MemberId, Assignment = [1, 2] }],
            }, syncVersion);
            Assert.Equal([1, 2], synced.Assignment);

            short hbVersion = Math.Min(v, (short)4);
            Assert.Equal(0, (await Roundtrip<HeartbeatResponse>(heartbeat, new HeartbeatRequest { GroupId = group, GenerationId = 1, MemberId = joined.MemberId }, hbVersion)).ErrorCode);

            short leaveVersion = Math.Min(v, (short)5);
            LeaveGroupRequest leaveRequest = leaveVersion >= 3
                ? new LeaveGroupRequest { GroupId = group, Members = [new() { MemberId = joined.MemberId }, new() { MemberId = "ghost" }] }
                : new LeaveGroupRequest { GroupId = group, MemberId = joined.MemberId };
            LeaveGroupResponse left = await Roundtrip<LeaveGroupResponse>(leave, leaveRequest, leaveVersion);
            Assert.Equal(0, left.ErrorCode);
            if (leaveVersion >= 3)
            {
                Assert.Equal([(short)0, (short)ErrorCode.UnknownMemberId], left.Members.Select(m => m.ErrorCode));
            }
        }
    }

    [Fact]
    public async Task Offset_and_admin_answers_encode_at_every_version()
    {
        var h = new Harness();
        var time = new FixedTime(h.Now);
        var commit = new OffsetCommitApi(h.Coordinator, time, h.Topics);
        var fetch = new OffsetFetchApi(h.Coordinator);
        for (short v = 0; v <= 9; v++)
        {
            OffsetCommitResponse committed = await Roundtrip<OffsetCommitResponse>(commit, new OffsetCommitRequest
            {
                GroupId = "standalone",
                Topics = [new() { Name = "t", Partitions = [new() { PartitionIndex = 0, CommittedOffset = 100 + v, CommittedLeaderEpoch = v >= 6 ? 3 : -1 }] }],
            }, v);
            Assert.Equal(0, committed.Topics[0].Partitions[0].ErrorCode);
        }

        for (short v = 0; v <= 9; v++)
        {
            OffsetFetchRequest request = v >= 8
                ? new OffsetFetchRequest { Groups = [new() { GroupId = "standalone", Topics = [new() { Name = "t", PartitionIndexes = [0, 1] }] }, new() { GroupId = "none", Topics = null }] }
                : new OffsetFetchRequest { GroupId = "standalone", Topics = [new() { Name = "t", PartitionIndexes = [0, 1] }] };
            OffsetFetchResponse fetched = await Roundtrip<OffsetFetchResponse>(fetch, request, v);
            List<(int, long)> offsets = v >= 8
                ? [.. fetched.Groups[0].Topics[0].Partitions.Select(p => (p.PartitionIndex, p.CommittedOffset))]
                : [.. fetched.Topics[0].Partitions.Select(p => (p.PartitionIndex, p.CommittedOffset))];
            Assert.Equal([(0, 109L), (1, -1L)], offsets);
            if (v >= 8)
            {
                Assert.Equal(("none", 0), (fetched.Groups[1].GroupId, fetched.Groups[1].Topics.Count));
            }
        }

        var describe = new DescribeGroupsApi(h.Coordinator);
        var list = new ListGroupsApi(h.Coordinator);
        var delete = new DeleteGroupsApi(h.Coordinator, time);
        for (short v = 0; v <= 5; v++)
        {
            Assert.Equal("Empty", (await Roundtrip<DescribeGroupsResponse>(describe, new DescribeGroupsRequest { Groups = ["standalone"] }, v)).Groups[0].GroupState);
            Assert.Equal(["standalone"], (await Roundtrip<ListGroupsResponse>(list, new ListGroupsRequest(), v)).Groups.Select(g => g.GroupId));
        }

        for (short v = 0; v <= 2; v++)
        {
            Assert.Equal((short)ErrorCode.GroupIdNotFound, (await Roundtrip<DeleteGroupsResponse>(delete, new DeleteGroupsRequest { GroupsNames = ["missing"] }, v)).Results[0].ErrorCode);
        }
    }

    [Fact]
    public void The_lag_tool_reads_consumer_protocol_assignments()
    {
        using var w = new KafkaWriter();
        w.WriteInt16(0);
        w.WriteInt32(2);
        w.WriteString("a");
        w.WriteInt32(2);
        w.WriteInt32(0);
        w.WriteInt32(3);
        w.WriteString("b");
        w.WriteInt32(1);
        w.WriteInt32(7);
        w.WriteInt32(-1);
        Assert.Equal([("a", 0), ("a", 3), ("b", 7)], GroupAdmin.ReadAssignment(w.ToArray()));
        Assert.Empty(GroupAdmin.ReadAssignment([]));
        Assert.Empty(GroupAdmin.ReadAssignment([0, 0, 0, 0, 0, 9]));
        Assert.Equal(2, new LagRow("g", "t", 0, 8, 10, "-", "-", "-").Lag);
        Assert.Null(new LagRow("g", "t", 0, null, 10, "-", "-", "-").Lag);
    }
}
