using System.Collections.Concurrent;
using System.Diagnostics;
using Aspire.Kafka.Controller;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Raft;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.ControllerService.Tests;

/// <summary>Tracing tests run alone: an ActivityListener sees every span of the process.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TracingCollection
{
    public const string Name = "tracing";
}

/// <summary>
/// The "kafka.controller.write" span, in process: a one-voter RaftManager (the real Raft loop,
/// metadata log on disk, QuorumController) seen by an ActivityListener.
/// </summary>
[Collection(TracingCollection.Name)]
public sealed class WriteTracingTests : IAsyncLifetime
{
    private const string ClusterId = "tracing-cluster-0000000";
    private static readonly ActivitySource Requests = new("Test.Requests");
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "controller-tracing-" + Guid.NewGuid().ToString("N"));
    private ActivityListener? _listener;
    private ServiceProvider? _services;
    private RaftManager? _raft;

    private sealed class Lifetime : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication()
        {
        }
    }

    public async Task InitializeAsync()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is ControllerTelemetry.SourceName or "Test.Requests",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);

        var settings = new ControllerSettings(1, ClusterId, _dir, "CONTROLLER", [new VoterEndpoint(1, "127.0.0.1", 1)],
            new RaftConfig { NodeId = 1, Voters = [1] },
            QuorumControllerConfig.FromProperties(new Dictionary<string, string> { ["cluster.id"] = ClusterId, ["node.id"] = "1" }),
            AppendLingerMs: 0);
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMetrics();
        services.AddSingleton(settings);
        services.AddSingleton<IHostApplicationLifetime, Lifetime>();
        services.AddSingleton<RaftManager>();
        _services = services.BuildServiceProvider();
        _raft = _services.GetRequiredService<RaftManager>();
        await _raft.StartAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        if (_raft is not null)
        {
            await _raft.StopAsync(CancellationToken.None);
        }

        if (_services is not null)
        {
            await _services.DisposeAsync();
        }

        _listener?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static BrokerRegistrationRequest Registration(int id) => new()
    {
        BrokerId = id,
        ClusterId = ClusterId,
        IncarnationId = new KafkaUuid(id, 1),
        Listeners = [new BrokerRegistrationRequest.Listener { Name = "PLAINTEXT", Host = "127.0.0.1", Port = (ushort)(19000 + id), SecurityProtocol = 0 }],
        Features = [new BrokerRegistrationRequest.Feature { Name = "metadata.version", MinSupportedVersion = 1, MaxSupportedVersion = 19 }],
    };

    /// <summary>Submits until the one voter is the active controller (it elects itself, then activates).</summary>
    private async Task<T> SubmitAsync<T>(string operation, Func<QuorumController, long, ControllerResult<T>> run)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            try
            {
                return await _raft!.SubmitAsync(operation, run, CancellationToken.None);
            }
            catch (NotControllerException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }

    [Fact]
    public async Task A_write_is_a_child_span_of_its_request_until_its_records_are_committed_and_a_write_of_nothing_is_not_exported()
    {
        BrokerRegistrationResponse registered;
        ActivityContext request;
        using (Activity parent = Requests.StartActivity("BrokerRegistration", ActivityKind.Server)!)
        {
            request = parent.Context;
            registered = await SubmitAsync("BrokerRegistration", (c, now) => c.RegisterBroker(Registration(7), now));
        }

        Assert.Equal(0, registered.ErrorCode);
        List<Activity> writes = [.. _stopped.Where(a => a.OperationName == "kafka.controller.write")];
        // Attempts answered NOT_CONTROLLER (before the activation) wrote nothing and are not exported.
        Assert.All(writes.Where(a => a.ParentSpanId == request.SpanId && a.Events.All(e => e.Name != "committed")), a => Assert.False(a.Recorded));
        Activity write = Assert.Single(writes, a => a.ParentSpanId == request.SpanId && a.Recorded);
        Assert.Equal(request.TraceId, write.TraceId);
        Assert.Equal("BrokerRegistration", write.GetTagItem("kafka.controller.operation"));
        Assert.True((int)write.GetTagItem("kafka.metadata.records")! >= 1);
        Assert.True((long)write.GetTagItem("kafka.metadata.base_offset")! >= 1);
        Assert.True((int)write.GetTagItem("kafka.raft.epoch")! >= 1);
        ActivityEvent committed = Assert.Single(write.Events, e => e.Name == "committed");
        Assert.True((long)committed.Tags.Single(t => t.Key == "kafka.metadata.high_watermark").Value! > (long)write.GetTagItem("kafka.metadata.base_offset")!);
        Assert.NotEqual(ActivityStatusCode.Error, write.Status);

        // The activation of the controller wrote its bootstrap records under a root span of its own.
        Activity activation = Assert.Single(writes, a => (a.GetTagItem("kafka.controller.operation") as string) == "Activate");
        Assert.Null(activation.ParentId);
        Assert.Contains(activation.Events, e => e.Name == "committed");

        // A heartbeat that changes nothing writes no record: its span is not exported.
        int before = _stopped.Count;
        BrokerHeartbeatResponse heartbeat = await SubmitAsync("BrokerHeartbeat", (c, now) => c.ProcessBrokerHeartbeat(new BrokerHeartbeatRequest
        {
            BrokerId = 7,
            BrokerEpoch = registered.BrokerEpoch,
            CurrentMetadataOffset = 0,
            WantFence = true,
        }, now));
        Assert.Equal(0, heartbeat.ErrorCode);
        Activity beat = Assert.Single(_stopped.Skip(before), a => (a.GetTagItem("kafka.controller.operation") as string) == "BrokerHeartbeat");
        Assert.False(beat.Recorded);

        // The idle NoOps (every metadata.max.idle.interval.ms, 500 ms) are written but not traced.
        long highWatermark = _raft!.Status.HighWatermark;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (_raft.Status.HighWatermark < highWatermark + 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "the controller wrote no NoOp within 20 s");
            await Task.Delay(50);
        }

        Assert.DoesNotContain(_stopped, a => a.OperationName == "kafka.controller.write" && (a.GetTagItem("kafka.controller.operation") as string) == "Tick");
    }
}
