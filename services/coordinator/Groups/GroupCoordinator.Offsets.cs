using Aspire.Kafka.Protocol;

namespace Aspire.Kafka.Coordinator.Groups;

/// <summary>Offsets and group administration: OffsetCommit, OffsetFetch, OffsetDelete, ListGroups, DescribeGroups, DeleteGroups, offset expiry.</summary>
public sealed partial class GroupCoordinator
{
    /// <summary>
    /// OffsetCommit: generation and member checks as Kafka's doCommitOffsets (a negative generation
    /// on an empty or unknown group is a standalone commit), then the offsets are written with
    /// acks=all (batched with the other writes waiting for the group's partition) and only then
    /// visible to OffsetFetch. Returns an error per offset, in the order of <see cref="OffsetCommitArgs.Offsets"/>.
    /// </summary>
    public async Task<IReadOnlyList<ErrorCode>> CommitOffsetsAsync(OffsetCommitArgs commit, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(commit);
        var errors = new ErrorCode[commit.Offsets.Count];
        ErrorCode invalid = string.IsNullOrEmpty(commit.GroupId) ? Log(ErrorCode.InvalidGroupId, "OffsetCommit without a group id")
            : commit.GroupId == GroupRecords.ClaimGroupId ? Log(ErrorCode.InvalidGroupId, $"OffsetCommit for the reserved group id {GroupRecords.ClaimGroupId}")
            : ErrorCode.None;
        if (invalid != ErrorCode.None)
        {
            Array.Fill(errors, invalid);
            return errors;
        }

        Task<ErrorCode>? written = OnGroup(commit.GroupId, error =>
        {
            Array.Fill(errors, error);
            return null;
        }, partition => Commit(partition, commit, errors, nowMs));
        if (written is not null)
        {
            await written.ConfigureAwait(false);
        }

        return errors;
    }

    /// <summary>Validates and queues the commit under the partition's lock; the offsets are applied when written. Null when nothing is written.</summary>
    private Task<ErrorCode>? Commit(GroupPartition partition, OffsetCommitArgs commit, ErrorCode[] errors, long nowMs)
    {
        ErrorCode error = ValidateCommit(partition, commit, nowMs, out GroupMetadata? group);
        if (error != ErrorCode.None || group is null)
        {
            Array.Fill(errors, error);
            return null;
        }

        var pending = new List<(int Index, CommittedOffset Offset)>(commit.Offsets.Count);
        var records = new List<GroupLogRecord>(commit.Offsets.Count);
        for (int i = 0; i < commit.Offsets.Count; i++)
        {
            OffsetToCommit o = commit.Offsets[i];
            if (o.Metadata.Length > Config.OffsetMetadataMaxBytes)
            {
                errors[i] = Log(ErrorCode.OffsetMetadataTooLarge, $"OffsetCommit of {commit.GroupId} for {o.Topic}-{o.Partition}: metadata of {o.Metadata.Length} characters");
                continue;
            }

            long commitTimestamp = o.CommitTimestamp >= 0 ? o.CommitTimestamp : nowMs;
            long expire = o.RetentionMs >= 0 ? commitTimestamp + o.RetentionMs : -1;
            var offset = new CommittedOffset(o.Offset, o.LeaderEpoch, o.Metadata, commitTimestamp, expire);
            pending.Add((i, offset));
            records.Add(GroupRecords.Offset(group.GroupId, o.Topic, o.Partition, offset));
        }

        if (pending.Count == 0)
        {
            return null;
        }

        return Write(group, records, written =>
        {
            if (written == ErrorCode.None && !partition.IsCurrent(group))
            {
                written = ErrorCode.NotCoordinator;
            }

            foreach ((int index, CommittedOffset offset) in pending)
            {
                errors[index] = written;
                if (written == ErrorCode.None)
                {
                    OffsetToCommit o = commit.Offsets[index];
                    group.Offsets[(o.Topic, o.Partition)] = offset;
                    Interlocked.Increment(ref _offsetsCommitted);
                }
            }
        });
    }

    private ErrorCode ValidateCommit(GroupPartition partition, OffsetCommitArgs request, long nowMs, out GroupMetadata? group)
    {
        int generation = request.GenerationId;
        group = partition.Get(request.GroupId);
        if (group is null)
        {
            if (generation >= 0)
            {
                return Log(ErrorCode.IllegalGeneration, $"OffsetCommit of {request.GroupId} with generation {generation}: the group does not exist");
            }

            group = partition.GetOrCreate(request.GroupId, nowMs);
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

    /// <summary>
    /// OffsetFetch for one group: the requested partitions (no offset where nothing is committed) or,
    /// with <paramref name="topics"/> null, every committed offset of the group, by topic name and partition.
    /// </summary>
    public OffsetFetchResult FetchOffsets(string groupId, IReadOnlyList<(string Topic, IReadOnlyList<int> Partitions)>? topics) =>
        OnGroup(groupId, error => new OffsetFetchResult(error, []), partition =>
        {
            GroupMetadata? group = partition.Get(groupId);
            if (topics is null)
            {
                return new OffsetFetchResult(ErrorCode.None, [.. (group?.Offsets ?? [])
                    .GroupBy(o => o.Key.Topic)
                    .OrderBy(g => g.Key, StringComparer.Ordinal)
                    .Select(byTopic => new TopicOffsets(byTopic.Key, [.. byTopic.OrderBy(o => o.Key.Partition).Select(o => (o.Key.Partition, (CommittedOffset?)o.Value))]))]);
            }

            return new OffsetFetchResult(ErrorCode.None, [.. topics.Select(t =>
                new TopicOffsets(t.Topic, [.. t.Partitions.Select(p => (p, group?.Offsets.GetValueOrDefault((t.Topic, p))))]))]);
        });

    /// <summary>Every committed offset of the groups this coordinator holds, for the lag metrics (each partition read under its lock).</summary>
    public List<(string Group, string Topic, int Partition, long Offset)> CommittedOffsets()
    {
        var committed = new List<(string, string, int, long)>();
        foreach (GroupPartition partition in _manager.Partitions)
        {
            lock (partition.Gate)
            {
                foreach (GroupMetadata group in partition.Groups)
                {
                    foreach (((string topic, int index), CommittedOffset offset) in group.Offsets)
                    {
                        committed.Add((group.GroupId, topic, index, offset.Offset));
                    }
                }
            }
        }

        return committed;
    }

    /// <summary>ListGroups: the groups of the loaded partitions, filtered by state (v4+) and type (v5+); COORDINATOR_LOAD_IN_PROGRESS while a partition loads.</summary>
    public (ErrorCode Error, IReadOnlyList<GroupOverview> Groups) ListGroups(IReadOnlyCollection<string> statesFilter, IReadOnlyCollection<string> typesFilter)
    {
        ArgumentNullException.ThrowIfNull(statesFilter);
        ArgumentNullException.ThrowIfNull(typesFilter);
        var groups = new List<GroupOverview>();
        bool loading = false;
        foreach (GroupPartition partition in _manager.Partitions)
        {
            lock (partition.Gate)
            {
                loading |= partition.State == ErrorCode.CoordinatorLoadInProgress;
                groups.AddRange(partition.Groups
                    .Where(g => g.State != GroupState.Dead)
                    .Where(g => statesFilter.Count == 0 || statesFilter.Contains(g.State.ToString(), StringComparer.OrdinalIgnoreCase))
                    .Where(g => typesFilter.Count == 0 || typesFilter.Contains("classic", StringComparer.OrdinalIgnoreCase))
                    .Select(g => new GroupOverview(g.GroupId, g.ProtocolType ?? "", g.State, "classic")));
            }
        }

        groups.Sort((a, b) => string.CompareOrdinal(a.GroupId, b.GroupId));
        return (loading ? ErrorCode.CoordinatorLoadInProgress : ErrorCode.None, groups);
    }

    /// <summary>DescribeGroups for one group (an unknown group is described as Dead, as Kafka does before v6).</summary>
    public GroupDescription DescribeGroup(string groupId) =>
        OnGroup(groupId, error => GroupDescription.Failed(groupId, error), partition =>
        {
            GroupMetadata? group = partition.Get(groupId);
            if (group is null)
            {
                return new GroupDescription(groupId, ErrorCode.None, nameof(GroupState.Dead), "", "", []);
            }

            bool stable = group.State == GroupState.Stable;
            return new GroupDescription(groupId, ErrorCode.None, group.State.ToString(), group.ProtocolType ?? "", stable ? group.ProtocolName ?? "" : "",
                [.. group.MembersInOrder.Select(m => new MemberDescription(m.MemberId, m.GroupInstanceId, m.ClientId, m.ClientHost,
                    stable ? m.MetadataFor(group.ProtocolName) : [], stable ? m.Assignment : []))]);
        });

    /// <summary>DeleteGroups: an empty group's offsets and metadata are tombstoned; a group with members is NON_EMPTY_GROUP.</summary>
    public async Task<IReadOnlyList<(string GroupId, ErrorCode Error)>> DeleteGroupsAsync(IReadOnlyList<string> groupIds, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(groupIds);
        var answers = new List<Task<ErrorCode>>(groupIds.Count);
        foreach (string groupId in groupIds)
        {
            answers.Add(OnGroup(groupId, Task.FromResult, partition =>
            {
                GroupMetadata? group = partition.Get(groupId);
                if (group is null || group.State == GroupState.Dead)
                {
                    return Task.FromResult(Log(ErrorCode.GroupIdNotFound, $"DeleteGroups of {groupId}: no such group"));
                }

                if (group.State != GroupState.Empty)
                {
                    return Task.FromResult(Log(ErrorCode.NonEmptyGroup, $"DeleteGroups of {groupId}: the group has {group.Members.Count} members"));
                }

                List<GroupLogRecord> records = [.. group.Offsets.Keys.Select(k => GroupRecords.Offset(groupId, k.Topic, k.Partition, null)), GroupRecords.Group(group, tombstone: true)];
                group.TransitionTo(GroupState.Dead, nowMs);
                Task<ErrorCode> written = Write(group, records);
                partition.Remove(group);
                _logger.LogInformation("Group {Group} deleted ({Offsets} offsets).", groupId, records.Count - 1);
                return written;
            }));
        }

        ErrorCode[] errors = await Task.WhenAll(answers).ConfigureAwait(false);
        return [.. groupIds.Select((g, i) => (g, errors[i]))];
    }

    /// <summary>OffsetDelete: removes committed offsets of partitions the group does not consume (GROUP_SUBSCRIBED_TO_TOPIC otherwise).</summary>
    public async Task<OffsetDeleteResult> DeleteOffsetsAsync(string groupId, IReadOnlyList<(string Topic, IReadOnlyList<int> Partitions)> topics, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(topics);
        List<(string Topic, int Partition)> requested = [.. topics.SelectMany(t => t.Partitions.Select(p => (t.Topic, p)))];
        var errors = new ErrorCode[requested.Count];
        var deleted = new List<int>();
        Task<ErrorCode>? written = null;
        ErrorCode groupError = OnGroup(groupId, error => error, partition =>
        {
            GroupMetadata? group = partition.Get(groupId);
            if (group is null || group.State == GroupState.Dead)
            {
                return Log(ErrorCode.GroupIdNotFound, $"OffsetDelete of {groupId}: no such group");
            }

            HashSet<string>? subscribed = null;
            if (group.State != GroupState.Empty)
            {
                subscribed = group.SubscribedTopics();
                if (subscribed is null)
                {
                    return Log(ErrorCode.NonEmptyGroup, $"OffsetDelete of {groupId}: the group has members and its subscriptions are unknown");
                }
            }

            var records = new List<GroupLogRecord>();
            for (int i = 0; i < requested.Count; i++)
            {
                (string topic, int index) = requested[i];
                if (subscribed is not null && subscribed.Contains(topic))
                {
                    errors[i] = ErrorCode.GroupSubscribedToTopic;
                }
                else if (group.Offsets.Remove((topic, index)))
                {
                    records.Add(GroupRecords.Offset(groupId, topic, index, null));
                    deleted.Add(i);
                }
            }

            if (records.Count > 0)
            {
                written = Write(group, records);
            }

            return ErrorCode.None;
        });

        if (written is not null)
        {
            ErrorCode error = await written.ConfigureAwait(false);
            foreach (int i in deleted)
            {
                errors[i] = error;
            }
        }

        return new OffsetDeleteResult(groupError, [.. requested.Select((r, i) => (r.Topic, r.Partition, errors[i]))]);
    }

    /// <summary>
    /// Kafka's cleanupGroupMetadata: offsets of an empty group expire offsets.retention.minutes after
    /// it became empty, standalone commits that long after the commit, an explicit expire timestamp
    /// (OffsetCommit v2–v4 retention) when it passes; an empty group left without offsets is removed.
    /// Call under the partition's lock.
    /// </summary>
    private void CleanupExpiredOffsets(GroupPartition partition, long nowMs)
    {
        long retention = Config.OffsetsRetentionMs;
        foreach (GroupMetadata group in partition.Groups.ToList())
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

            foreach ((string topic, int index) in expired)
            {
                group.Offsets.Remove((topic, index));
            }

            List<GroupLogRecord> tombstones = [.. expired.Select(o => GroupRecords.Offset(group.GroupId, o.Topic, o.Partition, null))];

            if (expired.Count > 0)
            {
                _logger.LogInformation("Expired {Count} offsets of group {Group}.", expired.Count, group.GroupId);
            }

            if (group.State == GroupState.Empty && group.Offsets.Count == 0 && group.PendingMembers.Count == 0)
            {
                group.TransitionTo(GroupState.Dead, nowMs);
                if (group.GenerationId > 0)
                {
                    tombstones.Add(GroupRecords.Group(group, tombstone: true));
                }

                if (tombstones.Count > 0)
                {
                    WriteInBackground(group, tombstones);
                    tombstones = [];
                }

                partition.Remove(group);
            }

            if (tombstones.Count > 0)
            {
                WriteInBackground(group, tombstones);
            }
        }
    }
}
