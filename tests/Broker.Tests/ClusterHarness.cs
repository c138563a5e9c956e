using System.Collections.Concurrent;
using Aspire.Kafka.Metadata;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Protocol.MetadataRecords;
using Aspire.Kafka.Records;
using Aspire.Kafka.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aspire.Kafka.Broker.Tests;

/// <summary>
/// Brokers in one process: real ReplicaManagers over real LogManagers in temp dirs, fed the same
/// metadata log through <see cref="MetadataLoader"/>; followers reach leaders by direct calls
/// (<see cref="IReplicaLeaderEndpoint"/>), and AlterPartition goes to a fake controller that
/// validates epochs and writes PartitionChangeRecords as the real one does.
/// </summary>
internal sealed class ClusterHarness : IAsyncDisposable, IReplicaLeaderEndpoint, IAlterPartitionChannel
{
    private readonly Lock _metadataLock = new();
    private readonly MetadataLoader _loader = new();
    private readonly string _root = Path.Combine(Path.GetTempPath(), "broker-tests-" + Guid.NewGuid().ToString("N"));
    private long _offset;

    public ClusterHarness(Func<BrokerSettings, BrokerSettings>? configure = null, params int[] brokerIds)
    {
        Configure = configure ?? (s => s);
        BrokerIds = brokerIds.Length == 0 ? [1] : brokerIds;
        var records = new List<ApiMessageAndVersion>();
        foreach (int id in BrokerIds)
        {
            records.Add(RecordVersions.Of(new RegisterBrokerRecord
            {
                BrokerId = id,
                BrokerEpoch = 100 + id,
                IncarnationId = new KafkaUuid(id, 1),
                EndPoints = [new RegisterBrokerRecord.BrokerEndpoint { Name = "PLAINTEXT", Host = "localhost", Port = (ushort)(9090 + id) }],
                Fenced = false,
            }));
        }

        Publish([.. records]);
    }

    public Func<BrokerSettings, BrokerSettings> Configure { get; }

    public IReadOnlyList<int> BrokerIds { get; }

    public ConcurrentDictionary<int, ReplicaManager> Brokers { get; } = new();

    /// <summary>Brokers whose fetches (as follower or leader) fail as if the network were down.</summary>
    public ConcurrentDictionary<int, bool> Isolated { get; } = new();

    public MetadataImage Image => _loader.Image;

    public int AlterPartitionRequests;

    public static KafkaUuid TopicId(string name) => new(name.GetHashCode(StringComparison.Ordinal), 42);

    public async Task<ReplicaManager> StartBrokerAsync(int id)
    {
        var settings = Configure(new BrokerSettings
        {
            LogManager = new LogManagerConfig { LogDirs = [Path.Combine(_root, $"broker-{id}")], NodeId = id, ClusterId = "test-cluster" },
            ReplicaFetchWaitMaxMs = 200,
            ReplicaFetchBackoffMs = 20,
            ReplicaLagTimeMaxMs = 10_000,
        });
        var rm = new ReplicaManager(settings, id, new LogManager(settings.LogManager), this, this, () => 100 + id, TimeProvider.System, NullLoggerFactory.Instance);
        await rm.StartupAsync(CancellationToken.None);
        lock (_metadataLock)
        {
            // A broker that joins late gets the whole image, as from a snapshot.
            var snapshotLoader = new MetadataLoader();
            rm.OnMetadataUpdate(snapshotLoader.LoadSnapshot(_loader.Image.ToRecords(), _loader.Image.Provenance));
            Brokers[id] = rm;
        }

        return rm;
    }

    public async Task StopBrokerAsync(int id)
    {
        if (Brokers.TryRemove(id, out ReplicaManager? rm))
        {
            await rm.DisposeAsync();
        }
    }

    public void Publish(params ApiMessageAndVersion[] records)
    {
        lock (_metadataLock)
        {
            MetadataUpdate update = _loader.Apply(records.Select(r => new MetadataLogRecord(++_offset, 1, r)).ToList());
            foreach (ReplicaManager rm in Brokers.Values)
            {
                rm.OnMetadataUpdate(update);
            }
        }
    }

    public void CreateTopic(string name, int partitions, int[] replicas, int[]? isr = null, int? leader = null, params (string Key, string Value)[] configs)
    {
        var records = new List<ApiMessageAndVersion> { RecordVersions.Of(new TopicRecord { Name = name, TopicId = TopicId(name) }) };
        foreach (var (key, value) in configs)
        {
            records.Add(RecordVersions.Of(new ConfigRecord { ResourceType = 2, ResourceName = name, Name = key, Value = value }));
        }

        for (int p = 0; p < partitions; p++)
        {
            records.Add(RecordVersions.Of(new PartitionRecord
            {
                TopicId = TopicId(name),
                PartitionId = p,
                Replicas = [.. replicas],
                Isr = [.. isr ?? replicas],
                Leader = leader ?? replicas[0],
                LeaderEpoch = 0,
                PartitionEpoch = 0,
            }));
        }

        Publish([.. records]);
    }

    public void SetTopicConfig(string topic, string key, string? value) =>
        Publish(RecordVersions.Of(new ConfigRecord { ResourceType = 2, ResourceName = topic, Name = key, Value = value }));

    public void ChangeLeader(string topic, int partition, int leader, int[] isr) =>
        Publish(RecordVersions.Of(new PartitionChangeRecord { TopicId = TopicId(topic), PartitionId = partition, Leader = leader, Isr = [.. isr] }));

    // ------------------------------------------------------------------ IReplicaLeaderEndpoint

    private ReplicaManager Leader(int leaderId) =>
        Isolated.ContainsKey(leaderId) || !Brokers.TryGetValue(leaderId, out ReplicaManager? rm)
            ? throw new IOException($"broker {leaderId} unreachable")
            : rm;

    private void CheckFollower(FetchRequest request)
    {
        if (Isolated.ContainsKey(request.ReplicaId))
        {
            throw new IOException($"broker {request.ReplicaId} is isolated");
        }
    }

    public async Task<FetchResponse> FetchAsync(int leaderId, FetchRequest request, CancellationToken cancellationToken)
    {
        CheckFollower(request);
        FetchResponse response = await Leader(leaderId).HandleFetchAsync(request, 12, "PLAINTEXT", cancellationToken);
        CheckFollower(request);
        return response;
    }

    public Task<OffsetForLeaderEpochResponse> OffsetForLeaderEpochAsync(int leaderId, OffsetForLeaderEpochRequest request, CancellationToken cancellationToken) =>
        Task.FromResult(Leader(leaderId).HandleOffsetForLeaderEpoch(request));

    public Task<ListOffsetsResponse> ListOffsetsAsync(int leaderId, ListOffsetsRequest request, CancellationToken cancellationToken) =>
        Task.FromResult(Leader(leaderId).HandleListOffsets(request, 2));

    public ValueTask CloseAsync(int leaderId) => ValueTask.CompletedTask;

    // ------------------------------------------------------------------ IAlterPartitionChannel (the controller's checks, reduced)

    public Task<AlterPartitionResponse> SendAsync(AlterPartitionRequest request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref AlterPartitionRequests);
        var response = new AlterPartitionResponse();
        lock (_metadataLock)
        {
            foreach (AlterPartitionRequest.TopicData topic in request.Topics)
            {
                var topicResult = new AlterPartitionResponse.TopicData { TopicId = topic.TopicId };
                response.Topics.Add(topicResult);
                foreach (AlterPartitionRequest.PartitionData data in topic.Partitions)
                {
                    var result = new AlterPartitionResponse.PartitionData { PartitionIndex = data.PartitionIndex };
                    topicResult.Partitions.Add(result);
                    PartitionRegistration? current = _loader.Image.Topics.GetPartition(topic.TopicId, data.PartitionIndex);
                    if (current is null)
                    {
                        result.ErrorCode = (short)ErrorCode.UnknownTopicId;
                        continue;
                    }

                    if (data.LeaderEpoch != current.LeaderEpoch)
                    {
                        result.ErrorCode = (short)ErrorCode.FencedLeaderEpoch;
                        continue;
                    }

                    if (data.PartitionEpoch != current.PartitionEpoch)
                    {
                        result.ErrorCode = (short)ErrorCode.InvalidUpdateVersion;
                        continue;
                    }

                    List<int> isr = [.. data.NewIsrWithEpochs.Select(b => b.BrokerId)];
                    MetadataUpdate update = _loader.Apply([new MetadataLogRecord(++_offset, 1,
                        RecordVersions.Of(new PartitionChangeRecord { TopicId = topic.TopicId, PartitionId = data.PartitionIndex, Isr = isr }))]);
                    foreach (ReplicaManager rm in Brokers.Values)
                    {
                        rm.OnMetadataUpdate(update);
                    }

                    PartitionRegistration after = _loader.Image.Topics.GetPartition(topic.TopicId, data.PartitionIndex)!;
                    result.LeaderId = after.Leader;
                    result.LeaderEpoch = after.LeaderEpoch;
                    result.PartitionEpoch = after.PartitionEpoch;
                    result.Isr = [.. after.Isr];
                }
            }
        }

        return Task.FromResult(response);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (ReplicaManager rm in Brokers.Values)
        {
            await rm.DisposeAsync();
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    // ------------------------------------------------------------------ helpers

    public static byte[] Batch(CompressionType codec, params string[] values)
    {
        using var builder = new RecordBatchBuilder(codec);
        long ts = 1_700_000_000_000;
        foreach (string v in values)
        {
            builder.Append(ts++, System.Text.Encoding.UTF8.GetBytes("k-" + v), System.Text.Encoding.UTF8.GetBytes(v));
        }

        return builder.Build();
    }

    public static ProduceRequest Produce(string topic, int partition, byte[] records, short acks = 1, int timeoutMs = 5000) => new()
    {
        Acks = acks,
        TimeoutMs = timeoutMs,
        TopicData = [new ProduceRequest.TopicProduceData { Name = topic, PartitionData = [new ProduceRequest.PartitionProduceData { Index = partition, Records = records }] }],
    };

    public static FetchRequest Fetch(string topic, int partition, long offset, int maxWaitMs = 0, int minBytes = 1, int partitionMaxBytes = 1 << 20,
        int sessionId = 0, int sessionEpoch = -1) => new()
    {
        ReplicaId = -1,
        MaxWaitMs = maxWaitMs,
        MinBytes = minBytes,
        MaxBytes = 50 << 20,
        SessionId = sessionId,
        SessionEpoch = sessionEpoch,
        Topics = [new FetchRequest.FetchTopic { Topic = topic, Partitions = [new FetchRequest.FetchPartition { Partition = partition, FetchOffset = offset, PartitionMaxBytes = partitionMaxBytes }] }],
    };

    public static List<string> Values(ReadOnlyMemory<byte>? records) =>
        records is not { Length: > 0 } r ? [] : [.. RecordSet.ReadRecords(r).Select(x => System.Text.Encoding.UTF8.GetString(x.Value!.Value.Span))];

    public static async Task WaitUntilAsync(Func<bool> condition, string what, int timeoutMs = 15_000)
    {
        DateTime deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeoutMs} ms waiting until {what}.");
            }

            await Task.Delay(10);
        }
    }
}
