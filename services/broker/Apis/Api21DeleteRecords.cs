using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Broker.Apis;

/// <summary>DeleteRecords (key 21): v0–v2.</summary>
public sealed class DeleteRecordsApi(ReplicaManager replicaManager) : KafkaApi<DeleteRecordsRequest, DeleteRecordsResponse>
{
    public override VersionRange SupportedVersions { get; } = new(0, 2);

    protected override ValueTask<DeleteRecordsResponse?> HandleAsync(RequestContext context, DeleteRecordsRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult<DeleteRecordsResponse?>(replicaManager.HandleDeleteRecords(request));
}
