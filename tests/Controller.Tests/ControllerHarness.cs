using Aspire.Kafka.Metadata;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Controller.Tests;

/// <summary>
/// An active controller whose results are "committed" at once (appended to an in-memory log and
/// replayed), a standby that replays the same log, and a clock. Checks that replaying the log
/// reproduces the active controller's state whenever asked.
/// </summary>
internal sealed class ControllerHarness
{
    public const int RaftEpoch = 1;

    public ControllerHarness(QuorumControllerConfig? config = null)
    {
        config ??= new QuorumControllerConfig();
        config = config with { RandomSeed = config.RandomSeed ?? 42, ClusterId = config.ClusterId ?? "cluster-1" };
        Controller = new QuorumController(config);
        Standby = new QuorumController(config);
        Commit(Controller.Activate(RaftEpoch, 1, NowMs));
    }

    public long NowMs { get; set; } = 1_000_000;

    public QuorumController Controller { get; }

    public QuorumController Standby { get; }

    public List<(long Offset, ApiMessageAndVersion Record)> Log { get; } = [];

    public Dictionary<int, KafkaUuid> Incarnations { get; } = [];

    public MetadataImage Image => Controller.LatestImage;

    public T Commit<T>(ControllerResult<T> result)
    {
        if (result.HasRecords)
        {
            long expected = Log.Count == 0 ? 1 : Log[^1].Offset + 1;
            Assert.Equal(expected, result.BaseOffset);
            for (int i = 0; i < result.Records.Count; i++)
            {
                // Every record survives the serde, as it would through the Raft log.
                ApiMessageAndVersion decoded = MetadataRecordSerde.Read(MetadataRecordSerde.Serialize(result.Records[i]));
                Log.Add((result.BaseOffset + i, decoded));
            }

            Controller.Replay(result.Records, result.BaseOffset, RaftEpoch);
            Standby.Replay([.. Log.Skip(Log.Count - result.Records.Count).Select(l => l.Record)], result.BaseOffset, RaftEpoch);
        }

        return result.Response;
    }

    public void AssertReplayReproducesState()
    {
        Assert.Equal(Controller.LatestImage.Describe(), Controller.CommittedImage.Describe());
        Assert.Equal(Controller.CommittedImage.Describe(), Standby.CommittedImage.Describe());
        var delta = new MetadataDelta(MetadataImage.Empty);
        foreach ((long _, ApiMessageAndVersion record) in Log)
        {
            delta.Replay(record);
        }

        MetadataImage replayed = delta.Apply(Controller.CommittedImage.Provenance);
        Assert.Equal(Controller.CommittedImage.Describe(), replayed.Describe());
    }

    public static BrokerRegistrationRequest RegistrationRequest(int id, KafkaUuid incarnation, string? rack = null, bool coordinator = false, string clusterId = "cluster-1")
    {
        var request = new BrokerRegistrationRequest
        {
            BrokerId = id,
            ClusterId = clusterId,
            IncarnationId = incarnation,
            Rack = rack,
            Listeners = [new BrokerRegistrationRequest.Listener { Name = "PLAINTEXT", Host = "localhost", Port = (ushort)(9090 + id), SecurityProtocol = 0 }],
            Features = [new BrokerRegistrationRequest.Feature { Name = "metadata.version", MinSupportedVersion = 1, MaxSupportedVersion = 19 }],
        };
        if (coordinator)
        {
            request.Features.Add(new BrokerRegistrationRequest.Feature { Name = QuorumController.CoordinatorFeature, MinSupportedVersion = 1, MaxSupportedVersion = 1 });
        }

        return request;
    }

    public BrokerRegistrationResponse Register(int id, string? rack = null, bool coordinator = false, KafkaUuid? incarnation = null)
    {
        KafkaUuid inc = incarnation ?? new KafkaUuid(id, NowMs);
        Incarnations[id] = inc;
        return Commit(Controller.RegisterBroker(RegistrationRequest(id, inc, rack, coordinator), NowMs));
    }

    public BrokerHeartbeatResponse Heartbeat(int id, bool wantFence = false, bool wantShutDown = false, long? metadataOffset = null)
    {
        BrokerRegistration node = Image.Cluster.Node(id)!;
        return Commit(Controller.ProcessBrokerHeartbeat(new BrokerHeartbeatRequest
        {
            BrokerId = id,
            BrokerEpoch = node.Epoch,
            CurrentMetadataOffset = metadataOffset ?? Controller.CommittedImage.Offset,
            WantFence = wantFence,
            WantShutDown = wantShutDown,
        }, NowMs));
    }

    /// <summary>Registers and unfences nodes.</summary>
    public void Start(params int[] ids)
    {
        foreach (int id in ids)
        {
            Assert.Equal(Errors.None, Register(id).ErrorCode);
            Assert.False(Heartbeat(id).IsFenced);
        }
    }

    public void StartWithRacks(params (int Id, string Rack)[] nodes)
    {
        foreach ((int id, string rack) in nodes)
        {
            Assert.Equal(Errors.None, Register(id, rack).ErrorCode);
            Assert.False(Heartbeat(id).IsFenced);
        }
    }

    public void StartCoordinators(params int[] ids)
    {
        foreach (int id in ids)
        {
            Assert.Equal(Errors.None, Register(id, coordinator: true).ErrorCode);
            Assert.False(Heartbeat(id).IsFenced);
        }
    }

    public CreateTopicsResponse.CreatableTopicResult CreateTopic(string name, int partitions, short replicationFactor, params (string Key, string Value)[] configs)
    {
        var request = new CreateTopicsRequest();
        request.Topics.Add(Topic(name, partitions, replicationFactor, configs));
        return Commit(Controller.CreateTopics(request, NowMs)).Topics[0];
    }

    public static CreateTopicsRequest.CreatableTopic Topic(string name, int partitions, short replicationFactor, params (string Key, string Value)[] configs) => new()
    {
        Name = name,
        NumPartitions = partitions,
        ReplicationFactor = replicationFactor,
        Configs = [.. configs.Select(c => new CreateTopicsRequest.CreatableTopicConfig { Name = c.Key, Value = c.Value })],
    };

    public TickResult Tick() => Commit(Controller.Tick(NowMs));

    /// <summary>Advances the clock in heartbeat-interval steps; the listed nodes heartbeat at every step, then the controller ticks.</summary>
    public List<TickResult> Advance(long ms, params int[] heartbeating)
    {
        var ticks = new List<TickResult>();
        long end = NowMs + ms;
        while (NowMs < end)
        {
            NowMs = Math.Min(end, NowMs + 1000);
            foreach (int id in heartbeating)
            {
                Heartbeat(id);
            }

            ticks.Add(Tick());
        }

        return ticks;
    }

    public PartitionRegistration Partition(string topic, int partition) => Image.Topics.GetTopic(topic)!.Partition(partition)!;
}
