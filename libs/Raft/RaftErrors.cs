namespace Aspire.Kafka.Raft;

/// <summary>The Kafka error codes the Raft RPCs use (values as in Kafka's Errors enum).</summary>
public static class RaftErrors
{
    public const short None = 0;
    public const short UnknownTopicOrPartition = 3;
    public const short NotLeaderOrFollower = 6;
    public const short BrokerNotAvailable = 8;
    public const short InvalidRequest = 42;
    public const short FencedLeaderEpoch = 74;
    public const short UnknownLeaderEpoch = 75;
    public const short InconsistentVoterSet = 81;
    public const short SnapshotNotFound = 98;
    public const short PositionOutOfRange = 99;
    public const short InconsistentClusterId = 104;

    public static string Name(short code) => code switch
    {
        None => "NONE",
        UnknownTopicOrPartition => "UNKNOWN_TOPIC_OR_PARTITION",
        NotLeaderOrFollower => "NOT_LEADER_OR_FOLLOWER",
        BrokerNotAvailable => "BROKER_NOT_AVAILABLE",
        InvalidRequest => "INVALID_REQUEST",
        FencedLeaderEpoch => "FENCED_LEADER_EPOCH",
        UnknownLeaderEpoch => "UNKNOWN_LEADER_EPOCH",
        InconsistentVoterSet => "INCONSISTENT_VOTER_SET",
        SnapshotNotFound => "SNAPSHOT_NOT_FOUND",
        PositionOutOfRange => "POSITION_OUT_OF_RANGE",
        InconsistentClusterId => "INCONSISTENT_CLUSTER_ID",
        _ => "ERROR_" + code,
    };
}
