using Aspire.Kafka.Client;
using Aspire.Kafka.Metadata;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Node.Apis;

/// <summary>
/// The group APIs on a broker (design.md §4): the broker that leads a group's
/// <c>__consumer_offsets</c> partition is the group's coordinator as clients see it, and it
/// forwards the request to the coordinator node that owns the partition (<see cref="CoordinatorChannel"/>),
/// relaying the answer. A broker that does not lead the partition answers NOT_COORDINATOR, one whose
/// partition has no reachable coordinator COORDINATOR_NOT_AVAILABLE, so the client looks the
/// coordinator up again, as with Kafka during a coordinator move. The versions are the generated
/// ranges the coordinator serves too.
/// </summary>
public abstract partial class ForwardedGroupApi<TRequest, TResponse>(ClusterMetadataFollower follower, CoordinatorChannel channel, ILogger logger)
    : KafkaApi<TRequest, TResponse>
    where TRequest : class, IApiMessage<TRequest>
    where TResponse : class, IApiMessage<TResponse>
{
    protected ClusterMetadataFollower Follower => follower;

    protected CoordinatorChannel Channel => channel;

    /// <summary>The group the request is about.</summary>
    protected abstract string GroupId(TRequest request);

    /// <summary>The answer with <paramref name="error"/> in every error field the response has at <paramref name="version"/>.</summary>
    protected abstract TResponse Error(TRequest request, short version, ErrorCode error);

    /// <summary>How long the coordinator gets: request.timeout.ms, unless the request waits for others (JoinGroup, SyncGroup).</summary>
    protected virtual TimeSpan Timeout(TRequest request, short version) => channel.RequestTimeout;

    protected override async ValueTask<TResponse?> HandleAsync(RequestContext context, TRequest request, CancellationToken cancellationToken) =>
        await ForwardAsync(context, request, GroupId(request), cancellationToken).ConfigureAwait(false);

    /// <summary>Routes <paramref name="request"/> by <paramref name="groupId"/> and forwards it, or answers the routing error.</summary>
    protected async Task<TResponse> ForwardAsync(RequestContext context, TRequest request, string groupId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        GroupRoute route = channel.Route(follower.Image, groupId);
        if (route.Error != ErrorCode.None)
        {
            return Error(request, context.ApiVersion, route.Error);
        }

        try
        {
            return await channel.ForwardAsync<TRequest, TResponse>(route.Coordinator!, request, context, Timeout(request, context.ApiVersion), cancellationToken).ConfigureAwait(false);
        }
        catch (CoordinatorUnavailableException e)
        {
            LogUnavailable(logger, typeof(TRequest).Name, groupId, e.Message);
            return Error(request, context.ApiVersion, ErrorCode.CoordinatorNotAvailable);
        }
    }

    /// <summary>
    /// For requests about several groups (DescribeGroups, DeleteGroups, OffsetFetch v8+): one
    /// request per coordinator node with its groups (built by <paramref name="subRequest"/>), sent
    /// concurrently; each group gets its coordinator's answer or the routing error.
    /// </summary>
    protected async Task<Dictionary<string, (TResponse? Response, ErrorCode Error)>> FanOutAsync(
        RequestContext context, IReadOnlyList<string> groups, Func<IReadOnlyList<string>, TRequest> subRequest, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(subRequest);
        MetadataImage image = follower.Image;
        var answers = new Dictionary<string, (TResponse? Response, ErrorCode Error)>();
        var byCoordinator = new Dictionary<KafkaNode, List<string>>();
        foreach (string group in groups.Distinct())
        {
            GroupRoute route = channel.Route(image, group);
            if (route.Error != ErrorCode.None)
            {
                answers[group] = (null, route.Error);
            }
            else
            {
                (byCoordinator.TryGetValue(route.Coordinator!, out List<string>? list) ? list : byCoordinator[route.Coordinator!] = []).Add(group);
            }
        }

        (List<string> Groups, TResponse? Response)[] forwarded = await Task.WhenAll(byCoordinator.Select(async entry =>
        {
            try
            {
                TResponse response = await channel.ForwardAsync<TRequest, TResponse>(entry.Key, subRequest(entry.Value), context, channel.RequestTimeout, cancellationToken).ConfigureAwait(false);
                return (entry.Value, (TResponse?)response);
            }
            catch (CoordinatorUnavailableException e)
            {
                LogUnavailable(logger, typeof(TRequest).Name, string.Join(",", entry.Value), e.Message);
                return (entry.Value, null);
            }
        })).ConfigureAwait(false);
        foreach ((List<string> forGroups, TResponse? response) in forwarded)
        {
            foreach (string group in forGroups)
            {
                answers[group] = (response, response is null ? ErrorCode.CoordinatorNotAvailable : ErrorCode.None);
            }
        }

        return answers;
    }

    /// <summary>
    /// <see cref="FanOutAsync"/>, then one entry per requested group, in the request's order: the entry its
    /// coordinator answered (<paramref name="entries"/>, matched by <paramref name="groupOf"/>), else
    /// <paramref name="failed"/> with the routing error (COORDINATOR_NOT_AVAILABLE when none).
    /// </summary>
    protected async Task<List<TEntry>> PerGroupAsync<TEntry>(RequestContext context, IReadOnlyList<string> groups, Func<IReadOnlyList<string>, TRequest> subRequest,
        Func<TResponse, IEnumerable<TEntry>> entries, Func<TEntry, string> groupOf, Func<string, ErrorCode, TEntry> failed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(groups);
        Dictionary<string, (TResponse? Response, ErrorCode Error)> answers = await FanOutAsync(context, groups, subRequest, cancellationToken).ConfigureAwait(false);
        return
        [
            .. groups.Select(group =>
            {
                (TResponse? answer, ErrorCode error) = answers[group];
                TEntry? found = answer is null ? default : entries(answer).FirstOrDefault(e => groupOf(e) == group);
                return found ?? failed(group, error == ErrorCode.None ? ErrorCode.CoordinatorNotAvailable : error);
            }),
        ];
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Request} for group {Group} answered COORDINATOR_NOT_AVAILABLE: {Reason}")]
    private static partial void LogUnavailable(ILogger logger, string request, string group, string reason);
}

public sealed class BrokerJoinGroupApi(ClusterMetadataFollower follower, CoordinatorChannel channel, ILogger<BrokerJoinGroupApi> logger)
    : ForwardedGroupApi<JoinGroupRequest, JoinGroupResponse>(follower, channel, logger)
{
    protected override string GroupId(JoinGroupRequest request) => request.GroupId;

    protected override JoinGroupResponse Error(JoinGroupRequest request, short version, ErrorCode error) =>
        new() { ErrorCode = (short)error, ProtocolName = version >= 7 ? null : "", MemberId = request.MemberId };

    /// <summary>A JoinGroup waits until the rebalance completes: its rebalance timeout (v0: the session timeout), plus request.timeout.ms, as the Java consumer waits.</summary>
    protected override TimeSpan Timeout(JoinGroupRequest request, short version) =>
        TimeSpan.FromMilliseconds(Math.Max(0, version >= 1 ? request.RebalanceTimeoutMs : request.SessionTimeoutMs)) + Channel.RequestTimeout;
}

public sealed class BrokerSyncGroupApi(ClusterMetadataFollower follower, CoordinatorChannel channel, ILogger<BrokerSyncGroupApi> logger)
    : ForwardedGroupApi<SyncGroupRequest, SyncGroupResponse>(follower, channel, logger)
{
    /// <summary>A follower's SyncGroup waits for the leader's, at most the group's rebalance timeout, which the request does not carry: the Java consumer's default max.poll.interval.ms (5 min) bounds it.</summary>
    private static readonly TimeSpan LongestRebalance = TimeSpan.FromMinutes(5);

    protected override string GroupId(SyncGroupRequest request) => request.GroupId;

    protected override SyncGroupResponse Error(SyncGroupRequest request, short version, ErrorCode error) => new() { ErrorCode = (short)error };

    protected override TimeSpan Timeout(SyncGroupRequest request, short version) => LongestRebalance + Channel.RequestTimeout;
}

public sealed class BrokerHeartbeatApi(ClusterMetadataFollower follower, CoordinatorChannel channel, ILogger<BrokerHeartbeatApi> logger)
    : ForwardedGroupApi<HeartbeatRequest, HeartbeatResponse>(follower, channel, logger)
{
    protected override string GroupId(HeartbeatRequest request) => request.GroupId;

    protected override HeartbeatResponse Error(HeartbeatRequest request, short version, ErrorCode error) => new() { ErrorCode = (short)error };
}

public sealed class BrokerLeaveGroupApi(ClusterMetadataFollower follower, CoordinatorChannel channel, ILogger<BrokerLeaveGroupApi> logger)
    : ForwardedGroupApi<LeaveGroupRequest, LeaveGroupResponse>(follower, channel, logger)
{
    protected override string GroupId(LeaveGroupRequest request) => request.GroupId;

    protected override LeaveGroupResponse Error(LeaveGroupRequest request, short version, ErrorCode error) => new() { ErrorCode = (short)error };
}

public sealed class BrokerOffsetCommitApi(ClusterMetadataFollower follower, CoordinatorChannel channel, ILogger<BrokerOffsetCommitApi> logger)
    : ForwardedGroupApi<OffsetCommitRequest, OffsetCommitResponse>(follower, channel, logger)
{
    protected override string GroupId(OffsetCommitRequest request) => request.GroupId;

    protected override OffsetCommitResponse Error(OffsetCommitRequest request, short version, ErrorCode error) => new()
    {
        Topics =
        [
            .. request.Topics.Select(t => new OffsetCommitResponse.OffsetCommitResponseTopic
            {
                Name = t.Name,
                Partitions = [.. t.Partitions.Select(p => new OffsetCommitResponse.OffsetCommitResponsePartition { PartitionIndex = p.PartitionIndex, ErrorCode = (short)error })],
            }),
        ],
    };
}

public sealed class BrokerOffsetDeleteApi(ClusterMetadataFollower follower, CoordinatorChannel channel, ILogger<BrokerOffsetDeleteApi> logger)
    : ForwardedGroupApi<OffsetDeleteRequest, OffsetDeleteResponse>(follower, channel, logger)
{
    protected override string GroupId(OffsetDeleteRequest request) => request.GroupId;

    protected override OffsetDeleteResponse Error(OffsetDeleteRequest request, short version, ErrorCode error) => new() { ErrorCode = (short)error };
}

/// <summary>OffsetFetch: v0–v7 name one group; v8+ several, each forwarded to its own coordinator.</summary>
public sealed class BrokerOffsetFetchApi(ClusterMetadataFollower follower, CoordinatorChannel channel, ILogger<BrokerOffsetFetchApi> logger)
    : ForwardedGroupApi<OffsetFetchRequest, OffsetFetchResponse>(follower, channel, logger)
{
    protected override string GroupId(OffsetFetchRequest request) => request.GroupId;

    protected override async ValueTask<OffsetFetchResponse?> HandleAsync(RequestContext context, OffsetFetchRequest request, CancellationToken cancellationToken)
    {
        if (context.ApiVersion < 8)
        {
            return await ForwardAsync(context, request, request.GroupId, cancellationToken).ConfigureAwait(false);
        }

        var response = new OffsetFetchResponse();
        response.Groups.AddRange(await PerGroupAsync(context, [.. request.Groups.Select(g => g.GroupId)],
            groups => new OffsetFetchRequest { RequireStable = request.RequireStable, Groups = [.. request.Groups.Where(g => groups.Contains(g.GroupId))] },
            answer => answer.Groups, g => g.GroupId, (group, error) => new OffsetFetchResponse.OffsetFetchResponseGroup { GroupId = group, ErrorCode = (short)error },
            cancellationToken).ConfigureAwait(false));
        return response;
    }

    protected override OffsetFetchResponse Error(OffsetFetchRequest request, short version, ErrorCode error)
    {
        // v0-1 carry the error per partition, v2+ also at the top.
        return new OffsetFetchResponse
        {
            ErrorCode = version >= 2 ? (short)error : (short)0,
            Topics =
            [
                .. (request.Topics ?? []).Select(t => new OffsetFetchResponse.OffsetFetchResponseTopic
                {
                    Name = t.Name,
                    Partitions = [.. t.PartitionIndexes.Select(p => new OffsetFetchResponse.OffsetFetchResponsePartition { PartitionIndex = p, CommittedOffset = -1, ErrorCode = (short)error })],
                }),
            ],
        };
    }
}

/// <summary>DescribeGroups: each group described by its own coordinator.</summary>
public sealed class BrokerDescribeGroupsApi(ClusterMetadataFollower follower, CoordinatorChannel channel, ILogger<BrokerDescribeGroupsApi> logger)
    : ForwardedGroupApi<DescribeGroupsRequest, DescribeGroupsResponse>(follower, channel, logger)
{
    protected override string GroupId(DescribeGroupsRequest request) => request.Groups.FirstOrDefault() ?? "";

    protected override async ValueTask<DescribeGroupsResponse?> HandleAsync(RequestContext context, DescribeGroupsRequest request, CancellationToken cancellationToken)
    {
        var response = new DescribeGroupsResponse();
        response.Groups.AddRange(await PerGroupAsync(context, request.Groups,
            groups => new DescribeGroupsRequest { Groups = [.. groups], IncludeAuthorizedOperations = request.IncludeAuthorizedOperations },
            answer => answer.Groups, g => g.GroupId, Failed, cancellationToken).ConfigureAwait(false));
        return response;
    }

    protected override DescribeGroupsResponse Error(DescribeGroupsRequest request, short version, ErrorCode error) => new()
    {
        Groups = [.. request.Groups.Select(g => Failed(g, error))],
    };

    private static DescribeGroupsResponse.DescribedGroup Failed(string group, ErrorCode error) => new() { GroupId = group, ErrorCode = (short)error };
}

/// <summary>DeleteGroups: each group deleted by its own coordinator.</summary>
public sealed class BrokerDeleteGroupsApi(ClusterMetadataFollower follower, CoordinatorChannel channel, ILogger<BrokerDeleteGroupsApi> logger)
    : ForwardedGroupApi<DeleteGroupsRequest, DeleteGroupsResponse>(follower, channel, logger)
{
    protected override string GroupId(DeleteGroupsRequest request) => request.GroupsNames.FirstOrDefault() ?? "";

    protected override async ValueTask<DeleteGroupsResponse?> HandleAsync(RequestContext context, DeleteGroupsRequest request, CancellationToken cancellationToken)
    {
        var response = new DeleteGroupsResponse();
        response.Results.AddRange(await PerGroupAsync(context, request.GroupsNames, groups => new DeleteGroupsRequest { GroupsNames = [.. groups] },
            answer => answer.Results, g => g.GroupId, Failed, cancellationToken).ConfigureAwait(false));
        return response;
    }

    protected override DeleteGroupsResponse Error(DeleteGroupsRequest request, short version, ErrorCode error) => new()
    {
        Results = [.. request.GroupsNames.Select(g => Failed(g, error))],
    };

    private static DeleteGroupsResponse.DeletableGroupResult Failed(string group, ErrorCode error) => new() { GroupId = group, ErrorCode = (short)error };
}

/// <summary>
/// ListGroups on a broker, as Kafka answers it: the groups of the <c>__consumer_offsets</c>
/// partitions this broker leads (the groups it is coordinator of). Admin clients (Kafka's
/// AdminClient, kafka-python, librdkafka, kafkajs) ask every broker and concatenate the answers,
/// so the cluster's groups are listed once each. The broker asks each coordinator node that owns
/// one of those partitions and keeps the groups that hash to them; a coordinator that cannot be
/// reached makes the answer COORDINATOR_NOT_AVAILABLE (with the groups of the others).
/// </summary>
public sealed class BrokerListGroupsApi(ClusterMetadataFollower follower, CoordinatorChannel channel, NodeSettings settings, ILogger<BrokerListGroupsApi> logger)
    : ForwardedGroupApi<ListGroupsRequest, ListGroupsResponse>(follower, channel, logger)
{
    protected override string GroupId(ListGroupsRequest request) => "";

    protected override async ValueTask<ListGroupsResponse?> HandleAsync(RequestContext context, ListGroupsRequest request, CancellationToken cancellationToken)
    {
        MetadataImage image = Follower.Image;
        TopicImage? offsets = image.Topics.GetTopic(CoordinatorsImage.ConsumerOffsetsTopic);
        var response = new ListGroupsResponse();
        if (offsets is null)
        {
            return response;
        }

        var led = new HashSet<int>(offsets.Partitions.Where(e => e.Value.Leader == settings.NodeId).Select(e => e.Key));
        var coordinators = new HashSet<KafkaNode>();
        foreach (int partition in led)
        {
            CoordinatorAssignment? assignment = image.Coordinators.Assignment(partition);
            BrokerRegistration? node = assignment is { IsAssigned: true } ? image.Cluster.Coordinators.GetValueOrDefault(assignment.CoordinatorId) : null;
            if (node is { IsActive: true } && settings.NodeEndpoint(node) is { } endpoint)
            {
                coordinators.Add(endpoint);
            }
            else
            {
                response.ErrorCode = (short)ErrorCode.CoordinatorNotAvailable;
            }
        }

        ListGroupsResponse?[] answers = await Task.WhenAll(coordinators.Select(async coordinator =>
        {
            try
            {
                return await Channel.ForwardAsync<ListGroupsRequest, ListGroupsResponse>(coordinator, request, context, Channel.RequestTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (CoordinatorUnavailableException)
            {
                return null;
            }
        })).ConfigureAwait(false);
        foreach (ListGroupsResponse? answer in answers)
        {
            if (answer is null || answer.ErrorCode != 0)
            {
                response.ErrorCode = answer?.ErrorCode ?? (short)ErrorCode.CoordinatorNotAvailable;
                continue;
            }

            response.Groups.AddRange(answer.Groups.Where(g => led.Contains(CoordinatorsImage.PartitionFor(g.GroupId, offsets.Partitions.Count))));
        }

        response.Groups.Sort((a, b) => string.CompareOrdinal(a.GroupId, b.GroupId));
        return response;
    }

    protected override ListGroupsResponse Error(ListGroupsRequest request, short version, ErrorCode error) => new() { ErrorCode = (short)error };
}
