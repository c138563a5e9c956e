using Aspire.Kafka.Client;
using Aspire.Kafka.Metadata;
using Aspire.Kafka.Node;
using Aspire.Kafka.Records;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Coordinator.Groups;

/// <summary>
/// <c>__consumer_offsets</c> on the brokers through libs/Client: produce with acks=all, replay by
/// fetching from the log start to the end offset. Bootstraps from the brokers in the metadata
/// image (their listener named like this node's inter-broker listener, else their first).
/// </summary>
public sealed class KafkaGroupLog : IGroupLog, IAsyncDisposable
{
    private const string Topic = CoordinatorsImage.ConsumerOffsetsTopic;
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

    public async Task AppendAsync(int partition, IReadOnlyList<GroupLogRecord> records, CancellationToken cancellationToken)
    {
        KafkaClient client = await ClientAsync(cancellationToken).ConfigureAwait(false);
        await client.ProduceAsync(Topic, partition, [.. records.Select(r => new ProducerRecord(r.Key, r.Value))], acks: -1, cancellationToken: cancellationToken).ConfigureAwait(false);
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

    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync().ConfigureAwait(false);
        }

        _create.Dispose();
    }
}
