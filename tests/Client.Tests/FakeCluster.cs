using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Records;

namespace Aspire.Kafka.Client.Tests;

/// <summary>
/// Brokers on loopback sharing an in-memory cluster: Metadata, Produce, Fetch, ListOffsets,
/// CreateTopics and DeleteTopics answered as a broker would (from the shared logs, with
/// NOT_LEADER_OR_FOLLOWER when asked about a partition another broker leads).
/// </summary>
public sealed class FakeCluster : IAsyncDisposable
{
    private readonly object _gate = new();

    public FakeCluster(int brokers = 1)
    {
        for (int i = 1; i <= brokers; i++)
        {
            int id = i;
            Servers[id] = new TestKafkaServer(request => HandleAsync(id, request));
        }
    }

    public Dictionary<int, TestKafkaServer> Servers { get; } = [];

    public int ControllerId { get; set; } = 1;

    public Dictionary<string, Topic> Topics { get; } = [];

    /// <summary>Called before a broker handles a request; return true when it answered itself.</summary>
    public Func<int, TestRequest, Task<bool>>? Intercept { get; set; }

    public IReadOnlyList<string> Bootstrap => Servers.Values.Select(s => $"127.0.0.1:{s.Port}").ToList();

    public sealed class Topic(string name, int partitions, int leader)
    {
        public string Name { get; } = name;

        public KafkaUuid Id { get; } = KafkaUuid.NewRandom();

        public int[] Leaders { get; } = Enumerable.Repeat(leader, partitions).ToArray();

        public List<byte[]>[] Logs { get; } = Enumerable.Range(0, partitions).Select(_ => new List<byte[]>()).ToArray();

        public long EndOffset(int partition) =>
            Logs[partition].Count == 0 ? 0 : RecordBatchHeader.Read(Logs[partition][^1]).NextOffset;
    }

    public Topic AddTopic(string name, int partitions = 1, int leader = 1)
    {
        lock (_gate)
        {
            var topic = new Topic(name, partitions, leader);
            Topics[name] = topic;
            return topic;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (TestKafkaServer server in Servers.Values)
        {
            await server.DisposeAsync();
        }
    }

    private async Task<bool> HandleAsync(int brokerId, TestRequest request)
    {
        if (Intercept is { } intercept && await intercept(brokerId, request))
        {
            return true;
        }

        IApiMessage? response;
        lock (_gate)
        {
            response = request.ApiKey switch
            {
                ApiKeys.Metadata => Metadata(request.Read<MetadataRequest>()),
                ApiKeys.Produce => Produce(brokerId, request.Read<ProduceRequest>()),
                ApiKeys.Fetch => Fetch(brokerId, request.Read<FetchRequest>(), request.ApiVersion),
                ApiKeys.ListOffsets => ListOffsets(brokerId, request.Read<ListOffsetsRequest>()),
                ApiKeys.CreateTopics => CreateTopics(request.Read<CreateTopicsRequest>()),
                ApiKeys.DeleteTopics => DeleteTopics(request.Read<DeleteTopicsRequest>(), request.ApiVersion),
                _ => null,
            };
        }

        if (request.ApiKey == ApiKeys.ApiVersions)
        {
            return false;
        }

        if (response is not null)
        {
            await request.RespondAsync(response);
        }

        // Produce with acks=0: no response, as a broker.
        return response is not null || request.ApiKey == ApiKeys.Produce;
    }

    private MetadataResponse Metadata(MetadataRequest request)
    {
        var response = new MetadataResponse
        {
            ClusterId = "fake-cluster",
            ControllerId = ControllerId,
            Brokers = Servers.Select(s => new MetadataResponse.MetadataResponseBroker { NodeId = s.Key, Host = "127.0.0.1", Port = s.Value.Port }).ToList(),
        };
        IEnumerable<string> names = request.Topics is null ? Topics.Keys : request.Topics.Select(t => t.Name!);
        foreach (string name in names)
        {
            if (!Topics.TryGetValue(name, out Topic? topic))
            {
                response.Topics.Add(new() { Name = name, ErrorCode = (short)ErrorCode.UnknownTopicOrPartition });
                continue;
            }

            response.Topics.Add(new()
            {
                Name = name,
                TopicId = topic.Id,
                Partitions = topic.Leaders.Select((leader, i) => new MetadataResponse.MetadataResponsePartition
                {
                    PartitionIndex = i,
                    LeaderId = leader,
                    LeaderEpoch = 0,
                    ReplicaNodes = [leader],
                    IsrNodes = [leader],
                }).ToList(),
            });
        }

        return response;
    }

    private ProduceResponse? Produce(int brokerId, ProduceRequest request)
    {
        var response = new ProduceResponse();
        foreach (ProduceRequest.TopicProduceData t in request.TopicData)
        {
            var topicResponse = new ProduceResponse.TopicProduceResponse { Name = t.Name };
            response.Responses.Add(topicResponse);
            foreach (ProduceRequest.PartitionProduceData p in t.PartitionData)
            {
                var partitionResponse = new ProduceResponse.PartitionProduceResponse { Index = p.Index, BaseOffset = -1 };
                topicResponse.PartitionResponses.Add(partitionResponse);
                if (!Topics.TryGetValue(t.Name, out Topic? topic) || p.Index >= topic.Leaders.Length)
                {
                    partitionResponse.ErrorCode = (short)ErrorCode.UnknownTopicOrPartition;
                    continue;
                }

                if (topic.Leaders[p.Index] != brokerId)
                {
                    partitionResponse.ErrorCode = (short)ErrorCode.NotLeaderOrFollower;
                    continue;
                }

                byte[] records = p.Records!.Value.ToArray();
                RecordSetValidation validation = RecordSet.Validate(records);
                if (!validation.IsValid)
                {
                    partitionResponse.ErrorCode = validation.KafkaErrorCode;
                    continue;
                }

                long offset = topic.EndOffset(p.Index);
                partitionResponse.BaseOffset = offset;
                int position = 0;
                while (position < records.Length)
                {
                    RecordSet.TryReadBatch(records.AsSpan(position), out int size);
                    byte[] batch = records.AsSpan(position, size).ToArray();
                    RecordBatch.SetBaseOffset(batch, offset);
                    offset = RecordBatchHeader.Read(batch).NextOffset;
                    topic.Logs[p.Index].Add(batch);
                    position += size;
                }
            }
        }

        return request.Acks == 0 ? null : response;
    }

    private FetchResponse Fetch(int brokerId, FetchRequest request, short version)
    {
        var response = new FetchResponse();
        foreach (FetchRequest.FetchTopic t in request.Topics)
        {
            Topic? topic = version >= 13 ? Topics.Values.FirstOrDefault(x => x.Id == t.TopicId) : Topics.GetValueOrDefault(t.Topic);
            var topicResponse = new FetchResponse.FetchableTopicResponse { Topic = t.Topic, TopicId = t.TopicId };
            response.Responses.Add(topicResponse);
            foreach (FetchRequest.FetchPartition p in t.Partitions)
            {
                var data = new FetchResponse.PartitionData { PartitionIndex = p.Partition, HighWatermark = -1, LogStartOffset = -1, Records = ReadOnlyMemory<byte>.Empty };
                topicResponse.Partitions.Add(data);
                if (topic is null)
                {
                    data.ErrorCode = (short)(version >= 13 ? ErrorCode.UnknownTopicId : ErrorCode.UnknownTopicOrPartition);
                    continue;
                }

                if (topic.Leaders[p.Partition] != brokerId)
                {
                    data.ErrorCode = (short)ErrorCode.NotLeaderOrFollower;
                    continue;
                }

                long end = topic.EndOffset(p.Partition);
                if (p.FetchOffset > end)
                {
                    data.ErrorCode = (short)ErrorCode.OffsetOutOfRange;
                    continue;
                }

                using var bytes = new MemoryStream();
                foreach (byte[] batch in topic.Logs[p.Partition])
                {
                    if (RecordBatchHeader.Read(batch).LastOffset >= p.FetchOffset && (bytes.Length == 0 || bytes.Length + batch.Length <= p.PartitionMaxBytes))
                    {
                        bytes.Write(batch);
                    }
                }

                data.HighWatermark = end;
                data.LastStableOffset = end;
                data.LogStartOffset = 0;
                data.Records = bytes.ToArray();
            }
        }

        return response;
    }

    private ListOffsetsResponse ListOffsets(int brokerId, ListOffsetsRequest request)
    {
        var response = new ListOffsetsResponse();
        foreach (ListOffsetsRequest.ListOffsetsTopic t in request.Topics)
        {
            var topicResponse = new ListOffsetsResponse.ListOffsetsTopicResponse { Name = t.Name };
            response.Topics.Add(topicResponse);
            Topic topic = Topics[t.Name];
            foreach (ListOffsetsRequest.ListOffsetsPartition p in t.Partitions)
            {
                var r = new ListOffsetsResponse.ListOffsetsPartitionResponse { PartitionIndex = p.PartitionIndex };
                topicResponse.Partitions.Add(r);
                if (topic.Leaders[p.PartitionIndex] != brokerId)
                {
                    r.ErrorCode = (short)ErrorCode.NotLeaderOrFollower;
                    continue;
                }

                r.Offset = p.Timestamp == -2 ? 0 : topic.EndOffset(p.PartitionIndex);
                r.Timestamp = -1;
                r.LeaderEpoch = 0;
            }
        }

        return response;
    }

    private CreateTopicsResponse CreateTopics(CreateTopicsRequest request)
    {
        var response = new CreateTopicsResponse();
        foreach (CreateTopicsRequest.CreatableTopic t in request.Topics)
        {
            var r = new CreateTopicsResponse.CreatableTopicResult { Name = t.Name, NumPartitions = t.NumPartitions, ReplicationFactor = t.ReplicationFactor };
            if (Topics.ContainsKey(t.Name))
            {
                r.ErrorCode = (short)ErrorCode.TopicAlreadyExists;
                r.ErrorMessage = $"Topic '{t.Name}' already exists.";
            }
            else
            {
                r.TopicId = AddTopic(t.Name, t.NumPartitions < 0 ? 1 : t.NumPartitions).Id;
            }

            response.Topics.Add(r);
        }

        return response;
    }

    private DeleteTopicsResponse DeleteTopics(DeleteTopicsRequest request, short version)
    {
        var response = new DeleteTopicsResponse();
        IEnumerable<string> names = version >= 6 ? request.Topics.Select(t => t.Name!) : request.TopicNames;
        foreach (string name in names)
        {
            response.Responses.Add(new()
            {
                Name = name,
                ErrorCode = (short)(Topics.Remove(name) ? ErrorCode.None : ErrorCode.UnknownTopicOrPartition),
            });
        }

        return response;
    }
}
