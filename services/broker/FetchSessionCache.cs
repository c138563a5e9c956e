using Aspire.Kafka.Protocol;
using Aspire.Kafka.Storage;

namespace Aspire.Kafka.Broker;

/// <summary>One partition of a Fetch as the broker reads it (after the session filled in what the request left out).</summary>
internal sealed record FetchPartitionRequest(
    TopicPartition TopicPartition,
    KafkaUuid TopicId,
    long FetchOffset,
    int PartitionMaxBytes,
    int CurrentLeaderEpoch,
    int LastFetchedEpoch,
    long LogStartOffset);

/// <summary>What the session remembers of a partition (Kafka's CachedPartition): the last request and the last answer.</summary>
internal sealed class CachedPartition(FetchPartitionRequest request)
{
    public FetchPartitionRequest Request { get; set; } = request;

    public long HighWatermark { get; set; } = -1;

    public long LastStableOffset { get; set; } = -1;

    public long LogStartOffset { get; set; } = -1;

    /// <summary>
    /// Whether an incremental response must carry this partition: records, an error, a diverging
    /// epoch, or any offset the client tracks changed. Updates the cached answer.
    /// </summary>
    public bool MaybeUpdateResponseData(FetchPartitionResult result)
    {
        bool include = result.Error != ErrorCode.None || !result.Records.IsEmpty || result.DivergingEpoch is not null
            || result.HighWatermark != HighWatermark || result.LastStableOffset != LastStableOffset || result.LogStartOffset != LogStartOffset;
        HighWatermark = result.HighWatermark;
        LastStableOffset = result.LastStableOffset;
        LogStartOffset = result.LogStartOffset;
        return include;
    }
}

/// <summary>An incremental fetch session (KIP-227): id, next expected epoch, and its partitions in order.</summary>
internal sealed class FetchSession(int id, bool isFollower, long nowMs)
{
    public int Id { get; } = id;

    public bool IsFollower { get; } = isFollower;

    public int Epoch { get; set; } = 1;

    public long LastUsedMs { get; set; } = nowMs;

    public Lock Lock { get; } = new();

    public List<TopicPartition> Order { get; } = [];

    public Dictionary<TopicPartition, CachedPartition> Partitions { get; } = [];

    public void Upsert(FetchPartitionRequest request)
    {
        if (Partitions.TryGetValue(request.TopicPartition, out CachedPartition? cached))
        {
            cached.Request = request;
        }
        else
        {
            Partitions[request.TopicPartition] = new CachedPartition(request);
            Order.Add(request.TopicPartition);
        }
    }

    public void Remove(TopicPartition tp)
    {
        if (Partitions.Remove(tp))
        {
            Order.Remove(tp);
        }
    }
}

/// <summary>How one Fetch request is served with respect to sessions (Kafka's FetchContext).</summary>
internal sealed class FetchContext
{
    public ErrorCode Error { get; init; }

    /// <summary>The session id to put in the response (0: no session).</summary>
    public int SessionId { get; init; }

    public FetchSession? Session { get; init; }

    public bool Incremental { get; init; }

    public IReadOnlyList<FetchPartitionRequest> ToFetch { get; init; } = [];

    /// <summary>The partitions the response carries: all of them for a full fetch, the changed ones for an incremental one.</summary>
    public IReadOnlyList<FetchPartitionResult> ResponseData(IReadOnlyList<FetchPartitionResult> results)
    {
        if (Session is null)
        {
            return results;
        }

        var included = new List<FetchPartitionResult>(results.Count);
        lock (Session.Lock)
        {
            foreach (FetchPartitionResult result in results)
            {
                bool changed = !Session.Partitions.TryGetValue(result.TopicPartition, out CachedPartition? cached)
                    || cached.MaybeUpdateResponseData(result);
                if (!Incremental || changed)
                {
                    included.Add(result);
                }
            }
        }

        return included;
    }
}

/// <summary>
/// The broker's fetch sessions (Kafka's FetchSessionCache, KIP-227): full fetches with epoch 0
/// create a session, incremental fetches name only changed partitions and get only changed
/// partitions back. At most max.incremental.fetch.session.cache.slots sessions; the least
/// recently used is evicted for a new one.
/// </summary>
internal sealed class FetchSessionCache(int maxSlots, TimeProvider time)
{
    public const int InitialEpoch = 0;
    public const int FinalEpoch = -1;

    private readonly Lock _lock = new();
    private readonly Dictionary<int, FetchSession> _sessions = [];
    private int _nextId = Random.Shared.Next(1, int.MaxValue);

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _sessions.Count;
            }
        }
    }

    /// <summary>Resolves a request's session fields into the partitions to read.</summary>
    public FetchContext NewContext(int sessionId, int sessionEpoch, IReadOnlyList<FetchPartitionRequest> requested,
        IReadOnlyList<TopicPartition> forgotten, bool isFollower, bool sessionsSupported)
    {
        long now = time.GetUtcNow().ToUnixTimeMilliseconds();
        if (!sessionsSupported)
        {
            return new FetchContext { ToFetch = requested };
        }

        if (sessionEpoch == FinalEpoch)
        {
            if (sessionId != 0)
            {
                Remove(sessionId);
            }

            return new FetchContext { ToFetch = requested };
        }

        if (sessionEpoch == InitialEpoch)
        {
            if (sessionId != 0)
            {
                Remove(sessionId);
            }

            FetchSession? created = Create(isFollower, now);
            if (created is null)
            {
                return new FetchContext { ToFetch = requested };
            }

            lock (created.Lock)
            {
                foreach (FetchPartitionRequest r in requested)
                {
                    created.Upsert(r);
                }
            }

            return new FetchContext { Session = created, SessionId = created.Id, ToFetch = requested };
        }

        FetchSession? session;
        lock (_lock)
        {
            _sessions.TryGetValue(sessionId, out session);
        }

        if (session is null)
        {
            return new FetchContext { Error = ErrorCode.FetchSessionIdNotFound };
        }

        lock (session.Lock)
        {
            if (session.Epoch != sessionEpoch)
            {
                return new FetchContext { Error = ErrorCode.InvalidFetchSessionEpoch };
            }

            foreach (TopicPartition tp in forgotten)
            {
                session.Remove(tp);
            }

            foreach (FetchPartitionRequest r in requested)
            {
                session.Upsert(r);
            }

            session.Epoch = session.Epoch == int.MaxValue ? 1 : session.Epoch + 1;
            session.LastUsedMs = now;
            return new FetchContext
            {
                Session = session,
                SessionId = session.Id,
                Incremental = true,
                ToFetch = [.. session.Order.Select(tp => session.Partitions[tp].Request)],
            };
        }
    }

    private FetchSession? Create(bool isFollower, long now)
    {
        lock (_lock)
        {
            if (maxSlots <= 0)
            {
                return null;
            }

            if (_sessions.Count >= maxSlots)
            {
                // Evict the least recently used session; its client gets FETCH_SESSION_ID_NOT_FOUND and starts over.
                FetchSession oldest = _sessions.Values.MinBy(s => s.LastUsedMs)!;
                _sessions.Remove(oldest.Id);
            }

            int id;
            do
            {
                id = _nextId;
                _nextId = _nextId == int.MaxValue ? 1 : _nextId + 1;
            }
            while (_sessions.ContainsKey(id));

            var session = new FetchSession(id, isFollower, now);
            _sessions[id] = session;
            return session;
        }
    }

    private void Remove(int sessionId)
    {
        lock (_lock)
        {
            _sessions.Remove(sessionId);
        }
    }
}
