using System.Buffers.Binary;
using System.Text;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Records;

namespace Aspire.Kafka.Raft.Tests;

/// <summary>The core's messages survive the trip through the generated Kafka classes and their wire encoding, at every version KRaft uses.</summary>
public sealed class RaftMessageCodecTests
{
    private static readonly RaftEntry[] Entries =
    [
        new(5, 2, new byte[] { 0, 1 }, RaftEntryKind.LeaderChange),
        new(6, 2, Encoding.UTF8.GetBytes("a")),
        new(7, 2, Encoding.UTF8.GetBytes("bb")),
        new(8, 3, Encoding.UTF8.GetBytes("c")),
    ];

    public static TheoryData<RaftMessage, short> Requests() => new()
    {
        { new VoteRequestData(4, 1, 3, 120), 0 },
        { new VoteRequestData(4, 1, 3, 120), 1 },
        { new BeginQuorumEpochRequestData(2, 7), 0 },
        { new BeginQuorumEpochRequestData(2, 7), 1 },
        { new EndQuorumEpochRequestData(2, 7, [3, 1]), 0 },
        { new EndQuorumEpochRequestData(2, 7, [3, 1]), 1 },
        { new FetchRequestData(3, 7, 100, 6, 500, 8192), 12 },
        { new FetchRequestData(3, 7, 100, 6, 500, 8192), 13 },
        { new FetchRequestData(3, 7, 100, 6, 500, 8192), 15 },
        { new FetchRequestData(3, 7, 100, 6, 500, 8192), 17 },
        { new FetchSnapshotRequestData(3, 7, new SnapshotId(90, 5), 4096, 1024), 0 },
        { new FetchSnapshotRequestData(3, 7, new SnapshotId(90, 5), 4096, 1024), 1 },
    };

    public static TheoryData<RaftMessage, short> Responses() => new()
    {
        { new VoteResponseData(0, -1, 4, true), 0 },
        { new VoteResponseData(RaftErrors.FencedLeaderEpoch, 2, 5, false), 1 },
        { new BeginQuorumEpochResponseData(0, 2, 7), 0 },
        { new BeginQuorumEpochResponseData(0, 2, 7), 1 },
        { new EndQuorumEpochResponseData(RaftErrors.FencedLeaderEpoch, 3, 8), 1 },
        { new FetchResponseData(0, 2, 7, 6, 0, null, null, Entries), 12 },
        { new FetchResponseData(0, 2, 7, 6, 0, null, null, Entries), 16 },
        { new FetchResponseData(0, 2, 7, 6, 0, new OffsetAndEpoch(42, 3), null, []), 13 },
        { new FetchResponseData(0, 2, 7, 6, 80, null, new SnapshotId(80, 4), []), 17 },
        { new FetchResponseData(RaftErrors.NotLeaderOrFollower, 1, 9, -1, 0, null, null, []), 15 },
        { new FetchSnapshotResponseData(0, 2, 7, new SnapshotId(90, 5), 10_000, 4096, new byte[] { 1, 2, 3 }), 0 },
        { new FetchSnapshotResponseData(RaftErrors.SnapshotNotFound, 2, 7, new SnapshotId(90, 5), -1, 0, ReadOnlyMemory<byte>.Empty), 1 },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public void Requests_round_trip_through_the_wire(RaftMessage message, short version)
    {
        var envelope = new RaftEnvelope(3, 2, 77, message);
        IApiMessage kafka = RaftMessageCodec.ToRequest(envelope, "cluster-1", version);
        IApiMessage decoded = WireRoundTrip(kafka, version);

        RaftEnvelope back = RaftMessageCodec.FromRequest(decoded, 3, 2, 77);

        Assert.Equal(envelope, back);
    }

    [Theory]
    [MemberData(nameof(Responses))]
    public void Responses_round_trip_through_the_wire(RaftMessage message, short version)
    {
        IApiMessage kafka = RaftMessageCodec.ToResponse(message);
        IApiMessage decoded = WireRoundTrip(kafka, version);

        RaftEnvelope back = RaftMessageCodec.FromResponse(decoded, 2, 3, 77);

        Assert.Equal(message, back.Message);
    }

    [Fact]
    public void Requests_name_the_metadata_partition_and_carry_the_cluster_id()
    {
        var fetch = (FetchRequest)RaftMessageCodec.ToRequest(new RaftEnvelope(3, 1, 1, new FetchRequestData(3, 7, 0, 0, 500, 1024)), "abc", 17);
        Assert.Equal("abc", fetch.ClusterId);
        Assert.Equal("__cluster_metadata", fetch.Topics.Single().Topic);
        Assert.Equal(KafkaUuid.MetadataTopicId, fetch.Topics.Single().TopicId);
        Assert.Equal(0, fetch.Topics.Single().Partitions.Single().Partition);
        Assert.Equal(3, fetch.ReplicaState.ReplicaId);

        var vote = (VoteRequest)RaftMessageCodec.ToRequest(new RaftEnvelope(3, 1, 1, new VoteRequestData(2, 3, 1, 5)), "abc", 1);
        Assert.Equal(1, vote.VoterId);
        Assert.Equal("abc", vote.ClusterId);
    }

    [Fact]
    public void Entries_travel_as_record_batches_with_the_epoch_as_partition_leader_epoch()
    {
        byte[] records = RaftMessageCodec.EncodeEntries(Entries);

        var headers = new List<RecordBatchHeader>();
        int position = 0;
        while (position < records.Length)
        {
            Assert.Equal(RecordSetStatus.Complete, RecordSet.TryReadBatch(records.AsSpan(position), out int size));
            headers.Add(RecordBatchHeader.Read(records.AsSpan(position, size)));
            position += size;
        }

        // LeaderChange alone in a control batch; a and bb in one batch of epoch 2; c in epoch 3.
        Assert.Equal([5L, 6L, 8L], headers.Select(h => h.BaseOffset));
        Assert.Equal([2, 2, 3], headers.Select(h => h.PartitionLeaderEpoch));
        Assert.Equal([true, false, false], headers.Select(h => h.IsControl));
        Assert.Equal([1, 2, 1], headers.Select(h => h.RecordCount));
        Aspire.Kafka.Records.Record control = RecordBatchReader.ReadRecords(records.AsMemory(0, headers[0].SizeInBytes)).Single();
        Assert.Equal(RaftMessageCodec.LeaderChangeControlType, BinaryPrimitives.ReadInt16BigEndian(control.Key!.Value.Span[2..]));

        IReadOnlyList<RaftEntry> decoded = RaftMessageCodec.DecodeEntries(records);
        Assert.Equal(Entries.Length, decoded.Count);
        Assert.All(Entries.Zip(decoded), pair => Assert.True(pair.First.SameContent(pair.Second), $"{pair.First} != {pair.Second}"));
    }

    [Fact]
    public void Describe_quorum_response_encodes_at_every_version()
    {
        var description = new QuorumDescription(0, 1, 7, 120,
            [new ReplicaDescription(1, 120, -1, 1000), new ReplicaDescription(2, 118, 990, 980)],
            [new ReplicaDescription(100, 50, 995, -1)]);
        DescribeQuorumResponse response = RaftMessageCodec.ToDescribeQuorumResponse(description);

        for (short version = 0; version <= 2; version++)
        {
            var back = (DescribeQuorumResponse)WireRoundTrip(response, version);
            DescribeQuorumResponse.PartitionData partition = back.Topics.Single().Partitions.Single();
            Assert.Equal(1, partition.LeaderId);
            Assert.Equal(7, partition.LeaderEpoch);
            Assert.Equal(120, partition.HighWatermark);
            Assert.Equal([118L], partition.CurrentVoters.Where(v => v.ReplicaId == 2).Select(v => v.LogEndOffset));
            Assert.Equal([100], partition.Observers.Select(o => o.ReplicaId));
        }
    }

    [Fact]
    public void A_message_without_the_metadata_partition_is_rejected()
    {
        var vote = new VoteRequest { Topics = [new VoteRequest.TopicData { TopicName = "other" }] };
        Assert.Throws<InvalidDataException>(() => RaftMessageCodec.FromRequest(vote, 1, 2, 3));
    }

    private static IApiMessage WireRoundTrip(IApiMessage message, short version)
    {
        using var writer = new KafkaWriter();
        message.Write(writer, version);
        var reader = new KafkaReader(writer.ToArray());
        IApiMessage result = message switch
        {
            VoteRequest => VoteRequest.Read(ref reader, version),
            VoteResponse => VoteResponse.Read(ref reader, version),
            BeginQuorumEpochRequest => BeginQuorumEpochRequest.Read(ref reader, version),
            BeginQuorumEpochResponse => BeginQuorumEpochResponse.Read(ref reader, version),
            EndQuorumEpochRequest => EndQuorumEpochRequest.Read(ref reader, version),
            EndQuorumEpochResponse => EndQuorumEpochResponse.Read(ref reader, version),
            FetchRequest => FetchRequest.Read(ref reader, version),
            FetchResponse => FetchResponse.Read(ref reader, version),
            FetchSnapshotRequest => FetchSnapshotRequest.Read(ref reader, version),
            FetchSnapshotResponse => FetchSnapshotResponse.Read(ref reader, version),
            DescribeQuorumResponse => DescribeQuorumResponse.Read(ref reader, version),
            _ => throw new ArgumentException(message.GetType().Name),
        };
        Assert.Equal(0, reader.Remaining);
        return result;
    }
}
