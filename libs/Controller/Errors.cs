using Aspire.Kafka.Protocol;

namespace Aspire.Kafka.Controller;

/// <summary>
/// The error codes the controller answers with, as shorts for the generated messages' ErrorCode
/// fields (the numbers come from <see cref="ErrorCode"/>, Kafka's Errors).
/// </summary>
public static class Errors
{
    public const short UnknownServerError = (short)ErrorCode.UnknownServerError;

    public const short None = (short)ErrorCode.None;

    public const short UnknownTopicOrPartition = (short)ErrorCode.UnknownTopicOrPartition;

    public const short LeaderNotAvailable = (short)ErrorCode.LeaderNotAvailable;

    public const short NotLeaderOrFollower = (short)ErrorCode.NotLeaderOrFollower;

    public const short InvalidTopicException = (short)ErrorCode.InvalidTopicException;

    public const short ClusterAuthorizationFailed = (short)ErrorCode.ClusterAuthorizationFailed;

    public const short UnsupportedVersion = (short)ErrorCode.UnsupportedVersion;

    public const short TopicAlreadyExists = (short)ErrorCode.TopicAlreadyExists;

    public const short InvalidPartitions = (short)ErrorCode.InvalidPartitions;

    public const short InvalidReplicationFactor = (short)ErrorCode.InvalidReplicationFactor;

    public const short InvalidReplicaAssignment = (short)ErrorCode.InvalidReplicaAssignment;

    public const short InvalidConfig = (short)ErrorCode.InvalidConfig;

    public const short NotController = (short)ErrorCode.NotController;

    public const short InvalidRequest = (short)ErrorCode.InvalidRequest;

    public const short PolicyViolation = (short)ErrorCode.PolicyViolation;

    public const short OperationNotAttempted = (short)ErrorCode.OperationNotAttempted;

    public const short TopicDeletionDisabled = (short)ErrorCode.TopicDeletionDisabled;

    public const short FencedLeaderEpoch = (short)ErrorCode.FencedLeaderEpoch;

    public const short StaleBrokerEpoch = (short)ErrorCode.StaleBrokerEpoch;

    public const short PreferredLeaderNotAvailable = (short)ErrorCode.PreferredLeaderNotAvailable;

    public const short EligibleLeadersNotAvailable = (short)ErrorCode.EligibleLeadersNotAvailable;

    public const short ElectionNotNeeded = (short)ErrorCode.ElectionNotNeeded;

    public const short InvalidUpdateVersion = (short)ErrorCode.InvalidUpdateVersion;

    public const short UnknownTopicId = (short)ErrorCode.UnknownTopicId;

    public const short DuplicateBrokerRegistration = (short)ErrorCode.DuplicateBrokerRegistration;

    public const short BrokerIdNotRegistered = (short)ErrorCode.BrokerIdNotRegistered;

    public const short InconsistentClusterId = (short)ErrorCode.InconsistentClusterId;

    public const short IneligibleReplica = (short)ErrorCode.IneligibleReplica;

    public const short NewLeaderElected = (short)ErrorCode.NewLeaderElected;

    /// <summary>Kafka's name of an error code, e.g. TOPIC_ALREADY_EXISTS.</summary>
    public static string Name(short code) =>
        Enum.IsDefined((ErrorCode)code)
            ? System.Text.RegularExpressions.Regex.Replace(((ErrorCode)code).ToString(), "(?<=[a-z0-9])([A-Z])", "_$1").ToUpperInvariant()
            : $"ERROR_{code}";
}

/// <summary>An error code with its message (Kafka's ApiError).</summary>
public readonly record struct ApiError(short Code, string? Message = null)
{
    public static readonly ApiError None = new(Errors.None);

    public bool IsSuccess => Code == Errors.None;

    public override string ToString() => Message is null ? Errors.Name(Code) : $"{Errors.Name(Code)}: {Message}";
}

/// <summary>Thrown by an operation on a controller that is not the active one; the service answers NOT_CONTROLLER with the current leader.</summary>
public sealed class NotControllerException : InvalidOperationException
{
    public NotControllerException(string message) : base(message) { }
}
