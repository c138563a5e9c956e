using Aspire.Kafka.Client;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Mirror;

/// <summary>
/// Every <c>consumer.offset.sync.ms</c>: the committed offsets of the selected source groups
/// (<c>groups</c>, <c>groups.exclude</c>) on the mirrored topics are written to the same group on
/// the target, as they are — mirror topics have the source's offsets, so nothing is translated. A
/// group with members on the target (its state there is not Empty or Dead) is left alone: those
/// consumers commit for themselves. Only offsets that changed since the last sync are written.
/// </summary>
public sealed partial class GroupOffsetSync(MirrorService mirror, ILogger<GroupOffsetSync> logger) : BackgroundService
{
    private readonly Dictionary<string, Dictionary<(string Topic, int Partition), long>> _synced = new(StringComparer.Ordinal);
    private readonly HashSet<string> _activeOnTarget = new(StringComparer.Ordinal);

    /// <summary>When the last sync round finished without error (null before the first).</summary>
    public DateTimeOffset? LastSync { get; private set; }

    /// <summary>The last round's error, null when it succeeded.</summary>
    public string? LastError { get; private set; }

    /// <summary>Groups synced in the last round, with the offsets written to the target so far.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<(string Topic, int Partition), long>> Synced
    {
        get
        {
            lock (_synced)
            {
                return _synced.ToDictionary(g => g.Key, g => (IReadOnlyDictionary<(string, int), long>)new Dictionary<(string, int), long>(g.Value), StringComparer.Ordinal);
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(mirror.Settings.ConsumerOffsetSyncInterval);
        do
        {
            try
            {
                await SyncAsync(stoppingToken).ConfigureAwait(false);
                LastSync = DateTimeOffset.UtcNow;
                LastError = null;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is KafkaClientException or IOException or TimeoutException or InvalidOperationException)
            {
                LastError = e.Message;
                LogSyncFailed(logger, e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    /// <summary>One round: list the source's groups, read their offsets, write what changed to the target.</summary>
    public async Task SyncAsync(CancellationToken cancellationToken)
    {
        var mirrored = mirror.Partitions.Where(p => p.State != MirrorState.FailedOver).Select(p => (p.Topic, p.Partition)).ToHashSet();
        if (mirrored.Count == 0)
        {
            return;
        }

        foreach (string group in await ListGroupsAsync(mirror.Source, cancellationToken).ConfigureAwait(false))
        {
            if (!mirror.Settings.Groups.Matches(group))
            {
                continue;
            }

            Dictionary<(string Topic, int Partition), long> offsets = await FetchOffsetsAsync(mirror.Source, group, cancellationToken).ConfigureAwait(false);
            Dictionary<(string Topic, int Partition), long> last;
            lock (_synced)
            {
                last = _synced.TryGetValue(group, out var known) ? known : _synced[group] = [];
            }

            var changed = offsets.Where(o => mirrored.Contains(o.Key) && (!last.TryGetValue(o.Key, out long was) || was != o.Value)).ToList();
            if (changed.Count == 0)
            {
                continue;
            }

            KafkaNode? coordinator = await FindCoordinatorAsync(mirror.Target, group, cancellationToken).ConfigureAwait(false);
            if (coordinator is null)
            {
                continue; // the target's coordinator is not ready yet: next round
            }

            string state = await GroupStateAsync(mirror.Target, coordinator, group, cancellationToken).ConfigureAwait(false);
            if (state is not ("Empty" or "Dead" or ""))
            {
                if (_activeOnTarget.Add(group))
                {
                    LogActiveOnTarget(logger, group, state);
                }

                continue;
            }

            _activeOnTarget.Remove(group);
            var request = new OffsetCommitRequest
            {
                GroupId = group,
                GenerationIdOrMemberEpoch = -1,
                MemberId = "",
                Topics =
                [
                    .. changed.GroupBy(c => c.Key.Topic).Select(t => new OffsetCommitRequest.OffsetCommitRequestTopic
                    {
                        Name = t.Key,
                        Partitions = [.. t.Select(c => new OffsetCommitRequest.OffsetCommitRequestPartition { PartitionIndex = c.Key.Partition, CommittedOffset = c.Value })],
                    }),
                ],
            };
            OffsetCommitResponse response = await mirror.Target.Network.SendAsync<OffsetCommitRequest, OffsetCommitResponse>(coordinator, request, 8, cancellationToken).ConfigureAwait(false);
            lock (_synced)
            {
                foreach (OffsetCommitResponse.OffsetCommitResponseTopic t in response.Topics)
                {
                    foreach (OffsetCommitResponse.OffsetCommitResponsePartition p in t.Partitions)
                    {
                        if (p.ErrorCode == 0)
                        {
                            last[(t.Name, p.PartitionIndex)] = offsets[(t.Name, p.PartitionIndex)];
                        }
                        else
                        {
                            LogCommitFailed(logger, group, t.Name, p.PartitionIndex, (ErrorCode)p.ErrorCode);
                        }
                    }
                }
            }
        }
    }

    private static async Task<List<string>> ListGroupsAsync(KafkaClient client, CancellationToken cancellationToken)
    {
        ClusterMetadata metadata = await client.RefreshMetadataAsync([], cancellationToken).ConfigureAwait(false);
        var groups = new SortedSet<string>(StringComparer.Ordinal);
        foreach (KafkaNode broker in metadata.Brokers.Values)
        {
            ListGroupsResponse response = await client.Network.SendAsync<ListGroupsRequest, ListGroupsResponse>(broker, new ListGroupsRequest(), 3, cancellationToken).ConfigureAwait(false);
            if (response.ErrorCode != 0)
            {
                throw new InvalidOperationException($"ListGroups on source broker {broker.Id}: {(ErrorCode)response.ErrorCode}");
            }

            groups.UnionWith(response.Groups.Where(g => g.ProtocolType is "consumer" or "").Select(g => g.GroupId));
        }

        return [.. groups];
    }

    private static async Task<Dictionary<(string Topic, int Partition), long>> FetchOffsetsAsync(KafkaClient client, string group, CancellationToken cancellationToken)
    {
        KafkaNode coordinator = await FindCoordinatorAsync(client, group, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"the source cluster has no coordinator for group {group} yet");
        OffsetFetchResponse response = await client.Network.SendAsync<OffsetFetchRequest, OffsetFetchResponse>(coordinator,
            new OffsetFetchRequest { GroupId = group, Topics = null }, 7, cancellationToken).ConfigureAwait(false);
        if (response.ErrorCode != 0)
        {
            throw new InvalidOperationException($"OffsetFetch of group {group} on the source: {(ErrorCode)response.ErrorCode}");
        }

        var offsets = new Dictionary<(string Topic, int Partition), long>();
        foreach (OffsetFetchResponse.OffsetFetchResponseTopic t in response.Topics ?? [])
        {
            foreach (OffsetFetchResponse.OffsetFetchResponsePartition p in t.Partitions.Where(p => p.ErrorCode == 0 && p.CommittedOffset >= 0))
            {
                offsets[(t.Name, p.PartitionIndex)] = p.CommittedOffset;
            }
        }

        return offsets;
    }

    private static async Task<KafkaNode?> FindCoordinatorAsync(KafkaClient client, string group, CancellationToken cancellationToken)
    {
        ClusterMetadata metadata = client.Metadata.Brokers.Count > 0 ? client.Metadata : await client.RefreshMetadataAsync([], cancellationToken).ConfigureAwait(false);
        KafkaNode any = metadata.Brokers.Values.FirstOrDefault() ?? throw new InvalidOperationException("the cluster lists no brokers");
        FindCoordinatorResponse found = await client.Network.SendAsync<FindCoordinatorRequest, FindCoordinatorResponse>(any,
            new FindCoordinatorRequest { Key = group }, 3, cancellationToken).ConfigureAwait(false);
        return found.ErrorCode == 0 ? new KafkaNode(found.NodeId, found.Host, found.Port) : null;
    }

    private static async Task<string> GroupStateAsync(KafkaClient client, KafkaNode coordinator, string group, CancellationToken cancellationToken)
    {
        DescribeGroupsResponse response = await client.Network.SendAsync<DescribeGroupsRequest, DescribeGroupsResponse>(coordinator,
            new DescribeGroupsRequest { Groups = [group] }, 5, cancellationToken).ConfigureAwait(false);
        DescribeGroupsResponse.DescribedGroup described = response.Groups.Single();
        return described.ErrorCode == 0 ? described.GroupState : throw new InvalidOperationException($"DescribeGroups of {group} on the target: {(ErrorCode)described.ErrorCode}");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Syncing consumer-group offsets failed, retrying: {Reason}")]
    private static partial void LogSyncFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Group {Group} has members on the target (state {State}): its offsets are not synced while they are there.")]
    private static partial void LogActiveOnTarget(ILogger logger, string group, string state);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Syncing group {Group}'s offset of {Topic}-{Partition} failed: {Error}")]
    private static partial void LogCommitFailed(ILogger logger, string group, string topic, int partition, ErrorCode error);
}
