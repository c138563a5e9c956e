using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Broker.Apis;

/// <summary>Produce (key 0): served v3+, advertised from v0 (librdkafka turns compression off otherwise, KAFKA-18659).</summary>
public sealed class ProduceApi(ReplicaManager replicaManager) : KafkaApi<ProduceRequest, ProduceResponse>
{
    public override VersionRange SupportedVersions { get; } = new(3, ProduceRequest.ValidVersions.Highest);

    public override VersionRange AdvertisedVersions { get; } = new(0, ProduceRequest.ValidVersions.Highest);

    protected override ValueTask<ProduceResponse?> HandleAsync(RequestContext context, ProduceRequest request, CancellationToken cancellationToken) =>
        replicaManager.HandleProduceAsync(request, context.ApiVersion, context.Connection.ListenerName, cancellationToken, context.Activity);
}
