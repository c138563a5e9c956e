using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Coordinator.Groups;

/// <summary>Offsets and group administration: OffsetCommit, OffsetFetch, OffsetDelete, ListGroups, DescribeGroups, DeleteGroups, offset expiry.</summary>
public sealed partial class GroupCoordinator
{
    /// <summary>
    /// OffsetCommit: generation and member checks as Kafka's doCommitOffsets (a negative generation
    /// on an empty or unknown group is a standalone commit), then the offsets are written with
    /// acks=all and only then visible to OffsetFetch.
    /// </summary>
    public async Task<OffsetCommitResponse> CommitOffsetsAsync(OffsetCommitRequest request, short version, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(request);
        var response = new OffsetCommitResponse
        {
            Topics = [.. request.Topics.Select(t => new OffsetCommitResponse.OffsetCommitResponseTopic
            {
                Name = t.Name,
                Partitions = [.. t.Partitions.Select(p => new OffsetCommitResponse.OffsetCommitResponsePartition { PartitionIndex = p.PartitionIndex })],
            })],
        };
        var pending = new List<(OffsetCommitResponse.OffsetCommitResponsePartition Result, string Topic, CommittedOffset Offset)>();
        GroupMetadata? group;
        lock (Gate)
        {
            ErrorCode error = ValidateCommit(request, nowMs, out group);
            if (error != ErrorCode.None)
            {
                SetAll(response, error);
                return response;
            }

            for (int t = 0; t < request.Topics.Count; t++)
            {
                OffsetCommitRequest.OffsetCommitRequestTopic topic = request.Topics[t];
                for (int p = 0; p < topic.Partitions.Count; p++)
                {
                    OffsetCommitRequest.OffsetCommitRequestPartition partition = topic.Partitions[p];
                    OffsetCommitResponse.OffsetCommitResponsePartition result = response.Topics[t].Partitions[p];
                    string metadata = partition.CommittedMetadata ?? "";
                    if (metadata.Length > Config.OffsetMetadataMaxBytes)
                    {
                        result.ErrorCode = (short)Log(ErrorCode.OffsetMetadataTooLarge, $"OffsetCommit of {request.GroupId} for {topic.Name}-{partition.PartitionIndex}: metadata of {metadata.Length} characters");
                        continue;
                    }

                    long commitTimestamp = version == 1 && partition.CommitTimestamp >= 0 ? partition.CommitTimestamp : nowMs;
                    long expire = version is >= 2 and <= 4 && request.RetentionTimeMs >= 0 ? commitTimestamp + request.RetentionTimeMs : -1;
                    pending.Add((result, topic.Name, new CommittedOffset(partition.CommittedOffset, partition.CommittedLeaderEpoch, metadata, commitTimestamp, expire)));
                }
            }
        }

        if (pending.Count == 0 || group is null)
        {
            return response;
        }

        ErrorCode written = await AppendAsync(group.Partition, [.. pending.Select(x => GroupRecords.Offset(group.GroupId, x.Topic, x.Result.PartitionIndex, x.Offset))]).ConfigureAwait(false);
        lock (Gate)
        {
            if (written == ErrorCode.None && !_manager.IsCurrent(group))
            {
                written = ErrorCode.NotCoordinator;
            }

            foreach ((OffsetCommitResponse.OffsetCommitResponsePartition result, string topic, CommittedOffset offset) in pending)
            {
                result.ErrorCode = (short)written;
                if (written == ErrorCode.None)
                {
                    group.Offsets[(topic, result.PartitionIndex)] = offset;
                    Interlocked.Increment(ref _offsetsCommitted);
                }
            }
        }

        return response;
    }

    private ErrorCode ValidateCommit(OffsetCommitRequest request, long nowMs, out GroupMetadata? group)
    {
        group = null;
        if (string.IsNullOrEmpty(request.GroupId))
        {
            return Log(ErrorCode.InvalidGroupId, "OffsetCommit without a group id");
        }

        if (request.GroupId == GroupRecords.ClaimGroupId)
        {
            return Log(ErrorCode.InvalidGroupId, $"OffsetCommit for the reserved group id {GroupRecords.ClaimGroupId}");
        }

        ErrorCode ownership = _manager.CheckOwnership(request.GroupId);
        if (ownership != ErrorCode.None)
        {
            return ownership;
        }

        int generation = request.GenerationIdOrMemberEpoch;
        group = _manager.Get(request.GroupId);
        if (group is null)
        {
            if (generation >= 0)
            {
                return Log(ErrorCode.IllegalGeneration, $"OffsetCommit of {request.GroupId} with generation {generation}: the group does not exist");
            }

            group = _manager.GetOrCreate(request.GroupId, nowMs);
            return ErrorCode.None;
        }

        if (group.State == GroupState.Dead)
        {
            return ErrorCode.CoordinatorNotAvailable;
        }

        if (generation < 0 && group.State == GroupState.Empty)
        {
            return ErrorCode.None;
        }

        if (group.IsStaticMemberFenced(request.MemberId, request.GroupInstanceId))
        {
            return Log(ErrorCode.FencedInstanceId, $"OffsetCommit of {request.GroupId}: instance {request.GroupInstanceId} is now another member than {request.MemberId}");
        }

        if (!group.Members.TryGetValue(request.MemberId, out MemberMetadata? member))
        {
            return Log(ErrorCode.UnknownMemberId, $"OffsetCommit of {request.GroupId}: member '{request.MemberId}' is unknown");
        }

        if (generation != group.GenerationId)
        {
            return Log(ErrorCode.IllegalGeneration, $"OffsetCommit of {request.GroupId} by {request.MemberId}: generation {generation}, the group is at {group.GenerationId}");
        }

        if (group.State == GroupState.CompletingRebalance)
        {
            return ErrorCode.RebalanceInProgress;
        }

        member.LastHeartbeatMs = nowMs;
        return ErrorCode.None;
    }

    private static void SetAll(OffsetCommitResponse response, ErrorCode error)
    {
        foreach (OffsetCommitResponse.OffsetCommitResponsePartition p in response.Topics.SelectMany(t => t.Partitions))
        {
            p.ErrorCode = (short)error;
        }
    }

    /// <summary>
    /// OffsetFetch for one group: the requested partitions (-1 where nothing is committed) or, with
    /// <paramref name="topics"/> null, every committed offset of the group.
    /// </summary>
    public (ErrorCode Error, List<OffsetFetchResponse.OffsetFetchResponseTopics> Topics) FetchOffsets(string groupId, IReadOnlyList<(string Topic, IReadOnlyList<int> Partitions)>? topics)
    {
        lock (Gate)
        {
            ErrorCode ownership = _manager.CheckOwnership(groupId);
            if (ownership != ErrorCode.None)
            {
                return (ownership, []);
            }

            GroupMetadata? group = _manager.Get(groupId);
            var result = new List<OffsetFetchResponse.OffsetFetchResponseTopics>();
            if (topics is null)
            {
                foreach (IGrouping<string, KeyValuePair<(string Topic, int Partition), CommittedOffset>> byTopic in
                    (group?.Offsets ?? []).GroupBy(o => o.Key.Topic).OrderBy(g => g.Key, StringComparer.Ordinal))
                {
                    result.Add(new OffsetFetchResponse.OffsetFetchResponseTopics
                    {
                        Name = byTopic.Key,
                        Partitions = [.. byTopic.OrderBy(o => o.Key.Partition).Select(o => Partition(o.Key.Partition, o.Value))],
                    });
                }

                return (ErrorCode.None, result);
            }

            foreach ((string topic, IReadOnlyList<int> partitions) in topics)
            {
                result.Add(new OffsetFetchResponse.OffsetFetchResponseTopics
                {
                    Name = topic,
                    Partitions = [.. partitions.Select(p => Partition(p, group?.Offsets.GetValueOrDefault((topic, p))))],
                });
            }

            return (ErrorCode.None, result);
        }

        static OffsetFetchResponse.OffsetFetchResponsePartitions Partition(int partition, CommittedOffset? offset) => new()
        {
            PartitionIndex = partition,
            CommittedOffset = offset?.Offset ?? -1,
            CommittedLeaderEpoch = offset?.LeaderEpoch ?? -1,
            Metadata = offset?.Metadata ?? "",
        };
    }

    /// <summary>ListGroups: the groups of the loaded partitions, filtered by state (v4+) and type (v5+); COORDINATOR_LOAD_IN_PROGRESS while a partition loads.</summary>
    public (ErrorCode Error, List<ListGroupsResponse.ListedGroup> Groups) ListGroups(IReadOnlyCollection<string> statesFilter, IReadOnlyCollection<string> typesFilter)
    {
        lock (Gate)
        {
            var groups = _manager.Groups
                .Where(g => g.State != GroupState.Dead)
                .Where(g => statesFilter.Count == 0 || statesFilter.Contains(g.State.ToString(), StringComparer.OrdinalIgnoreCase))
                .Where(g => typesFilter.Count == 0 || typesFilter.Contains("classic", StringComparer.OrdinalIgnoreCase))
                .OrderBy(g => g.GroupId, StringComparer.Ordinal)
                .Select(g => new ListGroupsResponse.ListedGroup { GroupId = g.GroupId, ProtocolType = g.ProtocolType ?? "", GroupState = g.State.ToString(), GroupType = "classic" })
                .ToList();
            return (_manager.AnyLoading ? ErrorCode.CoordinatorLoadInProgress : ErrorCode.None, groups);
        }
    }

    /// <summary>DescribeGroups for one group (an unknown group is described as Dead, as Kafka does before v6).</summary>
    public DescribeGroupsResponse.DescribedGroup DescribeGroup(string groupId)
    {
        lock (Gate)
        {
            ErrorCode ownership = _manager.CheckOwnership(groupId);
            if (ownership != ErrorCode.None)
            {
                return new DescribeGroupsResponse.DescribedGroup { GroupId = groupId, ErrorCode = (short)ownership };
            }

            GroupMetadata? group = _manager.Get(groupId);
            if (group is null)
            {
                return new DescribeGroupsResponse.DescribedGroup { GroupId = groupId, GroupState = nameof(GroupState.Dead) };
            }

            bool stable = group.State == GroupState.Stable;
            return new DescribeGroupsResponse.DescribedGroup
            {
                GroupId = groupId,
                GroupState = group.State.ToString(),
                ProtocolType = group.ProtocolType ?? "",
                ProtocolData = stable ? group.ProtocolName ?? "" : "",
                Members = [.. group.MembersInOrder.Select(m => new DescribeGroupsResponse.DescribedGroupMember
                {
                    MemberId = m.MemberId,
                    GroupInstanceId = m.GroupInstanceId,
                    ClientId = m.ClientId,
                    ClientHost = m.ClientHost,
                    MemberMetadata = stable ? m.MetadataFor(group.ProtocolName) : [],
                    MemberAssignment = stable ? m.Assignment : [],
                })],
            };
        }
    }

    /// <summary>DeleteGroups: an empty group's offsets and metadata are tombstoned; a group with members is NON_EMPTY_GROUP.</summary>
    public async Task<List<DeleteGroupsResponse.DeletableGroupResult>> DeleteGroupsAsync(IReadOnlyList<string> groupIds, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(groupIds);
        var results = new List<DeleteGroupsResponse.DeletableGroupResult>();
        var writes = new List<(DeleteGroupsResponse.DeletableGroupResult Result, int Partition, List<GroupLogRecord> Records)>();
        lock (Gate)
        {
            foreach (string groupId in groupIds)
            {
                var result = new DeleteGroupsResponse.DeletableGroupResult { GroupId = groupId };
                results.Add(result);
                ErrorCode ownership = _manager.CheckOwnership(groupId);
                GroupMetadata? group = ownership == ErrorCode.None ? _manager.Get(groupId) : null;
                if (ownership != ErrorCode.None)
                {
                    result.ErrorCode = (short)ownership;
                }
                else if (group is null || group.State == GroupState.Dead)
                {
                    result.ErrorCode = (short)Log(ErrorCode.GroupIdNotFound, $"DeleteGroups of {groupId}: no such group");
                }
                else if (group.State != GroupState.Empty)
                {
                    result.ErrorCode = (short)Log(ErrorCode.NonEmptyGroup, $"DeleteGroups of {groupId}: the group has {group.Members.Count} members");
                }
                else
                {
                    List<GroupLogRecord> records = [.. group.Offsets.Keys.Select(k => GroupRecords.Offset(groupId, k.Topic, k.Partition, null)), GroupRecords.Group(group, tombstone: true)];
                    group.TransitionTo(GroupState.Dead, nowMs);
                    _manager.RemoveGroup(group);
                    writes.Add((result, group.Partition, records));
                    _logger.LogInformation("Group {Group} deleted ({Offsets} offsets).", groupId, records.Count - 1);
                }
            }
        }

        foreach ((DeleteGroupsResponse.DeletableGroupResult result, int partition, List<GroupLogRecord> records) in writes)
        {
            result.ErrorCode = (short)await AppendAsync(partition, records).ConfigureAwait(false);
        }

        return results;
    }

    /// <summary>OffsetDelete: removes committed offsets of partitions the group does not consume (GROUP_SUBSCRIBED_TO_TOPIC otherwise).</summary>
    public async Task<OffsetDeleteResponse> DeleteOffsetsAsync(OffsetDeleteRequest request, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(request);
        var response = new OffsetDeleteResponse
        {
            Topics = [.. request.Topics.Select(t => new OffsetDeleteResponse.OffsetDeleteResponseTopic
            {
                Name = t.Name,
                Partitions = [.. t.Partitions.Select(p => new OffsetDeleteResponse.OffsetDeleteResponsePartition { PartitionIndex = p.PartitionIndex })],
            })],
        };
        var deleted = new List<OffsetDeleteResponse.OffsetDeleteResponsePartition>();
        var records = new List<GroupLogRecord>();
        GroupMetadata? group;
        lock (Gate)
        {
            ErrorCode ownership = _manager.CheckOwnership(request.GroupId);
            if (ownership != ErrorCode.None)
            {
                response.ErrorCode = (short)ownership;
                return response;
            }

            group = _manager.Get(request.GroupId);
            if (group is null || group.State == GroupState.Dead)
            {
                response.ErrorCode = (short)Log(ErrorCode.GroupIdNotFound, $"OffsetDelete of {request.GroupId}: no such group");
                return response;
            }

            HashSet<string>? subscribed = null;
            if (group.State != GroupState.Empty)
            {
                subscribed = group.SubscribedTopics();
                if (subscribed is null)
                {
                    response.ErrorCode = (short)Log(ErrorCode.NonEmptyGroup, $"OffsetDelete of {request.GroupId}: the group has members and its subscriptions are unknown");
                    return response;
                }
            }

            foreach (OffsetDeleteResponse.OffsetDeleteResponseTopic topic in response.Topics)
            {
                foreach (OffsetDeleteResponse.OffsetDeleteResponsePartition partition in topic.Partitions)
                {
                    if (subscribed is not null && subscribed.Contains(topic.Name))
                    {
                        partition.ErrorCode = (short)ErrorCode.GroupSubscribedToTopic;
                    }
                    else if (group.Offsets.Remove((topic.Name, partition.PartitionIndex)))
                    {
                        records.Add(GroupRecords.Offset(group.GroupId, topic.Name, partition.PartitionIndex, null));
                        deleted.Add(partition);
                    }
                }
            }
        }

        if (records.Count > 0)
        {
            ErrorCode error = await AppendAsync(group.Partition, records).ConfigureAwait(false);
            foreach (OffsetDeleteResponse.OffsetDeleteResponsePartition p in deleted)
            {
                p.ErrorCode = (short)error;
            }
        }

        return response;
    }

    /// <summary>
    /// Kafka's cleanupGroupMetadata: offsets of an empty group expire offsets.retention.minutes after
    /// it became empty, standalone commits that long after the commit, an explicit expire timestamp
    /// (OffsetCommit v2–v4 retention) when it passes; an empty group left without offsets is removed.
    /// Call under the lock.
    /// </summary>
    private void CleanupExpiredOffsets(long nowMs)
    {
        long retention = Config.OffsetsRetentionMs;
        foreach (GroupMetadata group in _manager.Groups)
        {
            if (group.State == GroupState.Dead)
            {
                continue;
            }

            HashSet<string>? subscribed = group.State == GroupState.Empty ? null : group.SubscribedTopics();
            List<(string Topic, int Partition)> expired = [];
            foreach (KeyValuePair<(string Topic, int Partition), CommittedOffset> o in group.Offsets)
            {
                bool due;
                if (o.Value.ExpireTimestamp >= 0)
                {
                    due = o.Value.ExpireTimestamp <= nowMs && (group.State == GroupState.Empty || group.ProtocolType is null);
                }
                else if (group.ProtocolType is null)
                {
                    due = o.Value.CommitTimestamp + retention <= nowMs;
                }
                else if (group.State == GroupState.Empty)
                {
                    due = group.CurrentStateTimestamp + retention <= nowMs;
                }
                else
                {
                    due = subscribed is not null && !subscribed.Contains(o.Key.Topic) && o.Value.CommitTimestamp + retention <= nowMs;
                }

                if (due)
                {
                    expired.Add(o.Key);
                }
            }

            foreach ((string topic, int partition) in expired)
            {
                group.Offsets.Remove((topic, partition));
                Defer(group.Partition, GroupRecords.Offset(group.GroupId, topic, partition, null));
            }

            if (expired.Count > 0)
            {
                _logger.LogInformation("Expired {Count} offsets of group {Group}.", expired.Count, group.GroupId);
            }

            if (group.State == GroupState.Empty && group.Offsets.Count == 0 && group.PendingMembers.Count == 0)
            {
                group.TransitionTo(GroupState.Dead, nowMs);
                _manager.RemoveGroup(group);
                if (group.GenerationId > 0)
                {
                    Defer(group.Partition, GroupRecords.Group(group, tombstone: true));
                }
            }
        }
    }
}
