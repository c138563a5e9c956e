using System.Diagnostics.Metrics;
using Aspire.Kafka.Config;
using Aspire.Kafka.Server;
using Aspire.Kafka.ServiceDefaults.Configuration;
using Aspire.Kafka.TestServices.EchoService;

ConfigDef config = new ConfigDef()
    .Define("log.dirs", ConfigType.String, "", Importance.High, "The data directory (given by the launcher).")
    .Define("test.ready.delay.ms", ConfigType.Long, 0L, Aspire.Kafka.Config.Range.AtLeast(0), Importance.Low,
        "/health answers 503 until this long after start.")
    .Define("test.counter.value", ConfigType.Long, 0L, Importance.Low, "Added once at start to the counter aspire.kafka.test.known.")
    .Define("test.secret", ConfigType.Password, "", Importance.Low, "A password-typed key (never shown).")
    .Define("test.modes", ConfigType.List, "echo", ValidList.In("echo", "noreply", "throw"), Importance.Low, "Handler behaviours.");

WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults("echo", config);
builder.Services.AddKafkaRequestHandler<EchoHandler>();
builder.Services.AddSingleton<ReadyAfterDelay>();
builder.Services.AddHealthChecks().AddCheck<ReadyAfterDelay>("ready-after-delay");

WebApplication app = builder.Build();
app.MapDefaultEndpoints();

KafkaConfig kafkaConfig = app.Services.GetRequiredService<KafkaConfig>();
Meter meter = app.Services.GetRequiredService<IMeterFactory>().Create("Aspire.Kafka.Test");
Counter<long> known = meter.CreateCounter<long>("aspire.kafka.test.known", "{event}", "A counter set from test.counter.value at start.");
known.Add(kafkaConfig.GetLong("test.counter.value"), new KeyValuePair<string, object?>("source", "config"));

app.Run();
