using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Broker.Apis;

/// <summary>DescribeLogDirs (key 35): v1–v4.</summary>
public sealed class DescribeLogDirsApi(ReplicaManager replicaManager) : KafkaApi<DescribeLogDirsRequest, DescribeLogDirsResponse>
{
    public override VersionRange SupportedVersions { get; } = new(1, 4);

    protected override ValueTask<DescribeLogDirsResponse?> HandleAsync(RequestContext context, DescribeLogDirsRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult<DescribeLogDirsResponse?>(replicaManager.HandleDescribeLogDirs(request, context.ApiVersion));
}
