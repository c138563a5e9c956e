using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Broker.Apis;

/// <summary>Fetch (key 1): v4–v16, long poll, fetch sessions, consumers and follower replicas.</summary>
public sealed class FetchApi(ReplicaManager replicaManager) : KafkaApi<FetchRequest, FetchResponse>
{
    public override VersionRange SupportedVersions { get; } = new(4, 16);

    protected override async ValueTask<FetchResponse?> HandleAsync(RequestContext context, FetchRequest request, CancellationToken cancellationToken) =>
        await replicaManager.HandleFetchAsync(request, context.ApiVersion, context.Connection.ListenerName, cancellationToken, context.KeepUntilWritten).ConfigureAwait(false);
}
