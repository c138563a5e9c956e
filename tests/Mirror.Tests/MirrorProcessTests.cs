using System.Globalization;
using Aspire.Kafka.AppHost.Tests;
using Aspire.Kafka.Client;
using Aspire.Kafka.Hosting;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Topology;

namespace Aspire.Kafka.Mirror.Tests;

/// <summary>A primary and a backup cluster (each 1 controller, 2 brokers, 1 coordinator) and the mirror between them, as processes.</summary>
public sealed class MirrorFixture : IAsyncLifetime
{
    private TestCluster? _cluster;

    public TestCluster Cluster => _cluster ?? throw new InvalidOperationException("The clusters are not started.");

    public string Primary => Cluster.BootstrapServers(KafkaTopology.Primary);

    public string Backup => Cluster.BootstrapServers(KafkaTopology.Backup);

    public async Task InitializeAsync()
    {
        ClusterSpec Spec(string name) => new(name)
        {
            Controllers = 1,
            Brokers = 2,
            Coordinators = 1,
            ControllerConfig = new Dictionary<string, string> { ["broker.session.timeout.ms"] = "4000", ["offsets.topic.num.partitions"] = "4" },
            BrokerConfig = new Dictionary<string, string> { ["broker.heartbeat.interval.ms"] = "500", ["replica.fetch.wait.max.ms"] = "100" },
            CoordinatorConfig = new Dictionary<string, string>
            {
                ["broker.heartbeat.interval.ms"] = "500",
                ["offsets.topic.num.partitions"] = "4",
                ["group.initial.rebalance.delay.ms"] = "0",
            },
        };
        KafkaTopology topology = KafkaTopology.Plan([Spec(KafkaTopology.Primary), Spec(KafkaTopology.Backup)], mirrors:
        [
            new MirrorSpec(KafkaTopology.Primary, KafkaTopology.Backup)
            {
                Config = new Dictionary<string, string>
                {
                    ["refresh.topics.interval.ms"] = "1000",
                    ["sync.topic.configs.interval.ms"] = "1000",
                    ["consumer.offset.sync.ms"] = "500",
                    ["retry.backoff.ms"] = "200",
                },
            },
        ]);
        _cluster = await TestCluster.StartAsync(topology);
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}

public sealed class MirrorProcessTests(MirrorFixture fixture) : IClassFixture<MirrorFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    private KafkaClient Client(string bootstrap) => new(new KafkaClientOptions { BootstrapServers = bootstrap.Split(','), ClientId = "mirror-tests" });

    [Fact]
    public async Task Every_record_lands_on_the_backup_at_its_partition_and_offset_with_every_codec_and_the_topic_s_configs()
    {
        const string Topic = "mirrored";
        await using KafkaClient primary = Client(fixture.Primary);
        await using KafkaClient backup = Client(fixture.Backup);
        (await primary.CreateTopicsAsync([new NewTopic(Topic, 3, 2, new Dictionary<string, string?> { ["retention.ms"] = "86400000", ["max.message.bytes"] = "2000000" })]))
            .Single().ThrowIfError();

        // 100,000 keyed records through kcat: 20,000 per codec, every other codec from an idempotent producer.
        string[] codecs = ["none", "gzip", "snappy", "lz4", "zstd"];
        for (int c = 0; c < codecs.Length; c++)
        {
            string file = Path.GetTempFileName();
            await File.WriteAllLinesAsync(file, Enumerable.Range(0, 20_000).Select(i => $"k{c}-{i % 997}:{codecs[c]}-{i}"));
            string[] args = ["-P", "-b", fixture.Primary, "-t", Topic, "-K:", "-z", codecs[c], "-l", file, "-X", "acks=all", .. (c % 2 == 0 ? new[] { "-X", "enable.idempotence=true" } : [])];
            (int exit, string output) = await Tools.RunAsync("kcat", args, TimeSpan.FromMinutes(2));
            File.Delete(file);
            Assert.True(exit == 0, $"kcat -z {codecs[c]}: {output}");
        }

        await CaughtUpAsync(primary, backup, Topic, 3);
        string onPrimary = await ConsumeAsync(fixture.Primary, Topic);
        string onBackup = await ConsumeAsync(fixture.Backup, Topic);
        Assert.Equal(100_000, onPrimary.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.True(onPrimary == onBackup, "the backup's partitions, offsets, keys and values differ from the primary's");

        // The topic configs are the source's, and the mirror topic says whose mirror it is.
        IReadOnlyDictionary<string, string?> source = (await primary.DescribeTopicConfigsAsync([Topic]))[Topic].SetOnTopic;
        IReadOnlyDictionary<string, string?> target = (await backup.DescribeTopicConfigsAsync([Topic]))[Topic].SetOnTopic;
        Assert.Equal(source.OrderBy(c => c.Key), target.Where(c => c.Key != "aspire.mirror.source").OrderBy(c => c.Key));
        Assert.Equal("primary", target["aspire.mirror.source"]);

        // A config change on the source follows.
        (await primary.AlterTopicConfigsAsync(new Dictionary<string, IReadOnlyDictionary<string, string?>> { [Topic] = new Dictionary<string, string?> { ["retention.ms"] = "3600000" } }))
            .Single().ThrowIfError();
        await EventuallyAsync(async () => (await backup.DescribeTopicConfigsAsync([Topic]))[Topic].SetOnTopic.GetValueOrDefault("retention.ms") == "3600000",
            "retention.ms=3600000 did not reach the mirror topic");
    }

    [Fact]
    public async Task Producers_are_refused_on_a_mirror_topic_with_policy_violation()
    {
        const string Topic = "read-only";
        await using KafkaClient primary = Client(fixture.Primary);
        await using KafkaClient backup = Client(fixture.Backup);
        (await primary.CreateTopicsAsync([new NewTopic(Topic, 1, 2)])).Single().ThrowIfError();
        await primary.ProduceAsync(Topic, 0, [new ProducerRecord(null, [1])]);
        await CaughtUpAsync(primary, backup, Topic, 1);

        var refused = await Assert.ThrowsAsync<KafkaErrorException>(() => backup.ProduceAsync(Topic, 0, [new ProducerRecord(null, [2])]));
        Assert.Equal(ErrorCode.PolicyViolation, refused.ErrorCode);
        Assert.Contains("read-only mirror of cluster 'primary'", refused.Message, StringComparison.Ordinal);

        string file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, "x\n");
        (_, string kcat) = await Tools.RunAsync("kcat", ["-P", "-b", fixture.Backup, "-t", Topic, "-p", "0", "-l", file], TimeSpan.FromSeconds(60));
        File.Delete(file);
        Assert.Contains("Policy violation", kcat, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(1, (await backup.ListOffsetsAsync(Topic, 0, OffsetSpec.Latest)).Offset); // nothing written
    }

    [Fact]
    public async Task A_mirror_killed_mid_stream_and_restarted_neither_duplicates_nor_skips()
    {
        const string Topic = "kill-the-mirror";
        await using KafkaClient primary = Client(fixture.Primary);
        await using KafkaClient backup = Client(fixture.Backup);
        (await primary.CreateTopicsAsync([new NewTopic(Topic, 2, 2)])).Single().ThrowIfError();
        ResourceProcess mirror = fixture.Cluster.Node("mirror");
        for (int round = 0; round < 200; round++)
        {
            await primary.ProduceAsync(Topic, round % 2, [.. Enumerable.Range(0, 50).Select(i => new ProducerRecord(
                System.Text.Encoding.UTF8.GetBytes($"r{round}"), System.Text.Encoding.UTF8.GetBytes($"{round}-{i}")))], acks: -1);
            if (round == 100)
            {
                await mirror.KillAsync();
            }
        }

        await mirror.RestartAsync();
        await CaughtUpAsync(primary, backup, Topic, 2);
        string onPrimary = await ConsumeAsync(fixture.Primary, Topic);
        Assert.Equal(10_000, onPrimary.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.True(onPrimary == await ConsumeAsync(fixture.Backup, Topic), "after the kill -9 and restart the backup differs from the primary");
    }

    [Fact]
    public async Task Committed_offsets_of_a_source_group_are_synced_to_the_backup_as_they_are()
    {
        const string Topic = "group-synced";
        const string Group = "synced-group";
        await using KafkaClient primary = Client(fixture.Primary);
        await using KafkaClient backup = Client(fixture.Backup);
        (await primary.CreateTopicsAsync([new NewTopic(Topic, 2, 2)])).Single().ThrowIfError();
        for (int p = 0; p < 2; p++)
        {
            await primary.ProduceAsync(Topic, p, [.. Enumerable.Range(0, 10).Select(i => new ProducerRecord(null, [(byte)i]))]);
        }

        await CaughtUpAsync(primary, backup, Topic, 2);
        await CommitAsync(primary, Group, Topic, [(0, 7), (1, 3)]);
        await EventuallyAsync(async () => (await CommittedAsync(backup, Group, Topic)).SequenceEqual([7L, 3L]), "the group's offsets 7 and 3 did not reach the backup");

        await CommitAsync(primary, Group, Topic, [(0, 10)]);
        await EventuallyAsync(async () => (await CommittedAsync(backup, Group, Topic)).SequenceEqual([10L, 3L]), "the group's new offset 10 did not reach the backup");
    }

    [Fact]
    public async Task Kafka_mirrors_describes_pauses_resumes_and_fails_over_and_the_topic_then_takes_producers()
    {
        const string Topic = "failover-me";
        await using KafkaClient primary = Client(fixture.Primary);
        await using KafkaClient backup = Client(fixture.Backup);
        (await primary.CreateTopicsAsync([new NewTopic(Topic, 2, 2)])).Single().ThrowIfError();
        for (int p = 0; p < 2; p++)
        {
            await primary.ProduceAsync(Topic, p, [.. Enumerable.Range(0, 10).Select(i => new ProducerRecord(null, [(byte)i]))]);
        }

        await CaughtUpAsync(primary, backup, Topic, 2);
        string described = await MirrorsAsync("--describe", "--topic", Topic, "--bootstrap-server", fixture.Backup);
        Assert.Contains($"Topic: {Topic}\tState: Mirroring\tNumPartitions: 2\tLag: 0", described, StringComparison.Ordinal);
        Assert.Contains("\tPartition: 1\tState: Mirroring\tSourceEndOffset: 10\tDestLogEndOffset: 10\tLag: 0", described, StringComparison.Ordinal);

        Assert.Contains("State: Paused", await MirrorsAsync("--pause", "--topic", Topic), StringComparison.Ordinal);
        Assert.Contains("State: Mirroring", await MirrorsAsync("--resume", "--topic", Topic), StringComparison.Ordinal);
        await primary.ProduceAsync(Topic, 0, [new ProducerRecord(null, [42])]);
        await CaughtUpAsync(primary, backup, Topic, 2); // resumed: the new record arrives

        Assert.Contains($"Topic: {Topic}\tState: FailedOver", await MirrorsAsync("--failover", "--topic", Topic), StringComparison.Ordinal);
        await EventuallyAsync(async () =>
        {
            try
            {
                return (await backup.ProduceAsync(Topic, 0, [new ProducerRecord(null, [7])])).BaseOffset == 11;
            }
            catch (KafkaErrorException e) when (e.ErrorCode == ErrorCode.PolicyViolation)
            {
                return false; // the brokers apply the config change as the metadata reaches them
            }
        }, "the failed-over topic does not take producers");

        // The source goes on alone: nothing more is copied into the failed-over topic.
        await primary.ProduceAsync(Topic, 1, [new ProducerRecord(null, [8])]);
        Assert.Contains("\tPartition: 1\tState: FailedOver\tSourceEndOffset: 10\tDestLogEndOffset: 10", await MirrorsAsync("--describe", "--topic", Topic), StringComparison.Ordinal);

        (int exit, string wrongCluster) = await MirrorsRawAsync("--describe", "--bootstrap-server", fixture.Primary);
        Assert.Equal(1, exit);
        Assert.Contains("mirrors into", wrongCluster, StringComparison.Ordinal);
        (int unknownExit, string unknown) = await MirrorsRawAsync("--failover", "--topic", "no-such-topic");
        Assert.Equal(1, unknownExit);
        Assert.Contains("no-such-topic is not a mirror topic of this mirror", unknown, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Promote_waits_for_zero_lag_and_synced_groups_then_fails_over()
    {
        const string Topic = "promote-me";
        await using KafkaClient primary = Client(fixture.Primary);
        await using KafkaClient backup = Client(fixture.Backup);
        (await primary.CreateTopicsAsync([new NewTopic(Topic, 1, 2)])).Single().ThrowIfError();
        await CaughtUpAsync(primary, backup, Topic, 1);
        for (int round = 0; round < 20; round++)
        {
            await primary.ProduceAsync(Topic, 0, [.. Enumerable.Range(0, 50).Select(i => new ProducerRecord(null, [(byte)i]))]);
        }

        string promoted = await MirrorsAsync("--promote", "--topic", Topic, "--timeout-ms", "60000");
        Assert.Contains("\tPartition: 0\tState: FailedOver\tSourceEndOffset: 1000\tDestLogEndOffset: 1000\tLag: 0", promoted, StringComparison.Ordinal);
        Assert.Equal(1000, (await backup.ListOffsetsAsync(Topic, 0, OffsetSpec.Latest)).Offset);
    }

    /// <summary>Runs kafka-mirrors against the fixture's mirror; fails the test unless it exits 0.</summary>
    private async Task<string> MirrorsAsync(params string[] args)
    {
        (int exit, string output) = await MirrorsRawAsync(args);
        Assert.True(exit == 0, $"kafka-mirrors {string.Join(' ', args)} exited {exit}: {output}");
        return output;
    }

    private Task<(int ExitCode, string Output)> MirrorsRawAsync(params string[] args)
    {
        string control = fixture.Cluster.Topology!.Mirrors.Single().Config.Last(c => c.Key == "control.listener").Value;
        string configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name; // bin/<Configuration>/net10.0
        string tool = Path.Combine(ServiceProjects.FindRoot(), "tools", "KafkaMirrors", "bin", configuration, "net10.0", "kafka-mirrors.dll");
        return Tools.RunAsync("dotnet", [tool, "--mirror-server", control, .. args], TimeSpan.FromMinutes(2));
    }

    /// <summary>Until the backup's end offsets of every partition equal the primary's (and the primary has them all).</summary>
    private static async Task CaughtUpAsync(KafkaClient primary, KafkaClient backup, string topic, int partitions)
    {
        long[] source = [];
        long[] target = [];
        await EventuallyAsync(async () =>
        {
            source = await Task.WhenAll(Enumerable.Range(0, partitions).Select(async p => (await primary.ListOffsetsAsync(topic, p, OffsetSpec.Latest)).Offset));
            try
            {
                await backup.RefreshMetadataAsync([topic]);
                target = await Task.WhenAll(Enumerable.Range(0, partitions).Select(async p => (await backup.ListOffsetsAsync(topic, p, OffsetSpec.Latest)).Offset));
            }
            catch (KafkaErrorException)
            {
                return false; // the mirror topic is not there yet
            }

            return source.SequenceEqual(target);
        }, () => $"{topic}: primary end offsets [{string.Join(',', source)}], backup [{string.Join(',', target)}]");
    }

    /// <summary>kcat's view of every record: "partition offset key value" lines, sorted.</summary>
    private static async Task<string> ConsumeAsync(string bootstrap, string topic)
    {
        (int exit, string output) = await Tools.RunAsync("kcat", ["-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%p %o %k %s\\n"], TimeSpan.FromMinutes(2));
        Assert.True(exit == 0, output);
        return string.Join('\n', output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
    }

    /// <summary>A standalone commit, retried on the coordinator's retriable answers as a client retries.</summary>
    private static async Task CommitAsync(KafkaClient client, string group, string topic, (int Partition, long Offset)[] offsets)
    {
        short[] errors = [];
        await EventuallyAsync(async () =>
        {
            KafkaNode coordinator = await FindCoordinatorAsync(client, group);
            OffsetCommitResponse response = await client.Network.SendAsync<OffsetCommitRequest, OffsetCommitResponse>(coordinator, new OffsetCommitRequest
            {
                GroupId = group,
                GenerationIdOrMemberEpoch = -1,
                Topics = [new() { Name = topic, Partitions = [.. offsets.Select(o => new OffsetCommitRequest.OffsetCommitRequestPartition { PartitionIndex = o.Partition, CommittedOffset = o.Offset })] }],
            }, 7);
            errors = [.. response.Topics.SelectMany(t => t.Partitions).Select(p => p.ErrorCode)];
            Assert.All(errors, e => Assert.True(e is 0 or (short)ErrorCode.CoordinatorLoadInProgress or (short)ErrorCode.NotCoordinator or (short)ErrorCode.CoordinatorNotAvailable, $"commit error {e}"));
            return errors.All(e => e == 0);
        }, () => $"the commit of {group} answered [{string.Join(',', errors)}]");
    }

    private static async Task<long[]> CommittedAsync(KafkaClient client, string group, string topic)
    {
        KafkaNode coordinator = await FindCoordinatorAsync(client, group);
        OffsetFetchResponse response = await client.Network.SendAsync<OffsetFetchRequest, OffsetFetchResponse>(coordinator,
            new OffsetFetchRequest { GroupId = group, Topics = [new() { Name = topic, PartitionIndexes = [0, 1] }] }, 7);
        // While the coordinator loads, the answer carries its error and no offsets: the caller polls again.
        return response.ErrorCode != 0 ? [] : [.. response.Topics.Single().Partitions.OrderBy(p => p.PartitionIndex).Select(p => p.CommittedOffset)];
    }

    private static async Task<KafkaNode> FindCoordinatorAsync(KafkaClient client, string group)
    {
        KafkaNode? found = null;
        await EventuallyAsync(async () =>
        {
            KafkaNode any = (await client.RefreshMetadataAsync([])).Brokers.Values.First();
            FindCoordinatorResponse answer = await client.Network.SendAsync<FindCoordinatorRequest, FindCoordinatorResponse>(any, new FindCoordinatorRequest { Key = group }, 3);
            found = answer.ErrorCode == 0 ? new KafkaNode(answer.NodeId, answer.Host, answer.Port) : null;
            return found is not null;
        }, $"no coordinator for {group}");
        return found!;
    }

    private static Task EventuallyAsync(Func<Task<bool>> condition, string what) => EventuallyAsync(condition, () => what);

    private static async Task EventuallyAsync(Func<Task<bool>> condition, Func<string> what)
    {
        DateTime until = DateTime.UtcNow + Deadline;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < until, what());
            await Task.Delay(200); // polling interval
        }
    }
}
