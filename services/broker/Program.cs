using Aspire.Kafka.Broker;
using Aspire.Kafka.Broker.Apis;
using Aspire.Kafka.Metadata;
using Aspire.Kafka.Node;
using Aspire.Kafka.Server;
using Aspire.Kafka.ServiceDefaults.Configuration;
using Aspire.Kafka.Storage;

WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults("broker", BrokerConfig.Definition);

// Before the node services: the logs load before metadata arrives, and replication stops after the controlled shutdown.
builder.Services.AddHostedService<BrokerServer>();

NodeSettings node;
BrokerSettings settings;
try
{
    node = builder.AddClusterNode(NodeRole.Broker);
    var config = (KafkaConfig)builder.Services.First(d => d.ServiceType == typeof(KafkaConfig)).ImplementationInstance!;
    settings = BrokerSettings.From(config, node);
}
catch (InvalidOperationException e)
{
    Console.Error.WriteLine($"broker: {e.Message}");
    return 2;
}

builder.Services.AddSingleton(settings);
builder.Services.AddSingleton(sp => new LogManager(
    settings.LogManager,
    TimeProvider.System,
    new StorageLoggerAdapter(sp.GetRequiredService<ILoggerFactory>().CreateLogger("Aspire.Kafka.Storage"))));
builder.Services.AddSingleton<IAlterPartitionChannel>(sp => new ControllerAlterPartitionChannel(sp.GetRequiredService<ControllerChannel>()));
builder.Services.AddSingleton(sp =>
{
    ClusterMetadataFollower follower = sp.GetRequiredService<ClusterMetadataFollower>();
    return new NetworkLeaderEndpoint(
        id => follower.Image.Cluster.Broker(id) is { } b ? node.NodeEndpoint(b) : null,
        node.NodeId,
        Math.Max(30_000, settings.ReplicaFetchWaitMaxMs + node.RequestTimeoutMs),
        sp.GetRequiredService<ILoggerFactory>());
});
builder.Services.AddSingleton(sp =>
{
    NodeLifecycleManager lifecycle = sp.GetRequiredService<NodeLifecycleManager>();
    return new ReplicaManager(
        settings,
        node.NodeId,
        sp.GetRequiredService<LogManager>(),
        sp.GetRequiredService<IAlterPartitionChannel>(),
        sp.GetRequiredService<NetworkLeaderEndpoint>(),
        () => lifecycle.BrokerEpoch,
        TimeProvider.System,
        sp.GetRequiredService<ILoggerFactory>());
});
builder.Services.AddSingleton<IMetadataListener>(sp => sp.GetRequiredService<ReplicaManager>());
builder.Services.AddSingleton<IKafkaApi, ProduceApi>();
builder.Services.AddSingleton<IKafkaApi, MirrorAppendApi>();
builder.Services.AddSingleton<IKafkaApi, FetchApi>();
builder.Services.AddSingleton<IKafkaApi, ListOffsetsApi>();
builder.Services.AddSingleton<IKafkaApi, DeleteRecordsApi>();
builder.Services.AddSingleton<IKafkaApi, OffsetForLeaderEpochApi>();
builder.Services.AddSingleton<IKafkaApi, DescribeLogDirsApi>();
builder.Services.AddSingleton<IKafkaApi, DescribeProducersApi>();

WebApplication app = builder.Build();
app.MapDefaultEndpoints();
await app.RunAsync().ConfigureAwait(false);
return 0;
