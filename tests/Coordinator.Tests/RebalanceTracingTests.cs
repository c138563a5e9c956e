using System.Collections.Concurrent;
using System.Diagnostics;
using Aspire.Kafka.Coordinator.Groups;
using Aspire.Kafka.Protocol;

namespace Aspire.Kafka.Coordinator.Tests;

/// <summary>Tracing tests run alone: an ActivityListener sees every span of the process.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TracingCollection
{
    public const string Name = "tracing";
}

/// <summary>The "kafka.group.rebalance" span, in process, seen by an ActivityListener.</summary>
[Collection(TracingCollection.Name)]
public sealed class RebalanceTracingTests : IDisposable
{
    private static readonly ActivitySource Requests = new("Test.Requests");
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly ActivityListener _listener;

    public RebalanceTracingTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is CoordinatorTelemetry.SourceName or "Test.Requests",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose() => _listener.Dispose();

    private List<Activity> Rebalances(string group) =>
        [.. _stopped.Where(a => a.OperationName == "kafka.group.rebalance" && (a.GetTagItem("kafka.group.id") as string) == group)];

    [Fact]
    public async Task A_rebalance_is_one_span_from_PreparingRebalance_to_Stable_linked_to_the_join_that_started_it()
    {
        const string group = "traced-group";
        var h = new Harness();
        ActivityContext trigger;
        Task<JoinGroupResult>[] joins;
        using (Activity request = Requests.StartActivity("JoinGroup", ActivityKind.Server)!)
        {
            trigger = request.Context;
            joins = [h.Join(group: group), h.Join(group: group)];
        }

        Assert.Empty(Rebalances(group)); // still preparing (initial delay)
        h.Advance(3000);
        h.Advance(3000);
        JoinGroupResult[] joined = await Task.WhenAll(joins);
        JoinGroupResult leader = joined.Single(r => r.MemberId == r.LeaderId);
        Assert.Empty(Rebalances(group)); // CompletingRebalance: not over yet
        Task<SyncGroupResult> follower = h.Sync(joined.Single(r => r != leader).MemberId, leader.GenerationId, group: group);
        await h.Sync(leader.MemberId, leader.GenerationId, joined.ToDictionary(r => r.MemberId, _ => new byte[] { 1 }), group: group);
        await follower;
        Assert.Equal(GroupState.Stable, h.GroupState(group)!.State);

        Activity span = Assert.Single(Rebalances(group));
        Assert.Null(span.ParentId); // its own trace: it outlives the request
        Assert.Equal(trigger, Assert.Single(span.Links).Context);
        Assert.Equal(0, span.GetTagItem("kafka.group.generation.previous"));
        Assert.Equal(1, span.GetTagItem("kafka.group.generation"));
        Assert.Equal(2, span.GetTagItem("kafka.group.members"));
        Assert.Equal("range", span.GetTagItem("kafka.group.protocol"));
        Assert.Equal("Stable", span.GetTagItem("kafka.group.state"));
        Assert.NotNull(span.GetTagItem("kafka.group.rebalance.reason"));
        ActivityEvent completed = Assert.Single(span.Events, e => e.Name == "join_completed");
        Assert.Equal(1, completed.Tags.Single(t => t.Key == "kafka.group.generation").Value);
        Assert.True(span.Duration >= TimeSpan.Zero);

        // Everyone leaves: a second rebalance, ending Empty.
        h.Coordinator.LeaveGroup(group, [.. joined.Select(r => (r.MemberId, (string?)null))], h.Now);
        Assert.Equal(2, Rebalances(group).Count);
        Activity second = Rebalances(group).Single(a => a != span);
        Assert.Equal("Empty", second.GetTagItem("kafka.group.state"));
        Assert.Equal(0, second.GetTagItem("kafka.group.members"));
        Assert.Empty(second.Links); // nothing was current when it started
    }
}
