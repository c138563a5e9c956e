using Aspire.Kafka.Client;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Tools.ConsumerGroups;

/// <summary>One row of <c>--describe</c>: a partition the group commits to or is assigned.</summary>
public sealed record LagRow(string Group, string Topic, int Partition, long? CurrentOffset, long? LogEndOffset, string ConsumerId, string Host, string ClientId)
{
    public long? Lag => CurrentOffset is { } c && LogEndOffset is { } e ? Math.Max(0, e - c) : null;
}

/// <summary>A member of a described group.</summary>
public sealed record GroupMember(string MemberId, string? GroupInstanceId, string ClientId, string Host, IReadOnlyList<(string Topic, int Partition)> Assignment);

/// <summary>The group operations of kafka-consumer-groups over libs/Client: ListGroups on every node, FindCoordinator, DescribeGroups, OffsetFetch, ListOffsets.</summary>
public sealed class GroupAdmin(KafkaClient client) 
{
    public async Task<IReadOnlyList<ListGroupsResponse.ListedGroup>> ListGroupsAsync(CancellationToken cancellationToken)
    {
        ClusterMetadata metadata = await client.RefreshMetadataAsync([], cancellationToken).ConfigureAwait(false);
        var groups = new SortedDictionary<string, ListGroupsResponse.ListedGroup>(StringComparer.Ordinal);
        foreach (KafkaNode node in metadata.Brokers.Values)
        {
            ListGroupsResponse response = await client.Network.SendAsync<ListGroupsRequest, ListGroupsResponse>(node, new ListGroupsRequest(), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (response.ErrorCode != 0)
            {
                throw new KafkaErrorException((ErrorCode)response.ErrorCode, $"ListGroups on node {node.Id}", null, -1);
            }

            foreach (ListGroupsResponse.ListedGroup g in response.Groups)
            {
                groups[g.GroupId] = g;
            }
        }

        return [.. groups.Values];
    }

    public async Task<KafkaNode> FindCoordinatorAsync(string group, CancellationToken cancellationToken)
    {
        ClusterMetadata metadata = await client.RefreshMetadataAsync([], cancellationToken).ConfigureAwait(false);
        KafkaNode any = metadata.Brokers.Values.FirstOrDefault() ?? throw new InvalidOperationException("The cluster lists no nodes.");
        for (int attempt = 0; ; attempt++)
        {
            FindCoordinatorResponse response = await client.Network.SendAsync<FindCoordinatorRequest, FindCoordinatorResponse>(any,
                new FindCoordinatorRequest { Key = group }, version: 3, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (response.ErrorCode == 0)
            {
                return new KafkaNode(response.NodeId, response.Host, response.Port);
            }

            if (attempt >= 20 || (ErrorCode)response.ErrorCode is not (ErrorCode.CoordinatorNotAvailable or ErrorCode.CoordinatorLoadInProgress))
            {
                throw new KafkaErrorException((ErrorCode)response.ErrorCode, $"FindCoordinator for group {group}: {response.ErrorMessage}", null, -1);
            }

            await Task.Delay(250, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>State and members of a group (members' assignments decoded from the consumer protocol).</summary>
    public async Task<(string State, string Protocol, IReadOnlyList<GroupMember> Members)> DescribeAsync(KafkaNode coordinator, string group, CancellationToken cancellationToken)
    {
        DescribeGroupsResponse response = await client.Network.SendAsync<DescribeGroupsRequest, DescribeGroupsResponse>(coordinator,
            new DescribeGroupsRequest { Groups = [group] }, cancellationToken: cancellationToken).ConfigureAwait(false);
        DescribeGroupsResponse.DescribedGroup g = response.Groups.Single();
        if (g.ErrorCode != 0)
        {
            throw new KafkaErrorException((ErrorCode)g.ErrorCode, $"DescribeGroups of {group}", null, -1);
        }

        return (g.GroupState, g.ProtocolData, [.. g.Members.Select(m => new GroupMember(m.MemberId, m.GroupInstanceId, m.ClientId, m.ClientHost,
            g.ProtocolType == "consumer" ? ReadAssignment(m.MemberAssignment) : []))]);
    }

    /// <summary>Committed offsets of every partition of the group (OffsetFetch with all topics).</summary>
    public async Task<IReadOnlyDictionary<(string Topic, int Partition), long>> CommittedAsync(KafkaNode coordinator, string group, CancellationToken cancellationToken)
    {
        OffsetFetchResponse response = await client.Network.SendAsync<OffsetFetchRequest, OffsetFetchResponse>(coordinator,
            new OffsetFetchRequest { GroupId = group, Topics = null }, version: 7, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (response.ErrorCode != 0)
        {
            throw new KafkaErrorException((ErrorCode)response.ErrorCode, $"OffsetFetch of {group}", null, -1);
        }

        return response.Topics.SelectMany(t => t.Partitions.Where(p => p.CommittedOffset >= 0).Select(p => (t.Name, p.PartitionIndex, p.CommittedOffset)))
            .ToDictionary(x => (x.Name, x.PartitionIndex), x => x.CommittedOffset);
    }

    /// <summary>The --describe rows: every committed or assigned partition with its log end offset and lag.</summary>
    public async Task<(string State, IReadOnlyList<LagRow> Rows)> DescribeLagAsync(string group, CancellationToken cancellationToken)
    {
        KafkaNode coordinator = await FindCoordinatorAsync(group, cancellationToken).ConfigureAwait(false);
        (string state, _, IReadOnlyList<GroupMember> members) = await DescribeAsync(coordinator, group, cancellationToken).ConfigureAwait(false);
        IReadOnlyDictionary<(string Topic, int Partition), long> committed = await CommittedAsync(coordinator, group, cancellationToken).ConfigureAwait(false);
        var owner = new Dictionary<(string, int), GroupMember>();
        foreach (GroupMember m in members)
        {
            foreach ((string Topic, int Partition) tp in m.Assignment)
            {
                owner[tp] = m;
            }
        }

        var rows = new List<LagRow>();
        foreach ((string topic, int partition) in committed.Keys.Union(owner.Keys).Distinct().OrderBy(k => k.Item1, StringComparer.Ordinal).ThenBy(k => k.Item2))
        {
            long? end = null;
            try
            {
                end = (await client.ListOffsetsAsync(topic, partition, OffsetSpec.Latest, cancellationToken).ConfigureAwait(false)).Offset;
            }
            catch (KafkaClientException)
            {
                // A deleted topic or an unavailable leader: the row shows "-".
            }

            GroupMember? m = owner.GetValueOrDefault((topic, partition));
            rows.Add(new LagRow(group, topic, partition, committed.TryGetValue((topic, partition), out long c) ? c : null, end,
                m?.MemberId ?? "-", m?.Host ?? "-", m?.ClientId ?? "-"));
        }

        return (state, rows);
    }

    /// <summary>ConsumerProtocolAssignment: int16 version, [topic, [partition]], user data.</summary>
    public static IReadOnlyList<(string Topic, int Partition)> ReadAssignment(byte[] bytes)
    {
        if (bytes.Length < 2)
        {
            return [];
        }

        try
        {
            var reader = new KafkaReader(bytes);
            reader.ReadInt16();
            int topics = reader.ReadInt32();
            var result = new List<(string, int)>();
            for (int t = 0; t < topics; t++)
            {
                string topic = reader.ReadString("topic", nullable: false)!;
                int partitions = reader.ReadInt32();
                for (int p = 0; p < partitions; p++)
                {
                    result.Add((topic, reader.ReadInt32()));
                }
            }

            return result;
        }
        catch (KafkaProtocolException)
        {
            return [];
        }
    }
}
