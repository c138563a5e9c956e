using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Broker.Apis;

/// <summary>OffsetForLeaderEpoch (key 23): v2–v4 (followers truncate with it; consumers validate positions).</summary>
public sealed class OffsetForLeaderEpochApi(ReplicaManager replicaManager) : KafkaApi<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>
{
    public override VersionRange SupportedVersions { get; } = new(2, 4);

    protected override ValueTask<OffsetForLeaderEpochResponse?> HandleAsync(RequestContext context, OffsetForLeaderEpochRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult<OffsetForLeaderEpochResponse?>(replicaManager.HandleOffsetForLeaderEpoch(request));
}
