using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.MetadataRecords;

namespace Aspire.Kafka.Metadata.Tests;

public sealed class MetadataRecordSerdeTests
{
    [Fact]
    public void NoOpRecordIsFrameVersionApiKeyVersionThenBody()
    {
        byte[] bytes = MetadataRecordSerde.Serialize(new ApiMessageAndVersion(new NoOpRecord(), 0));
        // frame version 1, apiKey 20, version 0, then the flexible body: zero tagged fields.
        Assert.Equal(new byte[] { 1, 20, 0, 0 }, bytes);
    }

    [Fact]
    public void ApiKeysAboveOneByteAreUnsignedVarints()
    {
        var record = new CoordinatorAssignmentRecord { PartitionId = 7, CoordinatorId = 101, AssignmentEpoch = 3 };
        byte[] bytes = MetadataRecordSerde.Serialize(RecordVersions.Of(record));
        // 10001 = 0x2711 -> varint 0x91 0x4E.
        Assert.Equal(new byte[] { 1, 0x91, 0x4E, 0 }, bytes[..4]);
        ApiMessageAndVersion read = MetadataRecordSerde.Read(bytes);
        Assert.Equal(record, read.Message);
    }

    public static TheoryData<ApiMessageAndVersion> Records() =>
    [
        RecordVersions.Of(new RegisterBrokerRecord
        {
            BrokerId = 1,
            IncarnationId = new KafkaUuid(5, 6),
            BrokerEpoch = 42,
            EndPoints = [new RegisterBrokerRecord.BrokerEndpoint { Name = "PLAINTEXT", Host = "localhost", Port = 9092, SecurityProtocol = 0 }],
            Features = [new RegisterBrokerRecord.BrokerFeature { Name = "metadata.version", MinSupportedVersion = 1, MaxSupportedVersion = 19 }],
            Rack = "r1",
            Fenced = false,
            InControlledShutdown = true,
        }),
        RecordVersions.Of(new TopicRecord { Name = "orders", TopicId = new KafkaUuid(1, 2) }),
        RecordVersions.Of(new PartitionRecord { TopicId = new KafkaUuid(1, 2), PartitionId = 3, Replicas = [1, 2, 3], Isr = [1, 2], Leader = 1, LeaderEpoch = 4, PartitionEpoch = 9 }),
        RecordVersions.Of(new PartitionChangeRecord { TopicId = new KafkaUuid(1, 2), PartitionId = 3, Isr = [1], Leader = -1 }),
        RecordVersions.Of(new ConfigRecord { ResourceType = 2, ResourceName = "orders", Name = "retention.ms", Value = null }),
        RecordVersions.Of(new BrokerRegistrationChangeRecord { BrokerId = 2, BrokerEpoch = 7, Fenced = -1, InControlledShutdown = 1 }),
        RecordVersions.Of(new FeatureLevelRecord { Name = "metadata.version", FeatureLevel = 7 }),
        RecordVersions.Of(new RegisterCoordinatorRecord { CoordinatorId = 100, CoordinatorEpoch = 12, IncarnationId = new KafkaUuid(9, 9), Rack = null }),
        new ApiMessageAndVersion(new PartitionRecord { TopicId = new KafkaUuid(1, 2), PartitionId = 0, Replicas = [1], Isr = [1], Leader = 1, Directories = [new KafkaUuid(3, 3)] }, 1),
    ];

    [Theory]
    [MemberData(nameof(Records))]
    public void RoundTrips(ApiMessageAndVersion record)
    {
        byte[] bytes = MetadataRecordSerde.Serialize(record);
        ApiMessageAndVersion read = MetadataRecordSerde.Read(bytes);
        Assert.Equal(record.Version, read.Version);
        Assert.Equal(record.Message.GetType(), read.Message.GetType());
        Assert.Equal(record.Message, read.Message);
        Assert.Equal(bytes, MetadataRecordSerde.Serialize(read));
    }

    [Fact]
    public void FrameVersionZeroIsRead()
    {
        byte[] bytes = MetadataRecordSerde.Serialize(RecordVersions.Of(new TopicRecord { Name = "t", TopicId = new KafkaUuid(1, 1) }));
        bytes[0] = 0;
        Assert.IsType<TopicRecord>(MetadataRecordSerde.Read(bytes).Message);
    }

    [Fact]
    public void UnknownFrameVersionIsRejected()
    {
        var e = Assert.Throws<MetadataParseException>(() => MetadataRecordSerde.Read(new byte[] { 2, 20, 0, 0 }));
        Assert.Contains("frame version 2", e.Message);
    }

    [Fact]
    public void UnknownApiKeyIsRejected()
    {
        var e = Assert.Throws<MetadataParseException>(() => MetadataRecordSerde.Read(new byte[] { 1, 0x7F, 0, 0 }));
        Assert.Contains("Unknown metadata id 127", e.Message);
    }

    [Fact]
    public void UnsupportedVersionIsRejected()
    {
        var e = Assert.Throws<MetadataParseException>(() => MetadataRecordSerde.Read(new byte[] { 1, 20, 5, 0 }));
        Assert.Contains("Unsupported version 5 of NoOpRecord", e.Message);
    }

    [Fact]
    public void TruncatedAndTrailingBytesAreRejected()
    {
        byte[] bytes = MetadataRecordSerde.Serialize(RecordVersions.Of(new TopicRecord { Name = "orders", TopicId = new KafkaUuid(1, 1) }));
        Assert.Throws<MetadataParseException>(() => MetadataRecordSerde.Read(bytes.AsMemory(0, bytes.Length - 3)));
        Assert.Throws<MetadataParseException>(() => MetadataRecordSerde.Read(new byte[] { 1 }));
        var e = Assert.Throws<MetadataParseException>(() => MetadataRecordSerde.Read(bytes.Concat(new byte[] { 0, 0 }).ToArray()));
        Assert.Contains("2 byte(s) of garbage after TopicRecord", e.Message);
    }
}
