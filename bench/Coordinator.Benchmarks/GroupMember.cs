using System.Diagnostics;
using Aspire.Kafka.Client;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Coordinator.Benchmarks;

/// <summary>
/// A consumer-group member speaking the classic protocol as a Java consumer does: JoinGroup (with
/// the KIP-394 member-id round), SyncGroup (the leader computes a range assignment), then a
/// Heartbeat every heartbeat interval; REBALANCE_IN_PROGRESS sends it back to JoinGroup. Every
/// assignment it receives is reported to the <see cref="SyncTracker"/> with its generation.
/// </summary>
internal sealed class GroupMember(KafkaConnection connection, string groupId, int index, SyncTracker tracker, BenchOptions options)
{
    private const string ProtocolType = "consumer";
    private const string Protocol = "range";
    private const int SessionTimeoutMs = 10_000;
    private const int RebalanceTimeoutMs = 30_000;

    private static readonly byte[] Subscription = Encode(w => new ConsumerProtocolSubscription { Topics = [Bench.Topic] }.Write(w, 0));

    public string MemberId { get; private set; } = "";

    public int Generation { get; private set; } = -1;

    public IReadOnlyList<int> Assigned { get; private set; } = [];

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await JoinAndSyncAsync(cancellationToken);
        while (true)
        {
            await Task.Delay(options.HeartbeatMs, cancellationToken);
            HeartbeatResponse heartbeat = await connection.SendAsync<HeartbeatRequest, HeartbeatResponse>(
                new HeartbeatRequest { GroupId = groupId, GenerationId = Generation, MemberId = MemberId }, cancellationToken: cancellationToken);
            switch ((ErrorCode)heartbeat.ErrorCode)
            {
                case ErrorCode.None:
                    break;
                case ErrorCode.RebalanceInProgress:
                    await JoinAndSyncAsync(cancellationToken);
                    break;
                default:
                    throw new InvalidOperationException($"Heartbeat of {MemberId} in {groupId} (generation {Generation}): {(ErrorCode)heartbeat.ErrorCode}");
            }
        }
    }

    private async Task JoinAndSyncAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            JoinGroupResponse join = await connection.SendAsync<JoinGroupRequest, JoinGroupResponse>(new JoinGroupRequest
            {
                GroupId = groupId,
                SessionTimeoutMs = SessionTimeoutMs,
                RebalanceTimeoutMs = RebalanceTimeoutMs,
                MemberId = MemberId,
                ProtocolType = ProtocolType,
                Protocols = [new JoinGroupRequest.JoinGroupRequestProtocol { Name = Protocol, Metadata = Subscription }],
            }, cancellationToken: cancellationToken);
            switch ((ErrorCode)join.ErrorCode)
            {
                case ErrorCode.None:
                    break;
                case ErrorCode.MemberIdRequired: // KIP-394: join again with the id the coordinator chose
                    MemberId = join.MemberId;
                    continue;
                case ErrorCode.RebalanceInProgress:
                    continue;
                case ErrorCode.UnknownMemberId:
                    MemberId = "";
                    continue;
                case ErrorCode.CoordinatorLoadInProgress: // retriable; SetupAsync loads every partition first, so not while measuring
                    await Task.Delay(100, cancellationToken);
                    continue;
                default:
                    throw new InvalidOperationException($"JoinGroup of {MemberId} in {groupId}: {(ErrorCode)join.ErrorCode}");
            }

            MemberId = join.MemberId;
            Generation = join.GenerationId;
            List<SyncGroupRequest.SyncGroupRequestAssignment> assignments = join.Leader == MemberId ? RangeAssign(join.Members, options.Partitions) : [];
            SyncGroupResponse sync = await connection.SendAsync<SyncGroupRequest, SyncGroupResponse>(new SyncGroupRequest
            {
                GroupId = groupId,
                GenerationId = Generation,
                MemberId = MemberId,
                ProtocolType = ProtocolType,
                ProtocolName = Protocol,
                Assignments = assignments,
            }, cancellationToken: cancellationToken);
            long receivedAt = Stopwatch.GetTimestamp();
            switch ((ErrorCode)sync.ErrorCode)
            {
                case ErrorCode.None:
                    break;
                case ErrorCode.RebalanceInProgress:
                    continue;
                default:
                    throw new InvalidOperationException($"SyncGroup of {MemberId} in {groupId} (generation {Generation}): {(ErrorCode)sync.ErrorCode}");
            }

            Assigned = ReadAssignment(sync.Assignment);
            tracker.Report(index, Generation, receivedAt);
            return;
        }
    }

    /// <summary>Kafka's RangeAssignor: per topic, members sorted by id get consecutive ranges, the first (partitions % members) one more.</summary>
    private static List<SyncGroupRequest.SyncGroupRequestAssignment> RangeAssign(List<JoinGroupResponse.JoinGroupResponseMember> members, int partitions)
    {
        var byMember = members.ToDictionary(m => m.MemberId, _ => new Dictionary<string, List<int>>());
        foreach (IGrouping<string, string> topic in members
            .SelectMany(m => ReadSubscription(m.Metadata).Select(t => (Topic: t, m.MemberId)))
            .GroupBy(x => x.Topic, x => x.MemberId))
        {
            List<string> consumers = [.. topic.Order(StringComparer.Ordinal)];
            int each = partitions / consumers.Count;
            int extra = partitions % consumers.Count;
            for (int i = 0; i < consumers.Count; i++)
            {
                int start = (each * i) + Math.Min(i, extra);
                int length = each + (i < extra ? 1 : 0);
                byMember[consumers[i]][topic.Key] = [.. Enumerable.Range(start, length)];
            }
        }

        return [.. byMember.Select(m => new SyncGroupRequest.SyncGroupRequestAssignment
        {
            MemberId = m.Key,
            Assignment = Encode(w => new ConsumerProtocolAssignment
            {
                AssignedPartitions = [.. m.Value.Select(t => new ConsumerProtocolAssignment.TopicPartition { Topic = t.Key, Partitions = t.Value })],
            }.Write(w, 0)),
        })];
    }

    private static List<string> ReadSubscription(byte[] metadata)
    {
        var reader = new KafkaReader(metadata);
        short version = reader.ReadInt16();
        return ConsumerProtocolSubscription.Read(ref reader, Math.Min(version, (short)3)).Topics;
    }

    private static List<int> ReadAssignment(byte[] assignment)
    {
        if (assignment.Length == 0)
        {
            return [];
        }

        var reader = new KafkaReader(assignment);
        short version = reader.ReadInt16();
        return [.. ConsumerProtocolAssignment.Read(ref reader, Math.Min(version, (short)3)).AssignedPartitions.Where(t => t.Topic == Bench.Topic).SelectMany(t => t.Partitions)];
    }

    /// <summary>The consumer protocol's framing: int16 version 0, then the struct.</summary>
    private static byte[] Encode(Action<KafkaWriter> write)
    {
        using var writer = new KafkaWriter();
        writer.WriteInt16(0);
        write(writer);
        return writer.ToArray();
    }
}

/// <summary>The last assignment each member received (generation, when); completes a wait once a set of members all hold one in the same generation.</summary>
internal sealed class SyncTracker(int members)
{
    private readonly Lock _gate = new();
    private readonly (int Generation, long Timestamp)[] _last = [.. Enumerable.Repeat((-1, 0L), members)];
    private int[] _waitFor = [];
    private int _above;
    private TaskCompletionSource<(int, long)>? _waiter;

    public void Report(int index, int generation, long timestamp)
    {
        lock (_gate)
        {
            _last[index] = (generation, timestamp);
            Check();
        }
    }

    /// <summary>Completes with (generation, time of the last member's assignment) once every member in <paramref name="indices"/> holds an assignment of one generation above <paramref name="above"/>.</summary>
    public Task<(int Generation, long Timestamp)> WaitAsync(int[] indices, int above)
    {
        lock (_gate)
        {
            _waitFor = indices;
            _above = above;
            _waiter = new TaskCompletionSource<(int, long)>(TaskCreationOptions.RunContinuationsAsynchronously);
            Task<(int, long)> task = _waiter.Task;
            Check();
            return task;
        }
    }

    private void Check()
    {
        if (_waiter is null)
        {
            return;
        }

        int generation = _last[_waitFor[0]].Generation;
        if (generation > _above && _waitFor.All(i => _last[i].Generation == generation))
        {
            _waiter.TrySetResult((generation, _waitFor.Max(i => _last[i].Timestamp)));
            _waiter = null;
        }
    }

    public override string ToString()
    {
        lock (_gate)
        {
            return "generations " + string.Join(',', _last.Select(l => l.Generation));
        }
    }
}
