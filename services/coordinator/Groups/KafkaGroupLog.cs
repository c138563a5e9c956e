using Aspire.Kafka.Client;
using Aspire.Kafka.Metadata;
using Aspire.Kafka.Node;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Records;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Coordinator.Groups;

/// <summary>
/// <c>__consumer_offsets</c> on the brokers through libs/Client: produce with acks=all, replay by
/// fetching from the log start to the end offset. Bootstraps from the brokers in the metadata
/// image (their listener named like this node's inter-broker listener, else their first).
/// <para>
/// Fencing: each partition is written as one idempotent producer
/// (<see cref="CoordinatorsImage.CoordinatorProducer"/>: a reserved producer id per partition, the
/// assignment epoch as producer epoch), so once a new owner has written — its claim at takeover —
/// the brokers refuse the previous owner's appends with INVALID_PRODUCER_EPOCH. Appends of one
/// partition go one at a time with consecutive sequences; the sequence to continue from comes from
/// the leader (DescribeProducers) when a writer starts. A batch that failed keeps its sequence and is
/// sent again, byte for byte, before anything else: a sequence never carries two contents, so a
/// late arrival of the first attempt is recognised as a duplicate and not written twice.
/// </para>
/// </summary>
public sealed class KafkaGroupLog : IGroupLog, IPartitionEndOffsets, IAsyncDisposable
{
    private const string Topic = CoordinatorsImage.ConsumerOffsetsTopic;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, PartitionWriter> _writers = new();
    private readonly ClusterMetadataFollower _follower;
    private readonly NodeSettings _node;
    private readonly ILoggerFactory _loggerFactory;
    private readonly SemaphoreSlim _create = new(1, 1);
    private KafkaClient? _client;

    public KafkaGroupLog(ClusterMetadataFollower follower, NodeSettings node, ILoggerFactory loggerFactory)
    {
        _follower = follower;
        _node = node;
        _loggerFactory = loggerFactory;
    }

    public Task ClaimAsync(int partition, int epoch, CancellationToken cancellationToken) =>
        AppendAsync(partition, epoch, [GroupRecords.Claim()], cancellationToken);

    public async Task AppendAsync(int partition, int epoch, IReadOnlyList<GroupLogRecord> records, CancellationToken cancellationToken)
    {
        KafkaClient client = await ClientAsync(cancellationToken).ConfigureAwait(false);
        PartitionWriter writer = _writers.GetOrAdd(partition, static _ => new PartitionWriter());
        await writer.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            (long producerId, short producerEpoch) = CoordinatorsImage.CoordinatorProducer(partition, epoch);
            if (writer.Epoch != epoch)
            {
                writer.Epoch = epoch;
                writer.NextSequence = null;
                writer.Pending = null;
            }

            writer.NextSequence ??= await StartSequenceAsync(client, partition, epoch, producerId, producerEpoch, cancellationToken).ConfigureAwait(false);
            if (writer.Pending is { } pending)
            {
                await SendAsync(client, writer, partition, epoch, pending, cancellationToken).ConfigureAwait(false);
            }

            long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            using var builder = new RecordBatchBuilder(CompressionType.None, 0, producerId, producerEpoch, writer.NextSequence.Value);
            foreach (GroupLogRecord r in records)
            {
                builder.Append(now, r.Key, r.Value);
            }

            await SendAsync(client, writer, partition, epoch, (builder.Build(), records.Count), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            writer.Lock.Release();
        }
    }

    /// <summary>Sends one batch at the writer's next sequence; on failure it stays pending (same bytes, same sequence).</summary>
    private static async Task SendAsync(KafkaClient client, PartitionWriter writer, int partition, int epoch, (byte[] Batch, int Records) batch, CancellationToken cancellationToken)
    {
        writer.Pending = batch;
        try
        {
            await client.ProduceAsync(Topic, partition, batch.Batch, acks: -1, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (KafkaErrorException e) when (e.ErrorCode == ErrorCode.InvalidProducerEpoch)
        {
            throw new CoordinatorFencedException(partition, epoch, "a newer owner wrote the partition");
        }
        catch (KafkaErrorException e) when (e.ErrorCode == ErrorCode.OutOfOrderSequenceNumber)
        {
            // The leader lost this producer's state (expired, or evicted with the log start): the
            // batch was not written; start again from what the leader knows.
            writer.NextSequence = null;
            writer.Pending = null;
            throw;
        }

        writer.Pending = null;
        writer.NextSequence = RecordBatch.IncrementSequence(writer.NextSequence!.Value, batch.Records);
    }

    /// <summary>The first sequence of a writer at <paramref name="epoch"/>: after this epoch's last one on the leader, else 0.</summary>
    private static async Task<int> StartSequenceAsync(KafkaClient client, int partition, int epoch, long producerId, short producerEpoch, CancellationToken cancellationToken)
    {
        IReadOnlyList<ProducerStateResult> producers = await client.DescribeProducersAsync(Topic, partition, cancellationToken).ConfigureAwait(false);
        foreach (ProducerStateResult p in producers)
        {
            if (p.ProducerId != producerId)
            {
                continue;
            }

            if (p.ProducerEpoch > producerEpoch)
            {
                throw new CoordinatorFencedException(partition, epoch, $"the partition was written at producer epoch {p.ProducerEpoch}");
            }

            return p.ProducerEpoch == producerEpoch && p.LastSequence >= 0 ? RecordBatch.IncrementSequence(p.LastSequence, 1) : 0;
        }

        return 0;
    }

    public async Task<IReadOnlyList<GroupLogRecord>> ReadAllAsync(int partition, CancellationToken cancellationToken)
    {
        KafkaClient client = await ClientAsync(cancellationToken).ConfigureAwait(false);
        long end = (await client.ListOffsetsAsync(Topic, partition, OffsetSpec.Latest, cancellationToken).ConfigureAwait(false)).Offset;
        long offset = (await client.ListOffsetsAsync(Topic, partition, OffsetSpec.Earliest, cancellationToken).ConfigureAwait(false)).Offset;
        var records = new List<GroupLogRecord>();
        while (offset < end)
        {
            FetchResult fetched = await client.FetchAsync(Topic, partition, offset, 4 << 20, TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
            foreach (Record record in fetched.Records)
            {
                if (record.Key is { } key)
                {
                    records.Add(new GroupLogRecord(key.ToArray(), record.Value?.ToArray()));
                }
            }

            if (fetched.NextOffset <= offset && fetched.Records.Count == 0)
            {
                // Nothing readable below the end yet (the high watermark lags the end offset): wait for it.
                await Task.Delay(50, cancellationToken).ConfigureAwait(false);
                continue;
            }

            offset = Math.Max(offset + (fetched.Records.Count > 0 ? 1 : 0), fetched.NextOffset);
        }

        return records;
    }

    /// <summary>The partitions' high watermarks (ListOffsets latest to each leader, in parallel), for the lag metrics.</summary>
    public async Task<IReadOnlyDictionary<(string Topic, int Partition), long>> EndOffsetsAsync(
        IReadOnlyCollection<(string Topic, int Partition)> partitions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        KafkaClient client = await ClientAsync(cancellationToken).ConfigureAwait(false);
        var answers = await Task.WhenAll(partitions.Select(async p =>
        {
            try
            {
                return (p, (long?)(await client.ListOffsetsAsync(p.Topic, p.Partition, OffsetSpec.Latest, cancellationToken).ConfigureAwait(false)).Offset);
            }
            catch (Exception e) when (e is KafkaClientException or IOException or TimeoutException)
            {
                return (p, (long?)null);
            }
        })).ConfigureAwait(false);
        return answers.Where(a => a.Item2 is not null).ToDictionary(a => a.p, a => a.Item2!.Value);
    }

    private async Task<KafkaClient> ClientAsync(CancellationToken cancellationToken)
    {
        if (_client is { } ready)
        {
            return ready;
        }

        await _create.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_client is not null)
            {
                return _client;
            }

            MetadataImage image = await _follower.WaitForAsync(i => i.Cluster.Brokers.Values.Any(b => b.IsActive), cancellationToken).ConfigureAwait(false);
            List<string> bootstrap = [.. image.Cluster.Brokers.Values
                .Select(b => b.Listener(_node.InterBrokerListenerName) ?? b.Listeners.FirstOrDefault())
                .OfType<Aspire.Kafka.Metadata.Endpoint>()
                .Select(e => $"{e.Host}:{e.Port}")];
            _client = new KafkaClient(new KafkaClientOptions
            {
                BootstrapServers = bootstrap,
                ClientId = $"coordinator-{_node.NodeId}",
                Retries = 10,
            }, loggerFactory: _loggerFactory);
            return _client;
        }
        finally
        {
            _create.Release();
        }
    }

    /// <summary>One partition's writer: appends go one at a time (<see cref="Lock"/>) with consecutive sequences.</summary>
    private sealed class PartitionWriter
    {
        public SemaphoreSlim Lock { get; } = new(1, 1);

        public int Epoch { get; set; } = -1;

        /// <summary>The sequence the next batch gets; null until read from the leader.</summary>
        public int? NextSequence { get; set; }

        /// <summary>A batch sent at <see cref="NextSequence"/> whose outcome is unknown: sent again first.</summary>
        public (byte[] Batch, int Records)? Pending { get; set; }
    }

    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync().ConfigureAwait(false);
        }

        _create.Dispose();
    }
}
