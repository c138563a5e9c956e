using Aspire.Kafka.ControllerService;
using Aspire.Kafka.ControllerService.Apis;
using Aspire.Kafka.ServiceDefaults.Configuration;
using Aspire.Kafka.Server;

WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults("controller", ControllerConfig.Definition);

ControllerSettings settings;
try
{
    var config = (KafkaConfig)builder.Services.First(d => d.ServiceType == typeof(KafkaConfig)).ImplementationInstance!;
    settings = ControllerSettings.From(config, Environment.GetEnvironmentVariable);
}
catch (InvalidOperationException e)
{
    Console.Error.WriteLine($"controller: {e.Message}");
    return 2;
}

builder.Services.AddSingleton(settings);
builder.Services.AddSingleton<RaftManager>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<RaftManager>());
builder.Services.AddSingleton<IKafkaApi, ApiVersionsApi>();
builder.Services.AddSingleton<IKafkaApi, VoteApi>();
builder.Services.AddSingleton<IKafkaApi, BeginQuorumEpochApi>();
builder.Services.AddSingleton<IKafkaApi, EndQuorumEpochApi>();
builder.Services.AddSingleton<IKafkaApi, FetchApi>();
builder.Services.AddSingleton<IKafkaApi, FetchSnapshotApi>();
builder.Services.AddSingleton<IKafkaApi, DescribeQuorumApi>();
builder.Services.AddSingleton<IKafkaApi, MetadataApi>();
builder.Services.AddSingleton<IKafkaApi, BrokerRegistrationApi>();
builder.Services.AddSingleton<IKafkaApi, BrokerHeartbeatApi>();
builder.Services.AddSingleton<IKafkaApi, CreateTopicsApi>();
builder.Services.AddSingleton<IKafkaApi, DeleteTopicsApi>();
builder.Services.AddSingleton<IKafkaApi, CreatePartitionsApi>();
builder.Services.AddSingleton<IKafkaApi, DescribeConfigsApi>();
builder.Services.AddSingleton<IKafkaApi, AlterConfigsApi>();
builder.Services.AddSingleton<IKafkaApi, IncrementalAlterConfigsApi>();
builder.Services.AddSingleton<IKafkaApi, AlterPartitionApi>();
builder.Services.AddSingleton<IKafkaApi, ElectLeadersApi>();
builder.Services.AddSingleton<IKafkaApi, AllocateProducerIdsApi>();
builder.Services.AddSingleton<KafkaApiDispatcher>();
builder.Services.AddSingleton<IKafkaRequestHandler>(sp => sp.GetRequiredService<KafkaApiDispatcher>());
builder.Services.AddKafkaServer();
builder.Services.AddHealthChecks().AddCheck<QuorumHealthCheck>("quorum");

WebApplication app = builder.Build();
app.MapDefaultEndpoints();
await app.RunAsync().ConfigureAwait(false);
return 0;
