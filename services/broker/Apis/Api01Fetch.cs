using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;
using Aspire.Kafka.Storage;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Broker.Apis;

/// <summary>
/// Fetch (key 1): v4–v16, long poll, fetch sessions (v7+), topic ids (v13+), consumers and
/// follower replicas (replica id in the body up to v14, in ReplicaState from v15).
/// <list type="bullet">
/// <item>Topics are named (v4–12) or identified (v13+: an unknown id answers UNKNOWN_TOPIC_ID for
/// that partition). The fetch session (KIP-227) decides which partitions are read and which appear
/// in the answer; a session error answers the whole request with that error and nothing else.</item>
/// <item>A consumer's max.bytes is capped by fetch.max.bytes; a follower's is not.</item>
/// <item>The records found stay in the segment files: on the wire they are spliced into the
/// response and read from the page cache straight into the socket's buffers when it is sent
/// (no managed copy). A partition at its end answers an empty record set, never null (librdkafka
/// refuses size -1).</item>
/// <item>v12+: a follower whose last fetched epoch diverges gets the diverging epoch and its end
/// offset; NOT_LEADER_OR_FOLLOWER and FENCED_LEADER_EPOCH carry the current leader, and v16 the
/// endpoints of the leaders named.</item>
/// </list>
/// </summary>
public sealed class FetchApi(ReplicaManager replicaManager, ILogger<FetchApi> logger) : KafkaApi<FetchRequest, FetchResponse>
{
    public override VersionRange SupportedVersions { get; } = new(4, 16);

    protected override async ValueTask<FetchResponse?> HandleAsync(RequestContext context, FetchRequest request, CancellationToken cancellationToken) =>
        await HandleAsync(request, context.ApiVersion, context.Connection.ListenerName, spliceRecords: true, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Answers <paramref name="request"/> at <paramref name="version"/>. With
    /// <paramref name="spliceRecords"/> the records are <see cref="SplicedBytes"/> over the segment
    /// files (valid while the segments' handles are, i.e. to send now); otherwise they are read into
    /// arrays the caller may keep.
    /// </summary>
    internal async ValueTask<FetchResponse> HandleAsync(FetchRequest request, short version, string? listenerName, bool spliceRecords, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        int replicaId = version >= 15 ? request.ReplicaState.ReplicaId : request.ReplicaId;
        var response = new FetchResponse();
        var requested = new List<FetchPartitionRequest>();
        var unknownIds = new List<FetchPartitionResult>();
        foreach (FetchRequest.FetchTopic topic in request.Topics)
        {
            string? name = version >= 13 ? replicaManager.Image.Topics.GetTopic(topic.TopicId)?.Name : topic.Topic;
            foreach (FetchRequest.FetchPartition p in topic.Partitions)
            {
                if (name is null)
                {
                    unknownIds.Add(new FetchPartitionResult(new TopicPartition("", p.Partition), topic.TopicId) { Error = ErrorCode.UnknownTopicId });
                    continue;
                }

                requested.Add(new FetchPartitionRequest(new TopicPartition(name, p.Partition), version >= 13 ? topic.TopicId : default,
                    p.FetchOffset, p.PartitionMaxBytes, p.CurrentLeaderEpoch, p.LastFetchedEpoch, p.LogStartOffset));
            }
        }

        var forgotten = new List<TopicPartition>();
        foreach (FetchRequest.ForgottenTopic f in request.ForgottenTopicsData)
        {
            string? name = version >= 13 ? replicaManager.Image.Topics.GetTopic(f.TopicId)?.Name : f.Topic;
            if (name is not null)
            {
                forgotten.AddRange(f.Partitions.Select(p => new TopicPartition(name, p)));
            }
        }

        FetchContext context = replicaManager.FetchSessions.NewContext(request.SessionId, request.SessionEpoch, requested, forgotten, replicaId >= 0,
            sessionsSupported: version >= 7);
        if (context.Error != ErrorCode.None)
        {
            logger.LogDebug("Fetch session {Session} epoch {Epoch}: {Error}.", request.SessionId, request.SessionEpoch, context.Error);
            response.ErrorCode = (short)context.Error;
            return response;
        }

        int maxBytes = replicaId >= 0 ? request.MaxBytes : Math.Min(request.MaxBytes, replicaManager.Settings.FetchMaxBytes);
        var fetchParams = new FetchParams(replicaId, request.MaxWaitMs, request.MinBytes, maxBytes, request.IsolationLevel, version, listenerName);
        IReadOnlyList<FetchPartitionResult> results = await replicaManager.FetchMessagesAsync(fetchParams, context.ToFetch, cancellationToken).ConfigureAwait(false);

        response.SessionId = context.SessionId;
        var hintNodes = new HashSet<int>();
        foreach (FetchPartitionResult r in context.ResponseData(results).Concat(unknownIds))
        {
            FetchResponse.FetchableTopicResponse? topic = response.Responses.Count > 0 && response.Responses[^1].Topic == r.TopicPartition.Topic
                && response.Responses[^1].TopicId == (version >= 13 ? r.TopicId : default)
                ? response.Responses[^1]
                : null;
            if (topic is null)
            {
                topic = version >= 13
                    ? new FetchResponse.FetchableTopicResponse { TopicId = r.TopicId }
                    : new FetchResponse.FetchableTopicResponse { Topic = r.TopicPartition.Topic };
                response.Responses.Add(topic);
            }

            var data = new FetchResponse.PartitionData
            {
                PartitionIndex = r.TopicPartition.Partition,
                ErrorCode = (short)r.Error,
                HighWatermark = r.HighWatermark,
                LastStableOffset = r.LastStableOffset,
                LogStartOffset = version >= 5 ? r.LogStartOffset : -1,
                Records = Records(r, spliceRecords, out ErrorCode readError),
            };
            if (readError != ErrorCode.None)
            {
                data.ErrorCode = (short)readError;
            }
            else if (!r.Records.IsEmpty)
            {
                replicaManager.Metrics.BytesOut(r.TopicPartition.Topic, r.Records.Length, toFollower: replicaId >= 0);
            }

            if (version >= 12 && r.DivergingEpoch is { } diverging)
            {
                data.DivergingEpoch = new FetchResponse.EpochEndOffset { Epoch = diverging.Epoch, EndOffset = diverging.EndOffset };
            }

            if (version >= 12 && r.Error is ErrorCode.NotLeaderOrFollower or ErrorCode.FencedLeaderEpoch)
            {
                (int leaderId, int leaderEpoch) = replicaManager.LeaderHint(r.TopicPartition);
                data.CurrentLeader = new FetchResponse.LeaderIdAndEpoch { LeaderId = leaderId, LeaderEpoch = leaderEpoch };
                if (leaderId >= 0)
                {
                    hintNodes.Add(leaderId);
                }
            }

            topic.Partitions.Add(data);
            if (data.ErrorCode != (short)ErrorCode.None)
            {
                replicaManager.Metrics.Error("Fetch", (ErrorCode)data.ErrorCode);
            }
        }

        if (version >= 16)
        {
            foreach (int id in hintNodes.Order())
            {
                if (replicaManager.EndpointOf(id, listenerName) is { } e)
                {
                    response.NodeEndpoints.Add(new FetchResponse.NodeEndpoint { NodeId = id, Host = e.Host, Port = e.Port, Rack = replicaManager.Image.Cluster.Broker(id)?.Rack });
                }
            }
        }

        return response;
    }

    /// <summary>
    /// The partition's records for the response: spliced from the file, or read into an array. A
    /// read that fails (the segment went away since the read found the range) answers
    /// KAFKA_STORAGE_ERROR for this partition only; the rest of the response stands.
    /// </summary>
    private ReadOnlyMemory<byte> Records(FetchPartitionResult result, bool splice, out ErrorCode error)
    {
        error = ErrorCode.None;
        if (result.Records.IsEmpty)
        {
            return ReadOnlyMemory<byte>.Empty;
        }

        if (splice)
        {
            return result.Records.AsSplicedMemory();
        }

        try
        {
            return result.Records.ToArray();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            logger.LogWarning("Reading {Partition} for a fetch response failed: {Message}", result.TopicPartition, e.Message);
            error = ErrorCode.KafkaStorageError;
            return ReadOnlyMemory<byte>.Empty;
        }
    }
}
