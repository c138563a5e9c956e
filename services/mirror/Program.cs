using Aspire.Kafka.Mirror;
using Aspire.Kafka.ServiceDefaults.Configuration;

WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults("mirror", MirrorConfig.Definition);

MirrorSettings settings;
try
{
    var config = (KafkaConfig)builder.Services.First(d => d.ServiceType == typeof(KafkaConfig)).ImplementationInstance!;
    settings = MirrorConfig.ToSettings(config);
}
catch (InvalidOperationException e)
{
    Console.Error.WriteLine($"mirror: {e.Message}");
    return 2;
}

builder.AddHttpListener(MirrorConfig.ControlListener, settings.ControlListener, Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2);
builder.Services.AddGrpc();
builder.Services.AddSingleton(settings);
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton<MirrorMetrics>();
builder.Services.AddSingleton<MirrorService>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<MirrorService>());
builder.Services.AddSingleton<GroupOffsetSync>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<GroupOffsetSync>());
builder.Services.AddHealthChecks().AddCheck<MirrorHealthCheck>("mirror");

WebApplication app = builder.Build();
app.MapDefaultEndpoints();
app.MapGrpcService<MirrorControlService>();
await app.RunAsync().ConfigureAwait(false);
return 0;
