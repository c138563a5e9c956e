using Aspire.Kafka.Metadata;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Protocol.MetadataRecords;

namespace Aspire.Kafka.Controller;

/// <summary>
/// Hands out producer ids in blocks (Kafka's ProducerIdControlManager): a broker or coordinator
/// that serves InitProducerId asks for a block with AllocateProducerIds, the controller writes a
/// ProducerIdsRecord whose NextProducerId is the start of the block after it, and answers once that
/// record is committed. Blocks never overlap, across controller fail-overs and snapshots too,
/// because the next start lives only in the metadata log. Ids from
/// <see cref="CoordinatorsImage.CoordinatorProducerIdBase"/> up are the coordinators' and never handed out.
/// </summary>
internal static class ProducerIdControlManager
{
    /// <summary>Kafka's ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE.</summary>
    public const int BlockSize = 1000;

    public static AllocateProducerIdsResponse Allocate(ControllerWriteContext ctx, AllocateProducerIdsRequest request)
    {
        BrokerRegistration? node = ctx.Image.Cluster.Node(request.BrokerId);
        if (node is null || node.Epoch != request.BrokerEpoch)
        {
            // Kafka's checkBrokerEpoch: an unknown node or another incarnation gets no ids.
            return new AllocateProducerIdsResponse { ErrorCode = Errors.StaleBrokerEpoch, ProducerIdStart = -1 };
        }

        long start = ctx.Image.ProducerIds.NextProducerId;
        if (start > CoordinatorsImage.CoordinatorProducerIdBase - BlockSize)
        {
            return new AllocateProducerIdsResponse { ErrorCode = Errors.UnknownServerError, ProducerIdStart = -1 };
        }

        ctx.Add(RecordVersions.Of(new ProducerIdsRecord { BrokerId = request.BrokerId, BrokerEpoch = request.BrokerEpoch, NextProducerId = start + BlockSize }));
        return new AllocateProducerIdsResponse { ProducerIdStart = start, ProducerIdLen = BlockSize };
    }
}
