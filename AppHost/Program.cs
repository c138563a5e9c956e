using Aspire.Kafka.AppHost;
using Aspire.Kafka.Topology;

// dotnet run --project AppHost [-- options]: the .NET Aspire AppHost (see AppHost/README.md).
AppHostOptions options;
List<string> aspireArgs;
try
{
    options = AppHostOptions.Parse(args, out aspireArgs);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"apphost: {e.Message}");
    return 2;
}

if (options.Help)
{
    Console.WriteLine(AppHostOptions.Usage);
    return 0;
}

KafkaSystem.ChooseBrowserToken();
IDistributedApplicationBuilder builder = DistributedApplication.CreateBuilder([.. aspireArgs]);
KafkaTopology topology = KafkaTopology.Default(options.Brokers, options.Controllers, options.Coordinators, options.Backup);
try
{
    KafkaSystem.Declare(builder, topology, options);
}
catch (Exception e) when (e is InvalidDataException or IOException or InvalidOperationException)
{
    Console.Error.WriteLine($"apphost: {e.Message}");
    return 1;
}

await builder.Build().RunAsync().ConfigureAwait(false);
return 0;
