using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;
using Aspire.Kafka.Storage;

namespace Aspire.Kafka.Broker.Apis;

/// <summary>
/// MirrorAppend (key 10000, v0; project-specific, libs/Protocol/Specs/clients): the mirror
/// service's offset-preserving append (services/mirror).
/// <list type="bullet">
/// <item>Each partition's batches are appended by <see cref="ReplicaManager.AppendRecordsAsync"/> as
/// a mirror (<see cref="AppendSource.Mirror"/>): at their own offsets, byte for byte but for the
/// partition leader epoch, batches already held skipped (<see cref="UnifiedLog.AppendAsMirror"/>),
/// then the answer waits for the ISR as Produce with acks=all does.</item>
/// <item>Only a topic whose <c>aspire.mirror.source</c> names <c>SourceCluster</c> accepts it; any
/// other topic answers POLICY_VIOLATION with the reason (the mirror never overwrites a topic it
/// does not own).</item>
/// <item>The answer has one entry per requested partition, in request order, with the log end
/// offset after the append (where the next batch must start) and the batches skipped.</item>
/// </list>
/// </summary>
public sealed class MirrorAppendApi(ReplicaManager replicaManager) : KafkaApi<MirrorAppendRequest, MirrorAppendResponse>
{
    protected override async ValueTask<MirrorAppendResponse?> HandleAsync(RequestContext context, MirrorAppendRequest request, CancellationToken cancellationToken)
    {
        var entries = new List<ProducePartition>();
        foreach (MirrorAppendRequest.MirrorAppendTopic topic in request.Topics)
        {
            foreach (MirrorAppendRequest.MirrorAppendPartition data in topic.Partitions)
            {
                entries.Add(new ProducePartition(new TopicPartition(topic.Name, data.Index), data.Records));
            }
        }

        IReadOnlyList<ProducePartitionResult> results = await replicaManager.AppendRecordsAsync(entries, -1, request.TimeoutMs, cancellationToken,
            source: AppendSource.Mirror(request.SourceCluster)).ConfigureAwait(false);
        var response = new MirrorAppendResponse();
        int next = 0;
        foreach (MirrorAppendRequest.MirrorAppendTopic topic in request.Topics)
        {
            var answered = new MirrorAppendResponse.MirrorAppendTopicResponse { Name = topic.Name };
            response.Topics.Add(answered);
            foreach (MirrorAppendRequest.MirrorAppendPartition data in topic.Partitions)
            {
                ProducePartitionResult r = results[next++];
                answered.Partitions.Add(new MirrorAppendResponse.MirrorAppendPartitionResponse
                {
                    Index = data.Index,
                    ErrorCode = (short)r.Error,
                    ErrorMessage = r.ErrorMessage,
                    LogEndOffset = r.LogEndOffset,
                    SkippedBatches = r.SkippedBatches,
                });
            }
        }

        return response;
    }
}
