using Aspire.Kafka.Metadata;

namespace Aspire.Kafka.Controller.Tests;

public sealed class PlacementTests
{
    private static void AssertBalanced(IReadOnlyList<int[]> placement, int[] brokers, short rf)
    {
        var replicas = brokers.ToDictionary(b => b, _ => 0);
        var leaders = brokers.ToDictionary(b => b, _ => 0);
        foreach (int[] partition in placement)
        {
            Assert.Equal(rf, partition.Length);
            Assert.Equal(rf, partition.Distinct().Count());
            leaders[partition[0]]++;
            foreach (int b in partition)
            {
                replicas[b]++;
            }
        }

        Assert.True(replicas.Values.Max() - replicas.Values.Min() <= 1, $"replicas per broker: {string.Join(", ", replicas)}");
        Assert.True(leaders.Values.Max() - leaders.Values.Min() <= 1, $"preferred leaders per broker: {string.Join(", ", leaders)}");
    }

    [Theory]
    [InlineData(3, 3)]
    [InlineData(3, 2)]
    [InlineData(3, 1)]
    [InlineData(5, 3)]
    [InlineData(5, 2)]
    [InlineData(5, 1)]
    [InlineData(7, 3)]
    public void AThousandPartitionsAreSpreadWithinOne(int brokerCount, short rf)
    {
        int[] brokers = [.. Enumerable.Range(1, brokerCount)];
        IReadOnlyList<int[]> placement = new StripedReplicaPlacer().Place(1000, rf, [.. brokers.Select(b => new UsableBroker(b, null))]);
        Assert.Equal(1000, placement.Count);
        AssertBalanced(placement, brokers, rf);
        for (int prefix = 1; prefix < 1000; prefix += 37)
        {
            AssertBalanced([.. placement.Take(prefix)], brokers, rf);
        }
    }

    [Fact]
    public void TopicsCreatedOneAfterAnotherStayBalanced()
    {
        var h = new ControllerHarness();
        h.Start(1, 2, 3, 4, 5);
        for (int t = 0; t < 20; t++)
        {
            Assert.Equal(0, h.CreateTopic($"t{t}", 1 + (t % 7), 3).ErrorCode);
        }

        var all = h.Image.Topics.TopicsById.Values.SelectMany(t => t.Partitions.Values).Select(p => p.Replicas.ToArray()).ToList();
        AssertBalanced(all, [1, 2, 3, 4, 5], 3);
    }

    [Fact]
    public void RackAwarePlacementUsesEveryRackBeforeRepeatingOne()
    {
        UsableBroker[] brokers =
        [
            new(1, "a"), new(2, "a"), new(3, "b"), new(4, "b"), new(5, "c"), new(6, "c"),
        ];
        IReadOnlyList<int[]> placement = new StripedReplicaPlacer().Place(600, 3, brokers);
        var rackOf = brokers.ToDictionary(b => b.Id, b => b.Rack);
        Assert.All(placement, p => Assert.Equal(3, p.Select(b => rackOf[b]).Distinct().Count()));
        AssertBalanced(placement, [1, 2, 3, 4, 5, 6], 3);

        IReadOnlyList<int[]> rf2 = new StripedReplicaPlacer().Place(300, 2, brokers);
        Assert.All(rf2, p => Assert.NotEqual(rackOf[p[0]], rackOf[p[1]]));
    }

    [Fact]
    public void FencedBrokersAndCoordinatorsAreNeverReplicas()
    {
        var h = new ControllerHarness();
        h.Start(1, 2, 3);
        h.StartCoordinators(100);
        h.Register(4); // fenced
        Assert.Equal(3, StripedReplicaPlacer.UsableBrokers(h.Image).Count);
        Assert.Equal(Errors.None, h.CreateTopic("t", 30, 3).ErrorCode);
        Assert.All(h.Image.Topics.GetTopic("t")!.Partitions.Values, p => Assert.All(p.Replicas, r => Assert.InRange(r, 1, 3)));
        Assert.Equal(Errors.InvalidReplicationFactor, h.CreateTopic("u", 1, 4).ErrorCode);
    }

    [Fact]
    public void NoUsableBrokersIsInvalidReplicationFactor()
    {
        var e = Assert.Throws<ControllerApiException>(() => new StripedReplicaPlacer().Place(1, 1, []));
        Assert.Equal(Errors.InvalidReplicationFactor, e.Code);
        Assert.Contains("All brokers are currently fenced", e.Message);
    }
}
