using Aspire.Kafka.Coordinator;
using Aspire.Kafka.Coordinator.Apis;
using Aspire.Kafka.Coordinator.Groups;
using Aspire.Kafka.Metadata;
using Aspire.Kafka.Node;
using Aspire.Kafka.Server;
using Aspire.Kafka.ServiceDefaults.Configuration;
using Aspire.Kafka.ServiceDefaults.Kafka;

WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults("coordinator", CoordinatorConfig.Definition);

GroupConfig groupConfig;
try
{
    builder.AddClusterNode(NodeRole.Coordinator);
    var config = (KafkaConfig)builder.Services.First(d => d.ServiceType == typeof(KafkaConfig)).ImplementationInstance!;
    groupConfig = CoordinatorConfig.ToGroupConfig(config);
}
catch (InvalidOperationException e)
{
    Console.Error.WriteLine($"coordinator: {e.Message}");
    return 2;
}

builder.Services.AddSingleton(groupConfig);
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton<KafkaGroupLog>();
builder.Services.AddSingleton<IGroupLog>(sp => sp.GetRequiredService<KafkaGroupLog>());
builder.Services.AddSingleton<IPartitionEndOffsets>(sp => sp.GetRequiredService<KafkaGroupLog>());
builder.Services.AddSingleton<ConsumerLagMetrics>();
builder.Services.AddSingleton<GroupMetadataManager>();
builder.Services.AddSingleton<GroupCoordinator>();
builder.Services.AddSingleton<CoordinatorService>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<CoordinatorService>());
builder.Services.AddSingleton<IMetadataListener>(sp => sp.GetRequiredService<CoordinatorService>());
builder.Services.AddSingleton<ITopicPartitionCatalog, MetadataTopicPartitions>();
builder.Services.AddSingleton<IKafkaApi, OffsetCommitApi>();
builder.Services.AddSingleton<IKafkaApi, OffsetFetchApi>();
builder.Services.AddSingleton<IKafkaApi, JoinGroupApi>();
builder.Services.AddSingleton<IKafkaApi, HeartbeatApi>();
builder.Services.AddSingleton<IKafkaApi, LeaveGroupApi>();
builder.Services.AddSingleton<IKafkaApi, SyncGroupApi>();
builder.Services.AddSingleton<IKafkaApi, DescribeGroupsApi>();
builder.Services.AddSingleton<IKafkaApi, ListGroupsApi>();
builder.Services.AddSingleton<IKafkaApi, DeleteGroupsApi>();
builder.Services.AddSingleton<IKafkaApi, OffsetDeleteApi>();

WebApplication app = builder.Build();
app.MapDefaultEndpoints();
await app.RunAsync().ConfigureAwait(false);
return 0;
