using Aspire.Kafka.Metadata;
using Aspire.Kafka.Node.Apis;
using Aspire.Kafka.Server;
using Aspire.Kafka.ServiceDefaults.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Aspire.Kafka.Node;

/// <summary>Wires a broker or coordinator into the cluster.</summary>
public static class NodeHostingExtensions
{
    /// <summary>
    /// Call after <c>AddServiceDefaults(service, NodeConfig.Create().Merge(...))</c>. Registers
    /// <see cref="NodeSettings"/>, <see cref="ClusterMetadataFollower"/>, <see cref="NodeLifecycleManager"/>,
    /// <see cref="ControllerChannel"/>, the API dispatcher with ApiVersions and the "node" health check
    /// (registered and unfenced). A broker also gets the client surface of a cluster node: Metadata,
    /// FindCoordinator, DescribeCluster, InitProducerId, the group APIs forwarded to the group's
    /// coordinator node (<see cref="CoordinatorChannel"/>), and the admin requests forwarded to the
    /// active controller (CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs,
    /// AlterConfigs, IncrementalAlterConfigs, ElectLeaders, DescribeQuorum). A coordinator is an
    /// internal tier: besides ApiVersions it answers only Envelope (the forwarded group requests,
    /// served by the group APIs the coordinator registers itself). Throws
    /// <see cref="InvalidOperationException"/> (one sentence) on bad configuration.
    /// </summary>
    public static NodeSettings AddClusterNode(this WebApplicationBuilder builder, NodeRole role)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var config = (KafkaConfig?)builder.Services.FirstOrDefault(d => d.ServiceType == typeof(KafkaConfig))?.ImplementationInstance
            ?? throw new InvalidOperationException("AddClusterNode needs AddServiceDefaults first (no KafkaConfig registered).");
        NodeSettings settings = NodeSettings.From(config, role, Environment.GetEnvironmentVariable);

        IServiceCollection services = builder.Services;
        services.AddSingleton(settings);
        services.AddSingleton<ClusterMetadataFollower>();
        services.AddHostedService(sp => sp.GetRequiredService<ClusterMetadataFollower>());
        services.AddSingleton<ControllerChannel>();
        services.AddSingleton<NodeLifecycleManager>();
        services.AddHostedService(sp => sp.GetRequiredService<NodeLifecycleManager>());
        services.AddSingleton<ProducerIdManager>();

        services.AddKafkaApiDispatcher();
        if (role == NodeRole.Coordinator)
        {
            // An internal tier, like the controllers: brokers forward the group APIs here in
            // envelopes; clients never connect (Metadata does not list coordinator nodes).
            services.AddSingleton<IKafkaApi, EnvelopeApi>();
        }
        else
        {
            services.AddSingleton<CoordinatorChannel>();
            services.AddSingleton<IKafkaApi, MetadataApi>();
            services.AddSingleton<IKafkaApi, FindCoordinatorApi>();
            services.AddSingleton<IKafkaApi, DescribeClusterApi>();
            services.AddSingleton<IKafkaApi, InitProducerIdApi>();
            services.AddSingleton<IKafkaApi, BrokerListGroupsApi>();
            services.AddSingleton<IKafkaApi, BrokerOffsetCommitApi>();
            services.AddSingleton<IKafkaApi, BrokerOffsetFetchApi>();
            services.AddSingleton<IKafkaApi, BrokerJoinGroupApi>();
            services.AddSingleton<IKafkaApi, BrokerHeartbeatApi>();
            services.AddSingleton<IKafkaApi, BrokerLeaveGroupApi>();
            services.AddSingleton<IKafkaApi, BrokerSyncGroupApi>();
            services.AddSingleton<IKafkaApi, BrokerDescribeGroupsApi>();
            services.AddSingleton<IKafkaApi, BrokerDeleteGroupsApi>();
            services.AddSingleton<IKafkaApi, BrokerOffsetDeleteApi>();
            services.AddSingleton<IKafkaApi, CreateTopicsApi>();
            services.AddSingleton<IKafkaApi, DeleteTopicsApi>();
            services.AddSingleton<IKafkaApi, CreatePartitionsApi>();
            services.AddSingleton<IKafkaApi, DescribeConfigsApi>();
            services.AddSingleton<IKafkaApi, AlterConfigsApi>();
            services.AddSingleton<IKafkaApi, IncrementalAlterConfigsApi>();
            services.AddSingleton<IKafkaApi, ElectLeadersApi>();
            services.AddSingleton<IKafkaApi, DescribeQuorumApi>();
        }

        services.AddHealthChecks().AddCheck<NodeHealthCheck>("node");
        return settings;
    }
}

/// <summary>Ready when this node is registered with the controller and unfenced (its metadata caught up).</summary>
public sealed class NodeHealthCheck(NodeLifecycleManager lifecycle, ClusterMetadataFollower follower) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (lifecycle.BrokerEpoch < 0)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy($"not registered with the controller yet (metadata leader {follower.LeaderId})"));
        }

        return Task.FromResult(lifecycle.IsFenced
            ? HealthCheckResult.Unhealthy($"fenced (epoch {lifecycle.BrokerEpoch}, metadata applied to {follower.AppliedOffset}, high watermark {follower.HighWatermark})")
            : HealthCheckResult.Healthy($"unfenced, epoch {lifecycle.BrokerEpoch}, metadata applied to {follower.AppliedOffset}"));
    }
}
