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
    Task AppendAsync(int partition, IReadOnlyList<GroupLogRecord> records, CancellationToken cancellationToken);

    Task<IReadOnlyList<GroupLogRecord>> ReadAllAsync(int partition, CancellationToken cancellationToken);
}

/// <summary>An <see cref="IGroupLog"/> in memory. Appends complete at once unless a failure is armed or appends are held.</summary>
public sealed class InMemoryGroupLog : IGroupLog
{
    private readonly Dictionary<int, List<GroupLogRecord>> _partitions = [];
    private readonly Lock _gate = new();

    /// <summary>When set, every append fails with it.</summary>
    public Exception? AppendFailure { get; set; }

    /// <summary>When set, reads wait for it (a slow load).</summary>
    public Task? ReadGate { get; set; }

    public int AppendCount { get; private set; }

    public Task AppendAsync(int partition, IReadOnlyList<GroupLogRecord> records, CancellationToken cancellationToken)
    {
        if (AppendFailure is { } failure)
        {
            return Task.FromException(failure);
        }

        lock (_gate)
        {
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
