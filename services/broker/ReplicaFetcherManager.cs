using System.Collections.Concurrent;
using Aspire.Kafka.Client;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Storage;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Broker;

/// <summary>How a follower reaches a partition leader (the network in production, another ReplicaManager in tests).</summary>
public interface IReplicaLeaderEndpoint
{
    Task<FetchResponse> FetchAsync(int leaderId, FetchRequest request, CancellationToken cancellationToken);

    Task<OffsetForLeaderEpochResponse> OffsetForLeaderEpochAsync(int leaderId, OffsetForLeaderEpochRequest request, CancellationToken cancellationToken);

    Task<ListOffsetsResponse> ListOffsetsAsync(int leaderId, ListOffsetsRequest request, CancellationToken cancellationToken);

    /// <summary>Closes the connection to a leader no fetcher uses any more.</summary>
    ValueTask CloseAsync(int leaderId);
}

/// <summary>
/// The leader over the Kafka protocol: Fetch v12 (names, DivergingEpoch), OffsetForLeaderEpoch
/// v4 and ListOffsets v2, to the leader's inter-broker listener as the metadata image lists it.
/// </summary>
public sealed class NetworkLeaderEndpoint(Func<int, KafkaNode?> resolve, int nodeId, int requestTimeoutMs, ILoggerFactory loggerFactory) : IReplicaLeaderEndpoint, IAsyncDisposable
{
    public const short FetchVersion = 12;
    public const short OffsetForLeaderEpochVersion = 4;
    public const short ListOffsetsVersion = 2;

    private readonly NetworkClient _client = new(new KafkaClientOptions
    {
        ClientId = $"broker-{nodeId}-replica-fetcher",
        ClientSoftwareName = "aspire-kafka-broker",
        RequestTimeout = TimeSpan.FromMilliseconds(requestTimeoutMs),
        SocketConnectionSetupTimeout = TimeSpan.FromMilliseconds(requestTimeoutMs),
    }, loggerFactory: loggerFactory);

    public Task<FetchResponse> FetchAsync(int leaderId, FetchRequest request, CancellationToken cancellationToken) =>
        _client.SendAsync<FetchRequest, FetchResponse>(Node(leaderId), request, FetchVersion, cancellationToken);

    public Task<OffsetForLeaderEpochResponse> OffsetForLeaderEpochAsync(int leaderId, OffsetForLeaderEpochRequest request, CancellationToken cancellationToken) =>
        _client.SendAsync<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>(Node(leaderId), request, OffsetForLeaderEpochVersion, cancellationToken);

    public Task<ListOffsetsResponse> ListOffsetsAsync(int leaderId, ListOffsetsRequest request, CancellationToken cancellationToken) =>
        _client.SendAsync<ListOffsetsRequest, ListOffsetsResponse>(Node(leaderId), request, ListOffsetsVersion, cancellationToken);

    public async ValueTask CloseAsync(int leaderId)
    {
        if (resolve(leaderId) is { } node)
        {
            await _client.CloseAsync(node).ConfigureAwait(false);
        }
    }

    private KafkaNode Node(int leaderId) =>
        resolve(leaderId) ?? throw new IOException($"Broker {leaderId} is not in the metadata image (or has no inter-broker listener).");

    public ValueTask DisposeAsync() => _client.DisposeAsync();
}

/// <summary>
/// The follower side of replication (Kafka's ReplicaFetcherManager): one
/// <see cref="ReplicaFetcherThread"/> per (source broker, fetcher id), num.replica.fetchers per
/// source broker, partitions spread over them by hash.
/// </summary>
internal sealed class ReplicaFetcherManager(ReplicaManager replicaManager, IReplicaLeaderEndpoint endpoint, ILoggerFactory loggerFactory)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(int Leader, int FetcherId), ReplicaFetcherThread> _fetchers = [];
    private readonly ConcurrentDictionary<TopicPartition, (int Leader, int Epoch, ReplicaFetcherThread Thread)> _assignment = new();
    private bool _shutdown;

    public int FetcherCount
    {
        get
        {
            lock (_lock)
            {
                return _fetchers.Count;
            }
        }
    }

    public bool Contains(TopicPartition tp, int leaderEpoch) => _assignment.TryGetValue(tp, out var a) && a.Epoch == leaderEpoch;

    public void AddPartition(TopicPartition tp, KafkaUuid topicId, int leaderId, int leaderEpoch)
    {
        lock (_lock)
        {
            if (_shutdown)
            {
                return;
            }

            int fetcherId = (int)((uint)(StringComparer.Ordinal.GetHashCode(tp.Topic) * 31 + tp.Partition) % (uint)replicaManager.Settings.NumReplicaFetchers);
            if (!_fetchers.TryGetValue((leaderId, fetcherId), out ReplicaFetcherThread? thread))
            {
                thread = new ReplicaFetcherThread($"ReplicaFetcherThread-{fetcherId}-{leaderId}", leaderId, replicaManager, endpoint,
                    loggerFactory.CreateLogger<ReplicaFetcherThread>());
                _fetchers[(leaderId, fetcherId)] = thread;
                thread.Start();
            }

            thread.AddPartition(tp, topicId, leaderEpoch);
            _assignment[tp] = (leaderId, leaderEpoch, thread);
        }
    }

    public void RemovePartition(TopicPartition tp)
    {
        lock (_lock)
        {
            if (!_assignment.TryRemove(tp, out var a))
            {
                return;
            }

            a.Thread.RemovePartition(tp);
            if (a.Thread.PartitionCount > 0)
            {
                return;
            }

            // An idle fetcher goes away with its connection, so the old leader's socket server can drain.
            var key = _fetchers.FirstOrDefault(f => ReferenceEquals(f.Value, a.Thread)).Key;
            _fetchers.Remove(key);
            _ = StopIdleAsync(a.Thread);
        }
    }

    private async Task StopIdleAsync(ReplicaFetcherThread thread)
    {
        await thread.StopAsync().ConfigureAwait(false);
        bool leaderStillUsed;
        lock (_lock)
        {
            leaderStillUsed = _shutdown || _fetchers.Keys.Any(k => k.Leader == thread.LeaderId);
        }

        if (!leaderStillUsed)
        {
            try
            {
                await endpoint.CloseAsync(thread.LeaderId).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
            }
        }
    }

    public async Task ShutdownAsync()
    {
        ReplicaFetcherThread[] threads;
        lock (_lock)
        {
            _shutdown = true;
            threads = [.. _fetchers.Values];
            _fetchers.Clear();
        }

        _assignment.Clear();
        foreach (ReplicaFetcherThread thread in threads)
        {
            await thread.StopAsync().ConfigureAwait(false);
        }

        // Close the connections to the leaders, so their socket servers can drain at shutdown.
        foreach (int leader in threads.Select(t => t.LeaderId).Distinct())
        {
            try
            {
                await endpoint.CloseAsync(leader).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
            }
        }
    }
}
