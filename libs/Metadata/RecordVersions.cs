using Aspire.Kafka.Protocol.MetadataRecords;

namespace Aspire.Kafka.Metadata;

/// <summary>
/// The version each metadata record is written at. They match metadata.version 3.3-IV3 (7), the
/// first level with controlled shutdown in broker registrations (KIP-841) and without the
/// per-replica log directories of later levels; readers accept every version the specs define.
/// </summary>
public static class RecordVersions
{
    public const string MetadataVersionFeature = "metadata.version";

    /// <summary>metadata.version 3.3-IV3.</summary>
    public const short MetadataVersion = 7;

    public const short RegisterBroker = 1;
    public const short UnregisterBroker = 0;
    public const short FenceBroker = 0;
    public const short UnfenceBroker = 0;
    public const short BrokerRegistrationChange = 1;
    public const short Topic = 0;
    public const short Partition = 0;
    public const short PartitionChange = 0;
    public const short RemoveTopic = 0;
    public const short Config = 0;
    public const short FeatureLevel = 0;
    public const short ProducerIds = 0;
    public const short NoOp = 0;
    public const short RegisterCoordinator = 0;
    public const short CoordinatorAssignment = 0;

    public static ApiMessageAndVersion Of(RegisterBrokerRecord r) => new(r, RegisterBroker);

    public static ApiMessageAndVersion Of(UnregisterBrokerRecord r) => new(r, UnregisterBroker);

    public static ApiMessageAndVersion Of(FenceBrokerRecord r) => new(r, FenceBroker);

    public static ApiMessageAndVersion Of(UnfenceBrokerRecord r) => new(r, UnfenceBroker);

    public static ApiMessageAndVersion Of(BrokerRegistrationChangeRecord r) => new(r, BrokerRegistrationChange);

    public static ApiMessageAndVersion Of(TopicRecord r) => new(r, Topic);

    public static ApiMessageAndVersion Of(PartitionRecord r) => new(r, Partition);

    public static ApiMessageAndVersion Of(PartitionChangeRecord r) => new(r, PartitionChange);

    public static ApiMessageAndVersion Of(RemoveTopicRecord r) => new(r, RemoveTopic);

    public static ApiMessageAndVersion Of(ConfigRecord r) => new(r, Config);

    public static ApiMessageAndVersion Of(FeatureLevelRecord r) => new(r, FeatureLevel);

    public static ApiMessageAndVersion Of(ProducerIdsRecord r) => new(r, ProducerIds);

    public static ApiMessageAndVersion Of(NoOpRecord r) => new(r, NoOp);

    public static ApiMessageAndVersion Of(RegisterCoordinatorRecord r) => new(r, RegisterCoordinator);

    public static ApiMessageAndVersion Of(CoordinatorAssignmentRecord r) => new(r, CoordinatorAssignment);
}
