using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Storage;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Broker;

/// <summary>One partition's answer to a Fetch, before it becomes a response entry.</summary>
internal sealed class FetchPartitionResult(TopicPartition topicPartition, KafkaUuid topicId)
{
    public TopicPartition TopicPartition { get; } = topicPartition;

    public KafkaUuid TopicId { get; } = topicId;

    public ErrorCode Error { get; set; }

    public long HighWatermark { get; set; } = -1;

    public long LastStableOffset { get; set; } = -1;

    public long LogStartOffset { get; set; } = -1;

    /// <summary>The batches found, still in the segment file: read into the response only when it is built.</summary>
    public FileRecords Records { get; set; } = FileRecords.Empty;

    public (int Epoch, long EndOffset)? DivergingEpoch { get; set; }

    public LogOffsetMetadata? FetchOffsetMetadata { get; set; }
}

/// <summary>What one read over the requested partitions produced.</summary>
internal sealed record LocalReadResult(IReadOnlyList<FetchPartitionResult> Results, long BytesRead, bool AnyError, bool AnyDiverging);

public sealed partial class ReplicaManager
{
    /// <summary>
    /// Fetch v4+ (Kafka's handleFetchRequest + fetchMessages): resolves the fetch session, reads
    /// what is there, and if that is less than min.bytes waits up to max.wait.ms in the fetch
    /// purgatory. Consumers read up to the high watermark, followers (replica id ≥ 0) up to the log
    /// end, which also records their progress for the high watermark and the ISR.
    /// The records are read from the segment files once, when the response is built, into one
    /// buffer rented from the shared pool; <paramref name="keepUntilWritten"/> receives it and
    /// disposes it after the response is on the wire (null: a plain array, for callers that keep it).
    /// </summary>
    public async ValueTask<FetchResponse> HandleFetchAsync(FetchRequest request, short version, string? listenerName, CancellationToken cancellationToken,
        Action<IDisposable>? keepUntilWritten = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        int replicaId = version >= 15 ? request.ReplicaState.ReplicaId : request.ReplicaId;
        var response = new FetchResponse();
        var requested = new List<FetchPartitionRequest>();
        var unknownIds = new List<FetchPartitionResult>();
        foreach (FetchRequest.FetchTopic topic in request.Topics)
        {
            string? name = version >= 13 ? Image.Topics.GetTopic(topic.TopicId)?.Name : topic.Topic;
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
            string? name = version >= 13 ? Image.Topics.GetTopic(f.TopicId)?.Name : f.Topic;
            if (name is not null)
            {
                forgotten.AddRange(f.Partitions.Select(p => new TopicPartition(name, p)));
            }
        }

        FetchContext context = FetchSessions.NewContext(request.SessionId, request.SessionEpoch, requested, forgotten, replicaId >= 0, sessionsSupported: version >= 7);
        if (context.Error != ErrorCode.None)
        {
            _logger.LogDebug("Fetch session {Session} epoch {Epoch}: {Error}.", request.SessionId, request.SessionEpoch, context.Error);
            response.ErrorCode = (short)context.Error;
            return response;
        }

        int maxBytes = replicaId >= 0 ? request.MaxBytes : Math.Min(request.MaxBytes, Settings.FetchMaxBytes);
        var fetchParams = new FetchParams(replicaId, request.MaxWaitMs, request.MinBytes, maxBytes, request.IsolationLevel, version, listenerName);
        LocalReadResult read = ReadFromLocalLog(fetchParams, context.ToFetch, updateFollowerState: replicaId >= 0);
        IReadOnlyList<FetchPartitionResult> results = read.Results;
        if (fetchParams.MaxWaitMs > 0 && context.ToFetch.Count > 0 && read.BytesRead < Math.Max(1, fetchParams.MinBytes) && !read.AnyError && !read.AnyDiverging)
        {
            var offsets = read.Results.Where(r => r.FetchOffsetMetadata is not null).ToDictionary(r => r.TopicPartition, r => r.FetchOffsetMetadata!);
            var delayed = new DelayedFetch(this, fetchParams, context.ToFetch, offsets);
            bool completed = FetchPurgatory.TryCompleteElseWatch(delayed, [.. context.ToFetch.Select(p => p.TopicPartition).Distinct()], TimeSpan.FromMilliseconds(fetchParams.MaxWaitMs));
            using CancellationTokenRegistration registration = completed ? default : cancellationToken.Register(static d => ((DelayedFetch)d!).ForceComplete(), delayed);
            results = await delayed.Result.ConfigureAwait(false);
        }

        response.SessionId = context.SessionId;
        IReadOnlyList<FetchPartitionResult> included = context.ResponseData(results);
        Memory<byte> recordBytes = RentRecordBuffer(included, fromFollower: replicaId >= 0, keepUntilWritten);
        var hintNodes = new HashSet<int>();
        foreach (FetchPartitionResult r in included.Concat(unknownIds))
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
                Records = ReadOnlyMemory<byte>.Empty, // librdkafka refuses a null record set (size -1)
            };
            if (!r.Records.IsEmpty)
            {
                int length = r.Records.Length;
                try
                {
                    r.Records.ReadInto(recordBytes.Span);
                    data.Records = recordBytes[..length];
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException)
                {
                    // The segment went away (deleted, truncated) since the read found the range: this
                    // partition answers a retriable error, the rest of the response stands.
                    _logger.LogWarning("Reading {Partition} for a fetch response failed: {Message}", r.TopicPartition, e.Message);
                    data.ErrorCode = (short)ErrorCode.KafkaStorageError;
                }

                recordBytes = recordBytes[length..];
            }

            if (version >= 12 && r.DivergingEpoch is { } diverging)
            {
                data.DivergingEpoch = new FetchResponse.EpochEndOffset { Epoch = diverging.Epoch, EndOffset = diverging.EndOffset };
            }

            if (version >= 12 && r.Error is ErrorCode.NotLeaderOrFollower or ErrorCode.FencedLeaderEpoch)
            {
                (int leaderId, int leaderEpoch) = LeaderHint(r.TopicPartition);
                data.CurrentLeader = new FetchResponse.LeaderIdAndEpoch { LeaderId = leaderId, LeaderEpoch = leaderEpoch };
                if (leaderId >= 0)
                {
                    hintNodes.Add(leaderId);
                }
            }

            topic.Partitions.Add(data);
            if (r.Error != ErrorCode.None)
            {
                Metrics.Error("Fetch", r.Error);
            }
        }

        if (version >= 16)
        {
            foreach (int id in hintNodes.Order())
            {
                if (EndpointOf(id, listenerName) is { } e)
                {
                    response.NodeEndpoints.Add(new FetchResponse.NodeEndpoint { NodeId = id, Host = e.Host, Port = e.Port, Rack = Image.Cluster.Broker(id)?.Rack });
                }
            }
        }

        return response;
    }

    private Memory<byte> RentRecordBuffer(IReadOnlyList<FetchPartitionResult> included, bool fromFollower, Action<IDisposable>? keepUntilWritten)
    {
        int total = 0;
        foreach (FetchPartitionResult r in included)
        {
            total += r.Records.Length;
        }

        if (total == 0)
        {
            return Memory<byte>.Empty;
        }

        foreach (FetchPartitionResult r in included)
        {
            if (r.Records.Length > 0)
            {
                Metrics.BytesOut(r.TopicPartition.Topic, r.Records.Length, fromFollower);
            }
        }

        if (keepUntilWritten is null)
        {
            return new byte[total];
        }

        var rented = new RentedBuffer(total);
        keepUntilWritten(rented);
        return rented.Memory;
    }

    /// <summary>
    /// Reads each partition (Kafka's readFromLocalLog): at most the response's max bytes in total
    /// and each partition's max bytes, but always the first whole batch of the first partition
    /// that has data.
    /// </summary>
    internal LocalReadResult ReadFromLocalLog(FetchParams fetchParams, IReadOnlyList<FetchPartitionRequest> partitions, bool updateFollowerState)
    {
        var results = new List<FetchPartitionResult>(partitions.Count);
        long bytesRead = 0;
        int remaining = fetchParams.MaxBytes;
        bool anyError = false;
        bool anyDiverging = false;
        long now = NowMs;
        foreach (FetchPartitionRequest request in partitions)
        {
            var result = new FetchPartitionResult(request.TopicPartition, request.TopicId);
            results.Add(result);
            ErrorCode check = CheckLeader(request.TopicPartition, request.CurrentLeaderEpoch, out Partition? partition);
            if (check != ErrorCode.None || partition is null)
            {
                result.Error = check;
                anyError = true;
                continue;
            }

            UnifiedLog log = partition.Log;
            try
            {
                if (fetchParams.IsFromFollower && request.LastFetchedEpoch >= 0)
                {
                    (int epoch, long endOffset) = log.LeaderEpochCache.EndOffsetFor(request.LastFetchedEpoch, log.LogEndOffset);
                    if (epoch != request.LastFetchedEpoch || endOffset < request.FetchOffset)
                    {
                        result.DivergingEpoch = (epoch, endOffset);
                        result.HighWatermark = log.HighWatermark;
                        result.LastStableOffset = log.HighWatermark;
                        result.LogStartOffset = log.LogStartOffset;
                        anyDiverging = true;
                        continue;
                    }
                }

                if (updateFollowerState && fetchParams.IsFromFollower)
                {
                    (bool hwIncreased, IReadOnlyList<int>? expandTo) = partition.UpdateFollowerFetchState(fetchParams.ReplicaId, request.FetchOffset, now);
                    if (hwIncreased)
                    {
                        ProducePurgatory.CheckAndComplete(request.TopicPartition);
                        FetchPurgatory.CheckAndComplete(request.TopicPartition);
                    }

                    if (expandTo is not null)
                    {
                        _logger.LogInformation("Expanding the ISR of {Partition} to [{Isr}]: replica {Replica} caught up.",
                            request.TopicPartition, string.Join(',', expandTo), fetchParams.ReplicaId);
                        Metrics.IsrExpands.Add(1);
                        AlterPartitionManager.Submit(partition, expandTo);
                    }
                }

                long highWatermark = log.HighWatermark;
                long? maxOffset = fetchParams.IsFromFollower ? null : highWatermark;
                int limit = Math.Max(0, Math.Min(request.PartitionMaxBytes, remaining));
                FetchDataInfo info = log.Read(request.FetchOffset, limit, maxOffset, minOneMessage: bytesRead == 0);
                result.FetchOffsetMetadata = info.FetchOffsetMetadata;
                result.HighWatermark = highWatermark;
                result.LastStableOffset = highWatermark;
                result.LogStartOffset = log.LogStartOffset;
                if (!info.Records.IsEmpty)
                {
                    result.Records = info.Records;
                    bytesRead += info.Records.Length;
                    remaining = Math.Max(0, remaining - info.Records.Length);
                }
            }
            catch (OffsetOutOfRangeException e)
            {
                _logger.LogDebug("Fetch from {Partition}: {Message}", request.TopicPartition, e.Message);
                result.Error = ErrorCode.OffsetOutOfRange;
                result.HighWatermark = log.HighWatermark;
                result.LastStableOffset = log.HighWatermark;
                result.LogStartOffset = log.LogStartOffset;
                anyError = true;
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or KafkaStorageException)
            {
                _logger.LogError(e, "Reading {Partition} failed: {Message}", request.TopicPartition, e.Message);
                result.Error = ErrorCode.KafkaStorageError;
                anyError = true;
            }
        }

        return new LocalReadResult(results, bytesRead, anyError, anyDiverging);
    }
}

/// <summary>A buffer from the shared array pool, given back when disposed.</summary>
internal sealed class RentedBuffer(int length) : IDisposable
{
    private byte[]? _array = System.Buffers.ArrayPool<byte>.Shared.Rent(length);

    public Memory<byte> Memory => _array is { } a ? a.AsMemory(0, length) : throw new ObjectDisposedException(nameof(RentedBuffer));

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _array, null) is { } a)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(a);
        }
    }
}
