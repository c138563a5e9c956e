using Aspire.Kafka.Metadata;
using Aspire.Kafka.Protocol.Messages;
using Xunit.Abstractions;

namespace Aspire.Kafka.Controller.Tests;

/// <summary>
/// Random operation sequences (seeded): after each step the records the operations produced,
/// replayed through the serde by a standby controller and by a fresh delta, give the active
/// controller's state; cluster invariants hold throughout. A failure names its seed.
/// </summary>
public sealed class ReplayPropertyTests
{
    private readonly ITestOutputHelper _output;

    public ReplayPropertyTests(ITestOutputHelper output)
    {
        _output = output;
    }

    /// <summary>40 seeds by default; ASPIRE_CONTROLLER_SEEDS=N runs N (ASPIRE_CONTROLLER_SEED=S runs just S).</summary>
    public static TheoryData<int> Seeds()
    {
        if (int.TryParse(Environment.GetEnvironmentVariable("ASPIRE_CONTROLLER_SEED"), out int one))
        {
            return [one];
        }

        int count = int.TryParse(Environment.GetEnvironmentVariable("ASPIRE_CONTROLLER_SEEDS"), out int n) && n > 0 ? n : 40;
        return [.. Enumerable.Range(1, count)];
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void ReplayingTheRecordsReproducesTheState(int seed)
    {
        try
        {
            ControllerHarness h = Run(seed, steps: 120, commitEvery: 1);
            _output.WriteLine(string.Join(", ", h.Log.GroupBy(l => l.Record.Message.GetType().Name).OrderBy(g => g.Key).Select(g => $"{g.Key}={g.Count()}")));
            _output.WriteLine($"topics: {string.Join(", ", h.Image.Topics.InNameOrder().Select(t => $"{t.Name}/{t.Partitions.Count}"))}; nodes: {string.Join(", ", h.Image.Cluster.Nodes.Values.Select(n => $"{n.Id}{(n.Fenced ? "F" : "")}{(n.InControlledShutdown ? "S" : "")}"))}");
        }
        catch (Exception e)
        {
            _output.WriteLine($"seed {seed} failed: {e}");
            throw new InvalidOperationException($"Replay property failed for seed {seed} (rerun ReplayingTheRecordsReproducesTheState({seed})).", e);
        }
    }

    public static TheoryData<int> PipelinedSeeds() => [.. Enumerable.Range(1000, 12)];

    [Theory]
    [MemberData(nameof(PipelinedSeeds))]
    public void PipelinedOperationsCommittedLaterGiveTheSameState(int seed)
    {
        try
        {
            Run(seed, steps: 120, commitEvery: 5);
        }
        catch (Exception e)
        {
            _output.WriteLine($"seed {seed} failed: {e}");
            throw new InvalidOperationException($"Replay property (pipelined) failed for seed {seed} (rerun PipelinedOperationsCommittedLaterGiveTheSameState({seed})).", e);
        }
    }

    private static ControllerHarness Run(int seed, int steps, int commitEvery)
    {
        var random = new Random(seed);
        var h = new ControllerHarness(new QuorumControllerConfig
        {
            RandomSeed = seed,
            OffsetsTopicNumPartitions = 7,
            LeaderImbalanceCheckIntervalSeconds = 3,
        });
        var queue = new List<Action>();
        void Do<T>(ControllerResult<T> result)
        {
            queue.Add(() => h.Commit(result));
            if (queue.Count >= commitEvery)
            {
                Flush();
            }
        }

        void Flush()
        {
            foreach (Action commit in queue)
            {
                commit();
            }

            queue.Clear();
            h.AssertReplayReproducesState();
            CheckInvariants(h.Image);
        }

        int[] brokerIds = [1, 2, 3, 4, 5];
        int[] coordinatorIds = [100, 101, 102];
        string[] topics = ["a", "b", "c", "d.e", "d_e", "__consumer_offsets"];
        for (int step = 0; step < steps; step++)
        {
            h.NowMs += random.Next(0, 3000);
            MetadataImage image = h.Controller.LatestImage;
            int op = random.Next(12);
            switch (op)
            {
                case 0:
                case 1:
                {
                    bool coordinator = random.Next(4) == 0;
                    int id = coordinator ? coordinatorIds[random.Next(coordinatorIds.Length)] : brokerIds[random.Next(brokerIds.Length)];
                    var incarnation = new Aspire.Kafka.Protocol.KafkaUuid(id, random.Next(3));
                    Do(h.Controller.RegisterBroker(ControllerHarness.RegistrationRequest(id, incarnation, rack: random.Next(2) == 0 ? null : $"r{id % 2}", coordinator: coordinator), h.NowMs));
                    break;
                }

                case 2:
                case 3:
                case 4:
                {
                    if (image.Cluster.Nodes.Count == 0)
                    {
                        break;
                    }

                    BrokerRegistration node = image.Cluster.Nodes.Values.ElementAt(random.Next(image.Cluster.Nodes.Count));
                    Do(h.Controller.ProcessBrokerHeartbeat(new BrokerHeartbeatRequest
                    {
                        BrokerId = node.Id,
                        BrokerEpoch = random.Next(10) == 0 ? node.Epoch - 1 : node.Epoch,
                        CurrentMetadataOffset = h.Controller.CommittedImage.Offset - random.Next(2),
                        WantFence = random.Next(8) == 0,
                        WantShutDown = random.Next(10) == 0,
                    }, h.NowMs));
                    break;
                }

                case 5:
                {
                    string name = topics[random.Next(topics.Length)];
                    var topic = ControllerHarness.Topic(name, random.Next(-1, 5), (short)random.Next(-1, 4));
                    if (random.Next(3) == 0)
                    {
                        topic.Configs.Add(new CreateTopicsRequest.CreatableTopicConfig { Name = "unclean.leader.election.enable", Value = random.Next(2) == 0 ? "true" : "false" });
                    }

                    Do(h.Controller.CreateTopics(new CreateTopicsRequest { Topics = [topic], ValidateOnly = random.Next(6) == 0 }, h.NowMs));
                    break;
                }

                case 6:
                    Do(h.Controller.DeleteTopics(new DeleteTopicsRequest { TopicNames = [topics[random.Next(topics.Length)]] }, h.NowMs));
                    break;
                case 7:
                    Do(h.Controller.CreatePartitions(new CreatePartitionsRequest { Topics = [new CreatePartitionsRequest.CreatePartitionsTopic { Name = topics[random.Next(topics.Length)], Count = random.Next(1, 8), Assignments = null }] }, h.NowMs));
                    break;
                case 8:
                {
                    TopicImage? topic = image.Topics.TopicsById.Values.OrderBy(t => t.Name, StringComparer.Ordinal).ElementAtOrDefault(random.Next(Math.Max(1, image.Topics.TopicsById.Count)));
                    if (topic is null)
                    {
                        break;
                    }

                    (int pid, PartitionRegistration p) = topic.Partitions.ElementAt(random.Next(topic.Partitions.Count));
                    if (!p.HasLeader || image.Cluster.Broker(p.Leader) is not { } leader)
                    {
                        break;
                    }

                    // The leader shrinks or expands the ISR to a random subset of the replicas that includes itself.
                    int[] isr = [p.Leader, .. p.Replicas.Where(r => r != p.Leader && random.Next(2) == 0)];
                    Do(h.Controller.AlterPartition(new AlterPartitionRequest
                    {
                        BrokerId = leader.Id,
                        BrokerEpoch = leader.Epoch,
                        Topics =
                        [
                            new AlterPartitionRequest.TopicData
                            {
                                TopicId = topic.Id,
                                Partitions =
                                [
                                    new AlterPartitionRequest.PartitionData
                                    {
                                        PartitionIndex = pid,
                                        LeaderEpoch = p.LeaderEpoch,
                                        PartitionEpoch = p.PartitionEpoch - random.Next(2),
                                        NewIsrWithEpochs = [.. isr.Select(r => new AlterPartitionRequest.BrokerState { BrokerId = r, BrokerEpoch = -1 })],
                                        LeaderRecoveryState = 0,
                                    },
                                ],
                            },
                        ],
                    }, 3, h.NowMs));
                    break;
                }

                case 9:
                    Do(h.Controller.ElectLeaders(new ElectLeadersRequest { ElectionType = (sbyte)random.Next(2), TopicPartitions = null }, h.NowMs));
                    break;
                case 10:
                    Do(h.Controller.IncrementalAlterConfigs(new IncrementalAlterConfigsRequest
                    {
                        Resources =
                        [
                            new IncrementalAlterConfigsRequest.AlterConfigsResource
                            {
                                ResourceType = 2,
                                ResourceName = topics[random.Next(topics.Length)],
                                Configs = [new IncrementalAlterConfigsRequest.AlterableConfig { Name = "unclean.leader.election.enable", ConfigOperation = (sbyte)random.Next(2), Value = "true" }],
                            },
                        ],
                    }, h.NowMs));
                    break;
                default:
                    if (random.Next(3) == 0)
                    {
                        Do(h.Controller.EnsureConsumerOffsetsTopic(h.NowMs));
                    }

                    Do(h.Controller.Tick(h.NowMs));
                    break;
            }
        }

        Flush();
        return h;
    }

    internal static void CheckInvariants(MetadataImage image)
    {
        foreach (TopicImage topic in image.Topics.TopicsById.Values)
        {
            foreach ((int id, PartitionRegistration p) in topic.Partitions)
            {
                string where = $"{topic.Name}-{id} {p}";
                Assert.True(p.Isr.Count > 0, $"empty ISR: {where}");
                Assert.True(p.Isr.All(p.Replicas.Contains), $"ISR not within replicas: {where}");
                Assert.Equal(p.Isr.Count, p.Isr.Distinct().Count());
                Assert.All(p.Replicas, r => Assert.False(image.Cluster.Node(r) is { IsCoordinator: true }, $"coordinator as replica: {where}"));
                if (p.HasLeader)
                {
                    Assert.True(p.Isr.Contains(p.Leader), $"leader outside the ISR: {where}");
                    Assert.True(image.Cluster.IsActiveBroker(p.Leader), $"leader {p.Leader} not active: {where}");
                }
            }
        }

        foreach (CoordinatorAssignment a in image.Coordinators.Assignments.Values)
        {
            if (a.IsAssigned)
            {
                Assert.True(image.Cluster.Coordinators.TryGetValue(a.CoordinatorId, out BrokerRegistration? c) && c.IsActive, $"partition {a.PartitionId} assigned to inactive coordinator {a.CoordinatorId}");
            }
        }

        if (image.Topics.GetTopic("__consumer_offsets") is { } offsets && image.Cluster.Coordinators.Values.Any(c => c.IsActive))
        {
            var counts = image.Coordinators.Assignments.Values.Where(a => a.IsAssigned).GroupBy(a => a.CoordinatorId).Select(g => g.Count()).ToList();
            Assert.Equal(offsets.Partitions.Count, counts.Sum());
            int live = image.Cluster.Coordinators.Values.Count(c => c.IsActive);
            Assert.True(counts.Count == Math.Min(live, offsets.Partitions.Count) && counts.Max() - counts.Min() <= 1, "coordinator assignment unbalanced");
        }
    }
}
