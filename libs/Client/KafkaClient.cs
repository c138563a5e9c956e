using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Records;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aspire.Kafka.Client;

/// <summary>A record to produce: key, value, headers, and a timestamp (null: now).</summary>
public sealed record ProducerRecord(byte[]? Key, byte[]? Value, IReadOnlyList<RecordHeader>? Headers = null, long? Timestamp = null);

/// <summary>Where a produced batch landed. acks=0 gives no answer: offsets are -1.</summary>
public readonly record struct ProduceResult(long BaseOffset, long LogAppendTimeMs, long LogStartOffset);

/// <summary>What a Fetch returned for one partition.</summary>
public sealed record FetchResult(
    IReadOnlyList<Record> Records,
    long HighWatermark,
    long LastStableOffset,
    long LogStartOffset,
    long NextOffset,
    ReadOnlyMemory<byte> RawRecords);

/// <summary>Which offset ListOffsets looks up: earliest (-2), latest (-1), max timestamp (-3), or the first at/after a timestamp.</summary>
public readonly record struct OffsetSpec(long Timestamp)
{
    public static OffsetSpec Earliest => new(-2);

    public static OffsetSpec Latest => new(-1);

    /// <summary>The offset of the record with the largest timestamp (ListOffsets v7+).</summary>
    public static OffsetSpec MaxTimestamp => new(-3);

    public static OffsetSpec ForTimestamp(long timestampMs) =>
        timestampMs >= 0 ? new(timestampMs) : throw new ArgumentOutOfRangeException(nameof(timestampMs));
}

public readonly record struct ListOffsetsResult(long Offset, long Timestamp, int LeaderEpoch);

/// <summary>An idempotent producer as a partition leader knows it: its epoch and the last sequence it wrote.</summary>
public readonly record struct ProducerStateResult(long ProducerId, short ProducerEpoch, int LastSequence);

/// <summary>A topic to create. -1 partitions / replication factor: the cluster's defaults (CreateTopics v4+).</summary>
/// <summary>A topic's configs as DescribeConfigs reports them.</summary>
public sealed record TopicConfigs(ErrorCode Error, string? ErrorMessage, IReadOnlyList<TopicConfigEntry> Entries)
{
    /// <summary>The keys set on the topic itself (source DYNAMIC_TOPIC_CONFIG), with their values.</summary>
    public IReadOnlyDictionary<string, string?> SetOnTopic => Entries.Where(e => e.Source == 1).ToDictionary(e => e.Name, e => e.Value, StringComparer.Ordinal);
}

/// <summary>One config entry: name, value, and where the value comes from (DescribeConfigs' ConfigSource: 1 topic, 4 static broker, 5 default…).</summary>
public sealed record TopicConfigEntry(string Name, string? Value, sbyte Source);

public sealed record NewTopic(
    string Name,
    int NumPartitions = -1,
    short ReplicationFactor = -1,
    IReadOnlyDictionary<string, string?>? Configs = null,
    IReadOnlyDictionary<int, IReadOnlyList<int>>? ReplicaAssignment = null);

/// <summary>The controller's answer for one topic (<see cref="ErrorCode.None"/> on success).</summary>
public sealed record TopicResult(string Name, ErrorCode Error, string? ErrorMessage, KafkaUuid TopicId = default, int NumPartitions = -1, short ReplicationFactor = -1)
{
    public void ThrowIfError()
    {
        if (Error != ErrorCode.None)
        {
            throw new KafkaErrorException(Error, ErrorMessage, Name);
        }
    }
}

/// <summary>
/// The seed of the .NET client: bootstrap → Metadata → the partition leader, and the
/// operations the services need (produce, fetch, list offsets, create and delete topics), each
/// retried on retriable errors after a metadata refresh, up to <c>retries</c> times with the
/// exponential retry.backoff.ms. Thread-safe; one instance per cluster.
/// </summary>
public sealed partial class KafkaClient : IAsyncDisposable
{
    private readonly KafkaClientOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IReadOnlyList<KafkaNode> _bootstrap;
    private readonly ExponentialBackoff _retryBackoff;
    private readonly object _metadataGate = new();
    private ClusterMetadata _metadata = ClusterMetadata.Empty;

    public KafkaClient(KafkaClientOptions options, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.BootstrapServers.Count == 0)
        {
            throw new ArgumentException("bootstrap.servers is empty.", nameof(options));
        }

        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        loggerFactory ??= NullLoggerFactory.Instance;
        _logger = loggerFactory.CreateLogger<KafkaClient>();
        // An entry may itself be a comma-separated list ("a:9092,b:9092"), as bootstrap.servers is written.
        _bootstrap = options.BootstrapServers
            .SelectMany(s => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Select((s, i) => KafkaNode.Parse(s, -1 - i))
            .ToList();
        if (_bootstrap.Count == 0)
        {
            throw new ArgumentException("bootstrap.servers names no host:port.", nameof(options));
        }
        _retryBackoff = ExponentialBackoff.Retry(options);
        Network = new NetworkClient(options, _time, loggerFactory);
        Produces = new ProduceCoalescer(Network);
    }

    /// <summary>Where produce batches (acks 1/all) wait to share a request with others for the same leader.</summary>
    internal ProduceCoalescer Produces { get; }

    /// <summary>The connection pool, for raw RPCs to a node.</summary>
    public NetworkClient Network { get; }

    /// <summary>The bootstrap.servers entries, parsed (ids -1, -2, …).</summary>
    public IReadOnlyList<KafkaNode> BootstrapNodes => _bootstrap;

    /// <summary>The latest metadata snapshot (possibly empty or stale).</summary>
    public ClusterMetadata Metadata => Volatile.Read(ref _metadata);

    /// <summary>
    /// Asks a node for metadata about <paramref name="topics"/> (null: every topic) and merges it
    /// into the cache. Tries known brokers, then the bootstrap servers, until one answers.
    /// </summary>
    public async Task<ClusterMetadata> RefreshMetadataAsync(IReadOnlyCollection<string>? topics = null, CancellationToken cancellationToken = default)
    {
        ClusterMetadata current = Metadata;
        List<KafkaNode> candidates = [.. current.Brokers.Values.OrderByDescending(Network.IsConnected).ThenBy(Network.ConnectionDelay)];
        candidates.AddRange(_bootstrap);
        Exception? last = null;
        foreach (KafkaNode node in candidates)
        {
            try
            {
                KafkaConnection connection = await Network.GetConnectionAsync(node, cancellationToken).ConfigureAwait(false);
                short version = connection.ApiVersions?.LatestUsableVersion(ApiKeys.Metadata, connection.Endpoint) ?? 12;
                var request = new MetadataRequest
                {
                    Topics = topics is null
                        ? (version == 0 ? [] : null)
                        : topics.Select(t => new MetadataRequest.MetadataRequestTopic { Name = t }).ToList(),
                    AllowAutoTopicCreation = _options.AllowAutoTopicCreation,
                };
                if (version < 4 && request.AllowAutoTopicCreation == false)
                {
                    request.AllowAutoTopicCreation = true; // the field does not exist before v4 (brokers decide)
                }

                MetadataResponse response = await connection.SendAsync<MetadataRequest, MetadataResponse>(request, version, cancellationToken).ConfigureAwait(false);
                lock (_metadataGate)
                {
                    _metadata = _metadata.Merge(response, _time.GetUtcNow(), allTopics: topics is null);
                    return _metadata;
                }
            }
            catch (KafkaClientException e) when (e is KafkaNetworkException or KafkaRequestTimeoutException)
            {
                last = e;
                LogMetadataNodeFailed(_logger, node.ToString(), e.Message);
            }
        }

        throw last ?? new InvalidOperationException("No node to ask for metadata.");
    }

    /// <summary>
    /// Writes records to a partition's leader: a ready record set (one or more v2 batches) as is.
    /// Returns the base offset (acks 1/all) or -1 (acks=0). Throws <see cref="KafkaErrorException"/>
    /// for a partition error that retries did not cure. With acks 1/all, one request per leader is
    /// in flight and batches of other partitions that wait for it meanwhile go together in the next
    /// (<see cref="ProduceCoalescer"/>), as Kafka's producer sends one Produce per node.
    /// </summary>
    public Task<ProduceResult> ProduceAsync(string topic, int partition, ReadOnlyMemory<byte> records, short acks = -1,
        TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        if (acks is not (-1 or 0 or 1))
        {
            throw new ArgumentOutOfRangeException(nameof(acks), acks, "acks is -1 (all), 0 or 1.");
        }

        TimeSpan produceTimeout = timeout ?? _options.RequestTimeout;
        return WithRetriesAsync($"Produce to {topic}-{partition}", topic, async ct =>
        {
            (KafkaNode leader, _, _) = await LeaderAsync(topic, partition, ct).ConfigureAwait(false);
            if (acks == 0)
            {
                KafkaConnection connection = await Network.GetConnectionAsync(leader, ct).ConfigureAwait(false);
                // v3+: record batches v2 (magic 2) only.
                short version = connection.ApiVersions?.LatestUsableVersion(ApiKeys.Produce, new VersionRange(3, 11), connection.Endpoint) ?? 9;
                await connection.SendWithoutResponseAsync(new ProduceRequest
                {
                    Acks = acks,
                    TimeoutMs = (int)produceTimeout.TotalMilliseconds,
                    TopicData = [new() { Name = topic, PartitionData = [new() { Index = partition, Records = records }] }],
                }, version, ct).ConfigureAwait(false);
                return new ProduceResult(-1, -1, -1);
            }

            // Batches of other partitions waiting for the same leader travel in the same request.
            ProduceResponse.PartitionProduceResponse p = await Produces.ProduceAsync(leader, topic, partition, records, acks,
                (int)produceTimeout.TotalMilliseconds, _options.RequestTimeout + produceTimeout, ct).ConfigureAwait(false);
            if (p.ErrorCode != 0)
            {
                throw new KafkaErrorException((ErrorCode)p.ErrorCode, p.ErrorMessage, topic, partition);
            }

            return new ProduceResult(p.BaseOffset, p.LogAppendTimeMs, p.LogStartOffset);
        }, cancellationToken);
    }

    /// <summary>Builds one v2 batch of <paramref name="records"/> (timestamps default to now) and produces it.</summary>
    public Task<ProduceResult> ProduceAsync(string topic, int partition, IReadOnlyList<ProducerRecord> records, short acks = -1,
        CompressionType compression = CompressionType.None, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        if (records.Count == 0)
        {
            throw new ArgumentException("No records to produce.", nameof(records));
        }

        long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        using var builder = new RecordBatchBuilder(compression);
        foreach (ProducerRecord record in records)
        {
            builder.Append(record.Timestamp ?? now, record.Key, record.Value, record.Headers);
        }

        return ProduceAsync(topic, partition, builder.Build(), acks, timeout, cancellationToken);
    }

    /// <summary>
    /// Reads from a partition's leader starting at <paramref name="offset"/> (read_uncommitted,
    /// no fetch session): records decoded (control batches skipped, records before the offset
    /// dropped), high watermark, log start. Waits up to <paramref name="maxWait"/> for data.
    /// </summary>
    public Task<FetchResult> FetchAsync(string topic, int partition, long offset, int maxBytes = 1024 * 1024,
        TimeSpan? maxWait = null, CancellationToken cancellationToken = default)
    {
        TimeSpan wait = maxWait ?? TimeSpan.FromMilliseconds(500);
        return WithRetriesAsync($"Fetch from {topic}-{partition}", topic, async ct =>
        {
            (KafkaNode leader, TopicMetadata t, PartitionMetadata p) = await LeaderAsync(topic, partition, ct).ConfigureAwait(false);
            KafkaConnection connection = await Network.GetConnectionAsync(leader, ct).ConfigureAwait(false);
            // v13+ names topics by id: use it only when Metadata gave one.
            var wanted = new VersionRange(4, t.TopicId.IsZero ? (short)12 : (short)17);
            short version = connection.ApiVersions?.LatestUsableVersion(ApiKeys.Fetch, wanted, connection.Endpoint) ?? 12;
            var request = new FetchRequest
            {
                MaxWaitMs = (int)wait.TotalMilliseconds,
                MinBytes = 1,
                MaxBytes = maxBytes,
                IsolationLevel = 0,
                SessionId = 0,
                SessionEpoch = -1,
                Topics =
                [
                    new()
                    {
                        Topic = version >= 13 ? "" : topic,
                        TopicId = version >= 13 ? t.TopicId : default,
                        Partitions = [new() { Partition = partition, FetchOffset = offset, PartitionMaxBytes = maxBytes, CurrentLeaderEpoch = version >= 9 ? p.LeaderEpoch : -1 }],
                    },
                ],
            };
            FetchResponse response = await connection.SendAsync<FetchRequest, FetchResponse>(request, version, _options.RequestTimeout + wait, ct).ConfigureAwait(false);
            if (response.ErrorCode != 0)
            {
                throw new KafkaErrorException((ErrorCode)response.ErrorCode, "Fetch failed", topic, partition);
            }

            FetchResponse.PartitionData data = response.Responses
                .FirstOrDefault(r => version >= 13 ? r.TopicId == t.TopicId : r.Topic == topic)?.Partitions
                .FirstOrDefault(x => x.PartitionIndex == partition)
                ?? throw new KafkaProtocolViolationException(connection.Endpoint, $"the Fetch response has no data for {topic}-{partition}");
            if (data.ErrorCode != 0)
            {
                throw new KafkaErrorException((ErrorCode)data.ErrorCode, null, topic, partition);
            }

            ReadOnlyMemory<byte> raw = data.Records ?? ReadOnlyMemory<byte>.Empty;
            (List<Record> records, long next) = DecodeRecords(raw, offset);
            return new FetchResult(records, data.HighWatermark, data.LastStableOffset, data.LogStartOffset, next, raw);
        }, cancellationToken);
    }

    /// <summary>Looks up an offset of a partition on its leader (ListOffsets v1+).</summary>
    public Task<ListOffsetsResult> ListOffsetsAsync(string topic, int partition, OffsetSpec spec, CancellationToken cancellationToken = default) =>
        WithRetriesAsync($"ListOffsets for {topic}-{partition}", topic, async ct =>
        {
            (KafkaNode leader, _, PartitionMetadata p) = await LeaderAsync(topic, partition, ct).ConfigureAwait(false);
            KafkaConnection connection = await Network.GetConnectionAsync(leader, ct).ConfigureAwait(false);
            var wanted = new VersionRange(spec.Timestamp == -3 ? (short)7 : (short)1, 10);
            short version = connection.ApiVersions?.LatestUsableVersion(ApiKeys.ListOffsets, wanted, connection.Endpoint) ?? 7;
            var request = new ListOffsetsRequest
            {
                ReplicaId = -1,
                IsolationLevel = 0,
                TimeoutMs = (int)_options.RequestTimeout.TotalMilliseconds,
                Topics = [new() { Name = topic, Partitions = [new() { PartitionIndex = partition, Timestamp = spec.Timestamp, CurrentLeaderEpoch = version >= 4 ? p.LeaderEpoch : -1 }] }],
            };
            ListOffsetsResponse response = await connection.SendAsync<ListOffsetsRequest, ListOffsetsResponse>(request, version, ct).ConfigureAwait(false);
            ListOffsetsResponse.ListOffsetsPartitionResponse r = response.Topics.FirstOrDefault(x => x.Name == topic)?.Partitions
                .FirstOrDefault(x => x.PartitionIndex == partition)
                ?? throw new KafkaProtocolViolationException(connection.Endpoint, $"the ListOffsets response has no result for {topic}-{partition}");
            if (r.ErrorCode != 0)
            {
                throw new KafkaErrorException((ErrorCode)r.ErrorCode, null, topic, partition);
            }

            return new ListOffsetsResult(r.Offset, r.Timestamp, r.LeaderEpoch);
        }, cancellationToken);

    /// <summary>
    /// The idempotent producers a partition's leader has state for (DescribeProducers v0, KIP-664):
    /// producer id → epoch and last sequence.
    /// </summary>
    public Task<IReadOnlyList<ProducerStateResult>> DescribeProducersAsync(string topic, int partition, CancellationToken cancellationToken = default) =>
        WithRetriesAsync($"DescribeProducers for {topic}-{partition}", topic, async ct =>
        {
            (KafkaNode leader, _, _) = await LeaderAsync(topic, partition, ct).ConfigureAwait(false);
            KafkaConnection connection = await Network.GetConnectionAsync(leader, ct).ConfigureAwait(false);
            var request = new DescribeProducersRequest { Topics = [new() { Name = topic, PartitionIndexes = [partition] }] };
            DescribeProducersResponse response = await connection.SendAsync<DescribeProducersRequest, DescribeProducersResponse>(request, 0, ct).ConfigureAwait(false);
            DescribeProducersResponse.PartitionResponse r = response.Topics.FirstOrDefault(x => x.Name == topic)?.Partitions
                .FirstOrDefault(x => x.PartitionIndex == partition)
                ?? throw new KafkaProtocolViolationException(connection.Endpoint, $"the DescribeProducers response has no result for {topic}-{partition}");
            if (r.ErrorCode != 0)
            {
                throw new KafkaErrorException((ErrorCode)r.ErrorCode, r.ErrorMessage, topic, partition);
            }

            return (IReadOnlyList<ProducerStateResult>)[.. r.ActiveProducers.Select(p => new ProducerStateResult(p.ProducerId, (short)p.ProducerEpoch, p.LastSequence))];
        }, cancellationToken);

    /// <summary>
    /// Creates topics through the controller Metadata names (brokers forward it to the active
    /// controller). Results per topic; NOT_CONTROLLER is retried after a metadata refresh.
    /// </summary>
    public async Task<IReadOnlyList<TopicResult>> CreateTopicsAsync(IEnumerable<NewTopic> topics, TimeSpan? timeout = null,
        bool validateOnly = false, CancellationToken cancellationToken = default)
    {
        List<NewTopic> list = [.. topics];
        int timeoutMs = (int)(timeout ?? _options.RequestTimeout).TotalMilliseconds;
        return await ControllerRequestAsync("CreateTopics", async (connection, ct) =>
        {
            short version = connection.ApiVersions?.LatestUsableVersion(ApiKeys.CreateTopics, connection.Endpoint) ?? 7;
            var request = new CreateTopicsRequest
            {
                TimeoutMs = timeoutMs,
                ValidateOnly = validateOnly,
                Topics = list.Select(t => new CreateTopicsRequest.CreatableTopic
                {
                    Name = t.Name,
                    NumPartitions = t.ReplicaAssignment is null ? t.NumPartitions : -1,
                    ReplicationFactor = t.ReplicaAssignment is null ? t.ReplicationFactor : (short)-1,
                    Assignments = t.ReplicaAssignment?.Select(a => new CreateTopicsRequest.CreatableReplicaAssignment { PartitionIndex = a.Key, BrokerIds = [.. a.Value] }).ToList() ?? [],
                    Configs = t.Configs?.Select(c => new CreateTopicsRequest.CreatableTopicConfig { Name = c.Key, Value = c.Value }).ToList() ?? [],
                }).ToList(),
            };
            CreateTopicsResponse response = await connection.SendAsync<CreateTopicsRequest, CreateTopicsResponse>(request, version,
                _options.RequestTimeout + TimeSpan.FromMilliseconds(timeoutMs), ct).ConfigureAwait(false);
            return response.Topics.Select(r => new TopicResult(r.Name, (ErrorCode)r.ErrorCode, r.ErrorMessage, r.TopicId, r.NumPartitions, r.ReplicationFactor)).ToList();
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes topics by name through the controller; results per topic.</summary>
    public async Task<IReadOnlyList<TopicResult>> DeleteTopicsAsync(IEnumerable<string> topics, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        List<string> names = [.. topics];
        int timeoutMs = (int)(timeout ?? _options.RequestTimeout).TotalMilliseconds;
        return await ControllerRequestAsync("DeleteTopics", async (connection, ct) =>
        {
            short version = connection.ApiVersions?.LatestUsableVersion(ApiKeys.DeleteTopics, connection.Endpoint) ?? 6;
            var request = new DeleteTopicsRequest { TimeoutMs = timeoutMs };
            if (version >= 6)
            {
                request.Topics = names.Select(n => new DeleteTopicsRequest.DeleteTopicState { Name = n }).ToList();
            }
            else
            {
                request.TopicNames = names;
            }

            DeleteTopicsResponse response = await connection.SendAsync<DeleteTopicsRequest, DeleteTopicsResponse>(request, version,
                _options.RequestTimeout + TimeSpan.FromMilliseconds(timeoutMs), ct).ConfigureAwait(false);
            return response.Responses.Select(r => new TopicResult(r.Name ?? "", (ErrorCode)r.ErrorCode, r.ErrorMessage, r.TopicId)).ToList();
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Adds partitions to topics (CreatePartitions): each topic grows to the given total count.
    /// Results per topic (INVALID_PARTITIONS when the count is not larger).
    /// </summary>
    public async Task<IReadOnlyList<TopicResult>> CreatePartitionsAsync(IReadOnlyDictionary<string, int> totalCounts, TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(totalCounts);
        int timeoutMs = (int)(timeout ?? _options.RequestTimeout).TotalMilliseconds;
        return await ControllerRequestAsync("CreatePartitions", async (connection, ct) =>
        {
            short version = connection.ApiVersions?.LatestUsableVersion(ApiKeys.CreatePartitions, connection.Endpoint) ?? 3;
            var request = new CreatePartitionsRequest
            {
                TimeoutMs = timeoutMs,
                Topics = [.. totalCounts.Select(t => new CreatePartitionsRequest.CreatePartitionsTopic { Name = t.Key, Count = t.Value, Assignments = null })],
            };
            CreatePartitionsResponse response = await connection.SendAsync<CreatePartitionsRequest, CreatePartitionsResponse>(request, version,
                _options.RequestTimeout + TimeSpan.FromMilliseconds(timeoutMs), ct).ConfigureAwait(false);
            return response.Results.Select(r => new TopicResult(r.Name, (ErrorCode)r.ErrorCode, r.ErrorMessage)).ToList();
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The configs of topics as DescribeConfigs reports them: per topic its error and its entries
    /// (name, value, source: 1 = set on the topic, 4/5 = broker, 5 = default…).
    /// </summary>
    public async Task<IReadOnlyDictionary<string, TopicConfigs>> DescribeTopicConfigsAsync(IEnumerable<string> topics, CancellationToken cancellationToken = default)
    {
        List<string> names = [.. topics];
        var results = new Dictionary<string, TopicConfigs>(StringComparer.Ordinal);
        _ = await ControllerRequestAsync("DescribeConfigs", async (connection, ct) =>
        {
            short version = connection.ApiVersions?.LatestUsableVersion(ApiKeys.DescribeConfigs, connection.Endpoint) ?? 4;
            var request = new DescribeConfigsRequest
            {
                Resources = [.. names.Select(n => new DescribeConfigsRequest.DescribeConfigsResource { ResourceType = TopicResource, ResourceName = n, ConfigurationKeys = null })],
            };
            DescribeConfigsResponse response = await connection.SendAsync<DescribeConfigsRequest, DescribeConfigsResponse>(request, version, ct).ConfigureAwait(false);
            results.Clear();
            foreach (DescribeConfigsResponse.DescribeConfigsResult r in response.Results)
            {
                results[r.ResourceName] = new TopicConfigs((ErrorCode)r.ErrorCode, r.ErrorMessage,
                    r.Configs.Select(c => new TopicConfigEntry(c.Name, c.Value, c.ConfigSource)).ToList());
            }

            return response.Results.Select(r => new TopicResult(r.ResourceName, (ErrorCode)r.ErrorCode == ErrorCode.NotController ? ErrorCode.NotController : ErrorCode.None, r.ErrorMessage)).ToList();
        }, cancellationToken).ConfigureAwait(false);
        return results;
    }

    /// <summary>
    /// Changes topic configs (IncrementalAlterConfigs): <paramref name="set"/> sets keys (a null value
    /// deletes the key, back to the default). Results per topic.
    /// </summary>
    public async Task<IReadOnlyList<TopicResult>> AlterTopicConfigsAsync(IReadOnlyDictionary<string, IReadOnlyDictionary<string, string?>> set,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(set);
        return await ControllerRequestAsync("IncrementalAlterConfigs", async (connection, ct) =>
        {
            short version = connection.ApiVersions?.LatestUsableVersion(ApiKeys.IncrementalAlterConfigs, connection.Endpoint) ?? 1;
            var request = new IncrementalAlterConfigsRequest
            {
                Resources =
                [
                    .. set.Select(t => new IncrementalAlterConfigsRequest.AlterConfigsResource
                    {
                        ResourceType = TopicResource,
                        ResourceName = t.Key,
                        Configs = [.. t.Value.Select(c => new IncrementalAlterConfigsRequest.AlterableConfig { Name = c.Key, ConfigOperation = (sbyte)(c.Value is null ? 1 : 0), Value = c.Value })],
                    }),
                ],
            };
            IncrementalAlterConfigsResponse response = await connection.SendAsync<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>(request, version, ct).ConfigureAwait(false);
            return response.Responses.Select(r => new TopicResult(r.ResourceName, (ErrorCode)r.ErrorCode, r.ErrorMessage)).ToList();
        }, cancellationToken).ConfigureAwait(false);
    }

    private const sbyte TopicResource = 2;

    public ValueTask DisposeAsync() => Network.DisposeAsync();

    private async Task<IReadOnlyList<TopicResult>> ControllerRequestAsync(string what,
        Func<KafkaConnection, CancellationToken, Task<List<TopicResult>>> send, CancellationToken cancellationToken) =>
        await WithRetriesAsync(what, null, async ct =>
        {
            ClusterMetadata metadata = Metadata;
            if (metadata.Controller is null || IsStale(metadata))
            {
                metadata = await RefreshMetadataAsync([], ct).ConfigureAwait(false);
            }

            KafkaNode controller = metadata.Controller
                ?? throw new KafkaErrorException(ErrorCode.NotController, $"Metadata names no controller (controller id {metadata.ControllerId})");
            KafkaConnection connection = await Network.GetConnectionAsync(controller, ct).ConfigureAwait(false);
            List<TopicResult> results = await send(connection, ct).ConfigureAwait(false);
            if (results.FirstOrDefault(r => r.Error == ErrorCode.NotController) is { } moved)
            {
                throw new KafkaErrorException(ErrorCode.NotController, moved.ErrorMessage, moved.Name);
            }

            return results;
        }, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Runs an operation; on a retriable error (network, timeout, stale-metadata Kafka error)
    /// forgets the topic's metadata, waits the retry backoff and tries again, up to retries times.
    /// </summary>
    private async Task<T> WithRetriesAsync<T>(string what, string? topic, Func<CancellationToken, Task<T>> attempt, CancellationToken cancellationToken)
    {
        for (int tries = 0; ; tries++)
        {
            try
            {
                return await attempt(cancellationToken).ConfigureAwait(false);
            }
            catch (KafkaClientException e) when (e.IsRetriable && tries < _options.Retries)
            {
                TimeSpan backoff = _retryBackoff.Backoff(tries);
                LogRetry(_logger, what, tries + 1, _options.Retries, backoff.TotalMilliseconds, e.Message);
                Invalidate(topic);
                await Task.Delay(backoff, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<(KafkaNode Leader, TopicMetadata Topic, PartitionMetadata Partition)> LeaderAsync(string topic, int partition, CancellationToken ct)
    {
        ClusterMetadata metadata = Metadata;
        if (!metadata.Topics.ContainsKey(topic) || IsStale(metadata))
        {
            metadata = await RefreshMetadataAsync(InterestingTopics(topic), ct).ConfigureAwait(false);
        }

        TopicMetadata t = metadata.Topics.GetValueOrDefault(topic) ?? throw new KafkaErrorException(ErrorCode.UnknownTopicOrPartition, "not in the Metadata response", topic);
        if (t.Error != ErrorCode.None)
        {
            throw new KafkaErrorException(t.Error, null, topic);
        }

        PartitionMetadata p = t.Partition(partition) ?? throw new KafkaErrorException(ErrorCode.UnknownTopicOrPartition, $"the topic has {t.Partitions.Count} partitions", topic, partition);
        if (p.LeaderId < 0 || !metadata.Brokers.TryGetValue(p.LeaderId, out KafkaNode? leader))
        {
            throw new KafkaErrorException(p.Error != ErrorCode.None ? p.Error : ErrorCode.LeaderNotAvailable, $"leader {p.LeaderId}", topic, partition);
        }

        return (leader, t, p);
    }

    private List<string> InterestingTopics(string topic)
    {
        List<string> topics = [.. Metadata.Topics.Keys];
        if (!topics.Contains(topic))
        {
            topics.Add(topic);
        }

        return topics;
    }

    private bool IsStale(ClusterMetadata metadata) => _time.GetUtcNow() - metadata.FetchedAt > _options.MetadataMaxAge;

    /// <summary>Drops a topic from the cache (or marks everything stale) so the next use asks again.</summary>
    private void Invalidate(string? topic)
    {
        lock (_metadataGate)
        {
            ClusterMetadata m = _metadata;
            var topics = new Dictionary<string, TopicMetadata>(m.Topics, StringComparer.Ordinal);
            if (topic is not null)
            {
                topics.Remove(topic);
            }

            _metadata = new ClusterMetadata(m.ClusterId, topic is null ? -1 : m.ControllerId, m.Brokers, topics, topic is null ? DateTimeOffset.MinValue : m.FetchedAt);
        }
    }

    /// <summary>Decodes a Fetch's record set: v2 batches and legacy messages, control batches skipped, a partial last batch ignored.</summary>
    internal static (List<Record> Records, long NextOffset) DecodeRecords(ReadOnlyMemory<byte> recordSet, long fetchOffset)
    {
        var records = new List<Record>();
        long next = fetchOffset;
        int position = 0;
        while (position < recordSet.Length)
        {
            ReadOnlyMemory<byte> rest = recordSet[position..];
            RecordSetStatus status = RecordSet.TryReadBatch(rest.Span, out int size);
            if (status == RecordSetStatus.Truncated)
            {
                break; // a fetch may end in the middle of a batch
            }

            if (status != RecordSetStatus.Complete)
            {
                throw new CorruptRecordException($"Corrupt batch at byte {position} of a Fetch response.");
            }

            ReadOnlyMemory<byte> batch = rest[..size];
            int before = records.Count;
            if (batch.Span[RecordBatch.MagicOffset] == RecordBatch.CurrentMagic)
            {
                RecordBatchHeader header = RecordBatchHeader.Read(batch.Span);
                if (!header.IsControl)
                {
                    RecordBatchReader.ReadRecords(batch, records);
                }

                next = Math.Max(next, header.NextOffset);
            }
            else
            {
                LegacyMessageSet.ReadRecords(batch, records);
                if (records.Count > before)
                {
                    next = Math.Max(next, records[^1].Offset + 1);
                }
            }

            position += size;
        }

        // A compressed batch is served whole, so it may start before the fetch offset.
        records.RemoveAll(r => r.Offset < fetchOffset);

        return (records, next);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Metadata from {Node} failed: {Reason}")]
    private static partial void LogMetadataNodeFailed(ILogger logger, string node, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{What} failed (retry {Try} of {Retries} in {BackoffMs:0} ms): {Reason}")]
    private static partial void LogRetry(ILogger logger, string what, int @try, int retries, double backoffMs, string reason);
}
