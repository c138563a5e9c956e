using Aspire.Kafka.Metadata;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Controller.Tests;

public sealed class ProducerIdTests
{
    private static AllocateProducerIdsRequest Request(ControllerHarness h, int id) =>
        new() { BrokerId = id, BrokerEpoch = h.Image.Cluster.Node(id)!.Epoch };

    [Fact]
    public void BlocksAreConsecutiveNeverOverlapAndSurviveASnapshotAndAFailover()
    {
        var h = new ControllerHarness();
        h.Start(1, 2);
        h.StartCoordinators(100);

        AllocateProducerIdsResponse first = h.Commit(h.Controller.AllocateProducerIds(Request(h, 1), h.NowMs));
        AllocateProducerIdsResponse second = h.Commit(h.Controller.AllocateProducerIds(Request(h, 100), h.NowMs));
        Assert.Equal((Errors.None, 0L, 1000), (first.ErrorCode, first.ProducerIdStart, first.ProducerIdLen));
        Assert.Equal((Errors.None, 1000L, 1000), (second.ErrorCode, second.ProducerIdStart, second.ProducerIdLen));
        Assert.Equal(2000, h.Image.ProducerIds.NextProducerId);
        h.AssertReplayReproducesState();

        // A controller that starts from a snapshot of this state continues after the last block.
        MetadataImage snapshot = MetadataImage.FromRecords(h.Image.ToRecords(), h.Image.Provenance);
        var next = new QuorumController(h.Controller.Config);
        next.LoadSnapshot(snapshot);
        next.Activate(ControllerHarness.RaftEpoch + 1, h.Image.Offset + 1, h.NowMs);
        AllocateProducerIdsResponse third = next.AllocateProducerIds(new AllocateProducerIdsRequest { BrokerId = 2, BrokerEpoch = snapshot.Cluster.Node(2)!.Epoch }, h.NowMs).Response;
        Assert.Equal(2000L, third.ProducerIdStart);
    }

    [Fact]
    public void TheCoordinatorsReservedIdsAreNeverHandedOut()
    {
        var h = new ControllerHarness();
        h.Start(1);
        long nearReserved = CoordinatorsImage.CoordinatorProducerIdBase - ProducerIdControlManager.BlockSize;
        h.Commit(new ControllerResult<int>(
            [RecordVersions.Of(new Protocol.MetadataRecords.ProducerIdsRecord { BrokerId = 1, BrokerEpoch = h.Image.Cluster.Node(1)!.Epoch, NextProducerId = nearReserved })],
            0, h.Controller.NextWriteOffset, h.Controller.NextWriteOffset));

        AllocateProducerIdsResponse last = h.Commit(h.Controller.AllocateProducerIds(Request(h, 1), h.NowMs));
        Assert.Equal((Errors.None, nearReserved), (last.ErrorCode, last.ProducerIdStart));
        ControllerResult<AllocateProducerIdsResponse> refused = h.Controller.AllocateProducerIds(Request(h, 1), h.NowMs);
        Assert.Equal(Errors.UnknownServerError, refused.Response.ErrorCode);
        Assert.False(refused.HasRecords);
    }

    [Fact]
    public void UnknownNodesAndOtherIncarnationsGetStaleBrokerEpochAndNoRecord()
    {
        var h = new ControllerHarness();
        h.Start(1);
        ControllerResult<AllocateProducerIdsResponse> unknown = h.Controller.AllocateProducerIds(new AllocateProducerIdsRequest { BrokerId = 7, BrokerEpoch = 1 }, h.NowMs);
        ControllerResult<AllocateProducerIdsResponse> stale = h.Controller.AllocateProducerIds(new AllocateProducerIdsRequest { BrokerId = 1, BrokerEpoch = h.Image.Cluster.Node(1)!.Epoch + 5 }, h.NowMs);
        foreach (ControllerResult<AllocateProducerIdsResponse> result in new[] { unknown, stale })
        {
            Assert.Equal(Errors.StaleBrokerEpoch, result.Response.ErrorCode);
            Assert.Equal(-1L, result.Response.ProducerIdStart);
            Assert.False(result.HasRecords);
        }

        Assert.Equal(0, h.Image.ProducerIds.NextProducerId);
    }
}
