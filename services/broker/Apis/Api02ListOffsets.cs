using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Broker.Apis;

/// <summary>ListOffsets (key 2): v1–v8 (earliest, latest, max timestamp, by timestamp).</summary>
public sealed class ListOffsetsApi(ReplicaManager replicaManager) : KafkaApi<ListOffsetsRequest, ListOffsetsResponse>
{
    public override VersionRange SupportedVersions { get; } = new(1, 8);

    protected override ValueTask<ListOffsetsResponse?> HandleAsync(RequestContext context, ListOffsetsRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult<ListOffsetsResponse?>(replicaManager.HandleListOffsets(request, context.ApiVersion));
}
