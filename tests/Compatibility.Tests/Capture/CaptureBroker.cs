using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Framing;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Records;

namespace Aspire.Kafka.Compatibility.Tests.Capture;

/// <summary>One request frame as it arrived: the exact bytes including the 4-byte size prefix.</summary>
public sealed record CapturedFrame(
    int Sequence,
    int ConnectionId,
    short ApiKey,
    short ApiVersion,
    int CorrelationId,
    string? ClientId,
    byte[] Bytes,
    DateTimeOffset ReceivedAt)
{
    public string ApiName => ApiMessageTypes.Find(ApiKey)?.Name ?? $"ApiKey{ApiKey}";

    /// <summary>Golden file name: <c>&lt;seq&gt;-&lt;ApiName&gt;-v&lt;version&gt;.bin</c>.</summary>
    public string FileName => $"{Sequence:D3}-{ApiName}-v{ApiVersion}.bin";

    public override string ToString() =>
        $"#{Sequence} conn {ConnectionId} {ApiName} v{ApiVersion} corr {CorrelationId} client '{ClientId}' ({Bytes.Length} bytes)";
}

public sealed class CaptureBrokerOptions
{
    public int NodeId { get; init; } = 1;

    /// <summary>Partitions of a topic the broker creates on demand (Metadata for an unknown name, or CreateTopics with -1).</summary>
    public int PartitionsPerTopic { get; init; } = 3;

    public string ClusterId { get; init; } = "aspire-capture-cluster";

    /// <summary>Topics that exist from the start (what "all topics" Metadata requests list).</summary>
    public IReadOnlyList<string> Topics { get; init; } = [];

    /// <summary>Advertise other ranges than <see cref="CaptureBroker.AdvertisedVersions"/> for some APIs (to see how clients react).</summary>
    public IReadOnlyDictionary<short, VersionRange> AdvertisedOverrides { get; init; } = new Dictionary<short, VersionRange>();
}

/// <summary>
/// A fake single-node broker on a loopback port for compatibility tests. It records every request
/// frame byte for byte and answers, with the generated message classes, just enough for a real
/// client to carry on: ApiVersions, Metadata, Produce, InitProducerId and CreateTopics. Anything
/// else is recorded as a problem and the connection is closed. Requests on a connection are
/// answered in order, so pipelined requests (kafka-python's ApiVersions v0 + Metadata v0) work.
/// </summary>
public sealed class CaptureBroker : IAsyncDisposable
{
    /// <summary>The UNSUPPORTED_VERSION error code.</summary>
    public const short UnsupportedVersion = 35;

    /// <summary>The TOPIC_ALREADY_EXISTS error code.</summary>
    public const short TopicAlreadyExists = 36;

    /// <summary>
    /// What ApiVersions advertises: the ranges of a Kafka 3.x broker (Produce from v0 so that
    /// librdkafka keeps compression on; DescribeClientQuotas and DescribeAcls v2 so kafka-python's
    /// version probe concludes "2.6+"), capped at what our generated classes support.
    /// </summary>
    public static IReadOnlyList<(short ApiKey, VersionRange Versions)> AdvertisedVersions { get; } =
    [
        (ApiKeys.Produce, new(0, 9)),
        (ApiKeys.Fetch, new(4, 12)),
        (ApiKeys.ListOffsets, new(1, 7)),
        (ApiKeys.Metadata, new(0, 12)),
        (ApiKeys.OffsetCommit, new(2, 8)),
        (ApiKeys.OffsetFetch, new(1, 8)),
        (ApiKeys.FindCoordinator, new(0, 4)),
        (ApiKeys.JoinGroup, new(0, 9)),
        (ApiKeys.Heartbeat, new(0, 4)),
        (ApiKeys.LeaveGroup, new(0, 5)),
        (ApiKeys.SyncGroup, new(0, 5)),
        (ApiKeys.DescribeGroups, new(0, 5)),
        (ApiKeys.ListGroups, new(0, 4)),
        (ApiKeys.SaslHandshake, new(0, 1)),
        (ApiKeys.ApiVersions, new(0, 3)),
        (ApiKeys.CreateTopics, new(2, 7)),
        (ApiKeys.DeleteTopics, new(1, 6)),
        (ApiKeys.DeleteRecords, new(0, 2)),
        (ApiKeys.InitProducerId, new(0, 4)),
        (ApiKeys.OffsetForLeaderEpoch, new(2, 4)),
        (ApiKeys.AddPartitionsToTxn, new(0, 3)),
        (ApiKeys.AddOffsetsToTxn, new(0, 3)),
        (ApiKeys.EndTxn, new(0, 3)),
        (ApiKeys.TxnOffsetCommit, new(0, 3)),
        (ApiKeys.DescribeAcls, new(1, 3)),
        (ApiKeys.CreateAcls, new(1, 3)),
        (ApiKeys.DeleteAcls, new(1, 3)),
        (ApiKeys.DescribeConfigs, new(1, 4)),
        (ApiKeys.AlterConfigs, new(0, 2)),
        (ApiKeys.DescribeLogDirs, new(1, 4)),
        (ApiKeys.SaslAuthenticate, new(0, 2)),
        (ApiKeys.CreatePartitions, new(0, 3)),
        (ApiKeys.DeleteGroups, new(0, 2)),
        (ApiKeys.ElectLeaders, new(0, 2)),
        (ApiKeys.IncrementalAlterConfigs, new(0, 1)),
        (ApiKeys.AlterPartitionReassignments, new(0, 0)),
        (ApiKeys.ListPartitionReassignments, new(0, 0)),
        (ApiKeys.OffsetDelete, new(0, 0)),
        (ApiKeys.DescribeClientQuotas, new(0, 1)),
        (ApiKeys.AlterClientQuotas, new(0, 1)),
        (ApiKeys.DescribeCluster, new(0, 1)),
        (ApiKeys.DescribeProducers, new(0, 0)),
    ];

    /// <summary>The APIs this broker answers; requests for others are recorded and the connection closed.</summary>
    public static IReadOnlySet<short> AnsweredApis { get; } = new HashSet<short>
    {
        ApiKeys.ApiVersions, ApiKeys.Metadata, ApiKeys.Produce, ApiKeys.InitProducerId, ApiKeys.CreateTopics,
    };

    private readonly CaptureBrokerOptions _options;
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _lock = new();
    private readonly List<CapturedFrame> _frames = [];
    private readonly List<string> _problems = [];
    private readonly List<Task> _connections = [];
    private readonly List<Socket> _sockets = [];
    private readonly Dictionary<string, int> _topics = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Topic, int Partition), long> _nextOffsets = [];
    private readonly Task _acceptLoop;
    private int _nextConnectionId;

    public CaptureBroker(CaptureBrokerOptions? options = null)
    {
        _options = options ?? new CaptureBrokerOptions();
        foreach (string topic in _options.Topics)
        {
            _topics[topic] = _options.PartitionsPerTopic;
        }

        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = AcceptLoopAsync();
    }

    public string Host => "127.0.0.1";

    public int Port { get; }

    public string BootstrapServers => $"{Host}:{Port}";

    public int NodeId => _options.NodeId;

    /// <summary>Every request frame received so far, in arrival order.</summary>
    public IReadOnlyList<CapturedFrame> Frames
    {
        get
        {
            lock (_lock)
            {
                return [.. _frames];
            }
        }
    }

    /// <summary>Requests the broker could not answer, and connection errors, as sentences.</summary>
    public IReadOnlyList<string> Problems
    {
        get
        {
            lock (_lock)
            {
                return [.. _problems];
            }
        }
    }

    /// <summary>Records acknowledged per topic-partition (the next offset).</summary>
    public long NextOffset(string topic, int partition)
    {
        lock (_lock)
        {
            return _nextOffsets.GetValueOrDefault((topic, partition));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        Task[] connections;
        lock (_lock)
        {
            foreach (Socket socket in _sockets)
            {
                socket.Dispose();
            }

            connections = [.. _connections];
        }

        try
        {
            await Task.WhenAll([_acceptLoop, .. connections]).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (OperationCanceledException)
        {
        }
        catch (TimeoutException)
        {
            AddProblem("connection loops did not stop within 10 s of disposal");
        }

        _stopping.Dispose();
    }

    private void AddProblem(string problem)
    {
        lock (_lock)
        {
            _problems.Add(problem);
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            socket.NoDelay = true;
            lock (_lock)
            {
                int connectionId = ++_nextConnectionId;
                _sockets.Add(socket);
                _connections.Add(Task.Run(() => ServeAsync(socket, connectionId)));
            }
        }
    }

    private async Task ServeAsync(Socket socket, int connectionId)
    {
        CancellationToken cancellation = _stopping.Token;
        await using var stream = new NetworkStream(socket, ownsSocket: true);
        PipeReader reader = PipeReader.Create(stream);
        try
        {
            while (true)
            {
                ReadResult result = await reader.ReadAsync(cancellation);
                ReadOnlySequence<byte> buffer = result.Buffer;
                bool keepOpen = true;
                while (keepOpen && KafkaFrame.TryRead(ref buffer, KafkaFrame.DefaultMaxFrameSize, out ReadOnlySequence<byte> frame))
                {
                    byte[] bytes = new byte[frame.Length + 4];
                    BinaryPrimitives.WriteInt32BigEndian(bytes, (int)frame.Length);
                    frame.CopyTo(bytes.AsSpan(4));
                    keepOpen = await HandleAsync(stream, connectionId, bytes, cancellation);
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                if (!keepOpen || result.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or SocketException)
        {
            // The client went away, or the broker is stopping.
        }
        catch (Exception e)
        {
            AddProblem($"connection {connectionId}: {e.GetType().Name}: {e.Message}");
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    /// <summary>Records one request and writes its response; false closes the connection.</summary>
    private async Task<bool> HandleAsync(Stream stream, int connectionId, byte[] bytes, CancellationToken cancellation)
    {
        ReadOnlyMemory<byte> frame = bytes.AsMemory(4);
        if (frame.Length < 4)
        {
            AddProblem($"connection {connectionId}: a {frame.Length}-byte frame is too short for a request header");
            return false;
        }

        short apiKey = BinaryPrimitives.ReadInt16BigEndian(frame.Span);
        short apiVersion = BinaryPrimitives.ReadInt16BigEndian(frame.Span[2..]);
        ApiMessageType? type = ApiMessageTypes.Find(apiKey);
        RequestHeader header;
        var reader = new KafkaReader(frame);
        try
        {
            header = RequestHeader.Read(ref reader, type?.RequestHeaderVersion(apiVersion) ?? 1);
        }
        catch (KafkaProtocolException e)
        {
            AddProblem($"connection {connectionId}: undecodable request header for api key {apiKey} v{apiVersion}: {e.Message}");
            return false;
        }

        CapturedFrame captured;
        lock (_lock)
        {
            captured = new CapturedFrame(_frames.Count + 1, connectionId, apiKey, apiVersion, header.CorrelationId, header.ClientId,
                bytes, DateTimeOffset.UtcNow);
            _frames.Add(captured);
        }

        if (type is null || !AnsweredApis.Contains(apiKey))
        {
            AddProblem($"connection {connectionId}: closed after unanswered request {captured}");
            return false;
        }

        IKafkaMessage? response;
        short responseVersion = apiVersion;
        if (apiKey == ApiKeys.ApiVersions && !Advertised(ApiKeys.ApiVersions).Contains(apiVersion))
        {
            // As Kafka: do not parse a body of an unknown version; answer v0 with the range we support.
            responseVersion = 0;
            response = new ApiVersionsResponse
            {
                ErrorCode = UnsupportedVersion,
                ApiKeys = [new ApiVersionsResponse.ApiVersion { ApiKey = ApiKeys.ApiVersions, MinVersion = Advertised(ApiKeys.ApiVersions).Lowest, MaxVersion = Advertised(ApiKeys.ApiVersions).Highest }],
            };
        }
        else
        {
            if (!Advertised(apiKey).Contains(apiVersion))
            {
                AddProblem($"connection {connectionId}: closed after a request at a version we do not advertise: {captured}");
                return false;
            }

            IKafkaMessage request;
            try
            {
                request = type.ReadRequest(ref reader, apiVersion);
            }
            catch (KafkaProtocolException e)
            {
                AddProblem($"connection {connectionId}: undecodable {captured}: {e.Message}");
                return false;
            }

            response = Answer(request, apiVersion);
        }

        if (response is null)
        {
            return true; // Produce with acks=0.
        }

        using var writer = new KafkaWriter(1024);
        int sizePosition = KafkaFrame.BeginFrame(writer);
        new ResponseHeader { CorrelationId = header.CorrelationId }.Write(writer, type.ResponseHeaderVersion(responseVersion));
        response.Write(writer, responseVersion);
        KafkaFrame.EndFrame(writer, sizePosition);
        await stream.WriteAsync(writer.WrittenMemory, cancellation);
        return true;
    }

    private IEnumerable<(short ApiKey, VersionRange Versions)> Advertisement =>
        AdvertisedVersions.Select(a => (a.ApiKey, _options.AdvertisedOverrides.GetValueOrDefault(a.ApiKey, a.Versions)));

    private VersionRange Advertised(short apiKey)
    {
        foreach ((short key, VersionRange versions) in Advertisement)
        {
            if (key == apiKey)
            {
                return versions;
            }
        }

        return VersionRange.None;
    }

    private IKafkaMessage? Answer(IKafkaMessage request, short version) => request switch
    {
        ApiVersionsRequest => new ApiVersionsResponse
        {
            ApiKeys = [.. Advertisement.Select(a => new ApiVersionsResponse.ApiVersion { ApiKey = a.ApiKey, MinVersion = a.Versions.Lowest, MaxVersion = a.Versions.Highest })],
        },
        MetadataRequest metadata => AnswerMetadata(metadata, version),
        ProduceRequest produce => AnswerProduce(produce, version),
        InitProducerIdRequest => new InitProducerIdResponse { ProducerId = 4000, ProducerEpoch = 0 },
        CreateTopicsRequest create => AnswerCreateTopics(create, version),
        _ => throw new InvalidOperationException($"no answer for {request.GetType().Name}"),
    };

    private int EnsureTopic(string name, int partitions = -1)
    {
        lock (_lock)
        {
            if (!_topics.TryGetValue(name, out int count))
            {
                count = partitions > 0 ? partitions : _options.PartitionsPerTopic;
                _topics[name] = count;
            }

            return count;
        }
    }

    private MetadataResponse AnswerMetadata(MetadataRequest request, short version)
    {
        List<string> names;
        if (request.Topics is null || (version == 0 && request.Topics.Count == 0))
        {
            lock (_lock)
            {
                names = [.. _topics.Keys.Order(StringComparer.Ordinal)];
            }
        }
        else
        {
            names = [.. request.Topics.Select(t => t.Name ?? "")];
        }

        var response = new MetadataResponse
        {
            Brokers = [new MetadataResponse.MetadataResponseBroker { NodeId = NodeId, Host = Host, Port = Port }],
            ClusterId = version >= 2 ? _options.ClusterId : null,
            ControllerId = version >= 1 ? NodeId : -1,
        };
        foreach (string name in names)
        {
            int partitions = EnsureTopic(name);
            var topic = new MetadataResponse.MetadataResponseTopic
            {
                Name = name,
                TopicId = version >= 10 ? TopicId(name) : KafkaUuid.Zero,
            };
            for (int p = 0; p < partitions; p++)
            {
                topic.Partitions.Add(new MetadataResponse.MetadataResponsePartition
                {
                    PartitionIndex = p,
                    LeaderId = NodeId,
                    LeaderEpoch = version >= 7 ? 0 : -1,
                    ReplicaNodes = [NodeId],
                    IsrNodes = [NodeId],
                });
            }

            response.Topics.Add(topic);
        }

        return response;
    }

    private static KafkaUuid TopicId(string name)
    {
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(name));
        return new KafkaUuid(BinaryPrimitives.ReadInt64BigEndian(hash), BinaryPrimitives.ReadInt64BigEndian(hash.AsSpan(8)));
    }

    private ProduceResponse? AnswerProduce(ProduceRequest request, short version)
    {
        var response = new ProduceResponse();
        foreach (ProduceRequest.TopicProduceData topic in request.TopicData)
        {
            EnsureTopic(topic.Name);
            var topicResponse = new ProduceResponse.TopicProduceResponse { Name = topic.Name };
            foreach (ProduceRequest.PartitionProduceData partition in topic.PartitionData)
            {
                ReadOnlySpan<byte> records = partition.Records is { } r ? r.Span : default;
                RecordSetValidation validation = RecordSet.Validate(records);
                var partitionResponse = new ProduceResponse.PartitionProduceResponse
                {
                    Index = partition.Index,
                    LogStartOffset = version >= 5 ? 0 : -1,
                };
                if (!validation.IsValid)
                {
                    partitionResponse.ErrorCode = validation.KafkaErrorCode;
                    partitionResponse.BaseOffset = -1;
                    if (version >= 8)
                    {
                        partitionResponse.ErrorMessage = validation.ErrorMessage;
                    }

                    AddProblem($"produce to {topic.Name}-{partition.Index} rejected: {validation.ErrorMessage}");
                }
                else
                {
                    lock (_lock)
                    {
                        long next = _nextOffsets.GetValueOrDefault((topic.Name, partition.Index));
                        partitionResponse.BaseOffset = next;
                        _nextOffsets[(topic.Name, partition.Index)] = next + validation.RecordCount;
                    }
                }

                topicResponse.PartitionResponses.Add(partitionResponse);
            }

            response.Responses.Add(topicResponse);
        }

        return request.Acks == 0 ? null : response;
    }

    private CreateTopicsResponse AnswerCreateTopics(CreateTopicsRequest request, short version)
    {
        var response = new CreateTopicsResponse();
        foreach (CreateTopicsRequest.CreatableTopic topic in request.Topics)
        {
            var result = new CreateTopicsResponse.CreatableTopicResult { Name = topic.Name, ErrorMessage = null };
            bool exists;
            lock (_lock)
            {
                exists = _topics.ContainsKey(topic.Name);
            }

            if (exists)
            {
                result.ErrorCode = TopicAlreadyExists;
                result.ErrorMessage = $"Topic '{topic.Name}' already exists.";
                response.Topics.Add(result);
                continue;
            }

            int partitions = request.ValidateOnly ? Math.Max(topic.NumPartitions, 1) : EnsureTopic(topic.Name, topic.NumPartitions);
            if (version >= 5)
            {
                result.NumPartitions = partitions;
                result.ReplicationFactor = 1;
            }

            if (version >= 7)
            {
                result.TopicId = TopicId(topic.Name);
            }

            response.Topics.Add(result);
        }

        return response;
    }
}
