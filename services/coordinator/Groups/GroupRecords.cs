using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.GroupCoordinator;

namespace Aspire.Kafka.Coordinator.Groups;

/// <summary>One <c>__consumer_offsets</c> record: key and value (null = tombstone).</summary>
public sealed record GroupLogRecord(byte[] Key, byte[]? Value);

/// <summary>
/// Kafka's <c>__consumer_offsets</c> record schemas (GroupMetadataManager's serde): the key starts
/// with an int16 version (0/1 = offset commit, 2 = group metadata), the value with its own version.
/// Offsets are written as OffsetCommitValue v3 (v1 when the commit carries an explicit expiry),
/// groups as GroupMetadataValue v3, as Kafka 2.3–3.x do.
/// </summary>
public static class GroupRecords
{
    public static GroupLogRecord Offset(string group, string topic, int partition, CommittedOffset? offset)
    {
        byte[] key = Write(new OffsetCommitKey { Group = group, Topic = topic, Partition = partition }, 1);
        if (offset is null)
        {
            return new GroupLogRecord(key, null);
        }

        short version = offset.ExpireTimestamp >= 0 ? (short)1 : (short)3;
        var value = new OffsetCommitValue
        {
            Offset = offset.Offset,
            LeaderEpoch = version >= 3 ? offset.LeaderEpoch : -1,
            Metadata = offset.Metadata,
            CommitTimestamp = offset.CommitTimestamp,
            ExpireTimestamp = version == 1 ? offset.ExpireTimestamp : -1,
        };
        return new GroupLogRecord(key, Write(value, version));
    }

    /// <summary>
    /// The record a coordinator writes when it takes a partition over, before reading it: a
    /// tombstone of a group no client can have made (Kafka's replay, and ours, delete a group that
    /// does not exist: nothing). Written as the partition's producer at the new assignment epoch,
    /// it fences the previous owner (<see cref="IGroupLog.ClaimAsync"/>).
    /// </summary>
    public static GroupLogRecord Claim() => new(Write(new GroupMetadataKey { Group = ClaimGroupId }, 2), null);

    /// <summary>The group id of <see cref="Claim"/> records (a client's JoinGroup for it is refused: see GroupCoordinator).</summary>
    public const string ClaimGroupId = "__aspire.coordinator.claim";

    public static GroupLogRecord Group(GroupMetadata group, bool tombstone = false)
    {
        byte[] key = Write(new GroupMetadataKey { Group = group.GroupId }, 2);
        if (tombstone)
        {
            return new GroupLogRecord(key, null);
        }

        var value = new GroupMetadataValue
        {
            ProtocolType = group.ProtocolType ?? "",
            Generation = group.GenerationId,
            Protocol = group.ProtocolName,
            Leader = group.LeaderId,
            CurrentStateTimestamp = group.CurrentStateTimestamp,
            Members = [.. group.MembersInOrder.Select(m => new GroupMetadataValue.MemberMetadata
            {
                MemberId = m.MemberId,
                GroupInstanceId = m.GroupInstanceId,
                ClientId = m.ClientId,
                ClientHost = m.ClientHost,
                RebalanceTimeout = m.RebalanceTimeoutMs,
                SessionTimeout = m.SessionTimeoutMs,
                Subscription = m.MetadataFor(group.ProtocolName),
                Assignment = m.Assignment,
            })],
        };
        return new GroupLogRecord(key, Write(value, 3));
    }

    /// <summary>A decoded record: an offset commit (Offset null = deleted) or a group (Group null = deleted).</summary>
    public abstract record Decoded(string GroupId);

    public sealed record OffsetRecord(string GroupId, string Topic, int Partition, CommittedOffset? Offset) : Decoded(GroupId);

    public sealed record GroupRecord(string GroupId, GroupMetadataValue? Value) : Decoded(GroupId);

    /// <summary>Decodes a record, or null for a key version this coordinator does not use (consumer-group v2 records, transactions…).</summary>
    public static Decoded? Decode(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte>? value)
    {
        var keyReader = new KafkaReader(key);
        short keyVersion = keyReader.ReadInt16();
        switch (keyVersion)
        {
            case 0 or 1:
            {
                OffsetCommitKey k = OffsetCommitKey.Read(ref keyReader, keyVersion);
                if (value is not { } v || v.IsEmpty)
                {
                    return new OffsetRecord(k.Group, k.Topic, k.Partition, null);
                }

                var reader = new KafkaReader(v);
                short version = reader.ReadInt16();
                OffsetCommitValue o = OffsetCommitValue.Read(ref reader, version);
                return new OffsetRecord(k.Group, k.Topic, k.Partition, new CommittedOffset(o.Offset, o.LeaderEpoch, o.Metadata, o.CommitTimestamp, o.ExpireTimestamp));
            }

            case 2:
            {
                GroupMetadataKey k = GroupMetadataKey.Read(ref keyReader, keyVersion);
                if (value is not { } v || v.IsEmpty)
                {
                    return new GroupRecord(k.Group, null);
                }

                var reader = new KafkaReader(v);
                short version = reader.ReadInt16();
                return new GroupRecord(k.Group, GroupMetadataValue.Read(ref reader, version));
            }

            default:
                return null;
        }
    }

    private static byte[] Write(IKafkaMessage message, short version)
    {
        using var writer = new KafkaWriter(64);
        writer.WriteInt16(version);
        message.Write(writer, version);
        return writer.ToArray();
    }
}

/// <summary>
/// The <c>__consumer_offsets</c> log as the coordinator needs it: append with acks=all, read a
/// partition from its start to its end (replay on takeover). The service uses the brokers
/// (<see cref="KafkaGroupLog"/>); tests use <see cref="InMemoryGroupLog"/>.
/// </summary>
public interface IGroupLog
{
    /// <summary>
    /// Takes <paramref name="partition"/> over at <paramref name="epoch"/> (its assignment epoch):
    /// writes a <see cref="GroupRecords.Claim"/> record, after which appends of an owner with a lower
    /// epoch are refused. Call before reading the partition. Throws
    /// <see cref="CoordinatorFencedException"/> when a newer owner has claimed it already.
    /// </summary>
    Task ClaimAsync(int partition, int epoch, CancellationToken cancellationToken);

    /// <summary>Appends as the owner at <paramref name="epoch"/>; <see cref="CoordinatorFencedException"/> when a newer owner exists.</summary>
    Task AppendAsync(int partition, int epoch, IReadOnlyList<GroupLogRecord> records, CancellationToken cancellationToken);

    Task<IReadOnlyList<GroupLogRecord>> ReadAllAsync(int partition, CancellationToken cancellationToken);
}

/// <summary>An <see cref="IGroupLog"/> in memory. Appends complete at once unless a failure is armed or appends are held.</summary>
public sealed class InMemoryGroupLog : IGroupLog
{
    private readonly Dictionary<int, List<GroupLogRecord>> _partitions = [];
    private readonly Dictionary<int, int> _epochs = [];
    private readonly Lock _gate = new();

    /// <summary>When set, every append fails with it.</summary>
    public Exception? AppendFailure { get; set; }

    /// <summary>When set, reads wait for it (a slow load).</summary>
    public Task? ReadGate { get; set; }

    /// <summary>When set, appends wait for it before they are written (a slow round trip).</summary>
    public Task? AppendGate { get; set; }

    /// <summary>Appends complete on the thread pool, as a real log's do (concurrent writers pile up behind one another).</summary>
    public bool CompleteAsynchronously { get; set; }

    public int AppendCount { get; private set; }

    public Task ClaimAsync(int partition, int epoch, CancellationToken cancellationToken) =>
        AppendAsync(partition, epoch, [GroupRecords.Claim()], cancellationToken);

    public Task AppendAsync(int partition, int epoch, IReadOnlyList<GroupLogRecord> records, CancellationToken cancellationToken)
    {
        if (AppendGate is { } held)
        {
            return AppendAfterAsync(held, partition, epoch, records, cancellationToken);
        }

        return CompleteAsynchronously ? Task.Run(() => Append(partition, epoch, records), cancellationToken) : Append(partition, epoch, records);
    }

    private async Task AppendAfterAsync(Task held, int partition, int epoch, IReadOnlyList<GroupLogRecord> records, CancellationToken cancellationToken)
    {
        await held.WaitAsync(cancellationToken).ConfigureAwait(false);
        await Append(partition, epoch, records).ConfigureAwait(false);
    }

    private Task Append(int partition, int epoch, IReadOnlyList<GroupLogRecord> records)
    {
        if (AppendFailure is { } failure)
        {
            return Task.FromException(failure);
        }

        lock (_gate)
        {
            // As the brokers fence the partition's producer: an owner with a lower epoch than the last writer's.
            int last = _epochs.GetValueOrDefault(partition, -1);
            if (epoch < last)
            {
                return Task.FromException(new CoordinatorFencedException(partition, epoch, $"epoch {last} wrote __consumer_offsets-{partition} already"));
            }

            _epochs[partition] = epoch;
            if (!_partitions.TryGetValue(partition, out List<GroupLogRecord>? log))
            {
                _partitions[partition] = log = [];
            }

            log.AddRange(records);
            AppendCount++;
        }

        return Task.CompletedTask;
    }

    public async Task<IReadOnlyList<GroupLogRecord>> ReadAllAsync(int partition, CancellationToken cancellationToken)
    {
        if (ReadGate is { } gate)
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        return Records(partition);
    }

    public IReadOnlyList<GroupLogRecord> Records(int partition)
    {
        lock (_gate)
        {
            return _partitions.TryGetValue(partition, out List<GroupLogRecord>? log) ? [.. log] : [];
        }
    }
}

/// <summary>A newer owner has written the partition: this coordinator no longer owns it (answer NOT_COORDINATOR).</summary>
public sealed class CoordinatorFencedException(int partition, int epoch, string reason)
    : Exception($"__consumer_offsets-{partition}: this coordinator's assignment epoch {epoch} is fenced: {reason}.")
{
    public int Partition { get; } = partition;

    public int Epoch { get; } = epoch;
}
