using Aspire.Kafka.AppHost;
using Aspire.Kafka.Hosting;

// dotnet run --project AppHost [-- options]; see AppHost/README.md and libs/Hosting/README.md.
DistributedApplicationBuilder builder;
TopologyOptions topology;
try
{
    builder = DistributedApplicationBuilder.CreateBuilder(args, out List<string> rest);
    topology = TopologyOptions.Parse(rest);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"apphost: {e.Message}");
    return 2;
}

if (topology.Help)
{
    Console.WriteLine("""
        Usage: dotnet run --project AppHost [-- options]
          --brokers N        brokers in the primary cluster (default 3)
          --controllers N    controllers in the primary cluster (default 3)
          --coordinators N   coordinators in the primary cluster (default 2)
          --no-backup        no backup cluster and no mirror
          --data-dir DIR     data directories (default ./.data), formatted on first start
          --clean            delete the data directory first
          --restart          restart a resource that exits unexpectedly
          --no-build         do not build the service projects first
          --stop-timeout S   seconds between SIGTERM and SIGKILL at shutdown (default 15)
          --dry-run          print the plan and exit
        """);
    return 0;
}

string root = builder.Options.ResolveRoot();
Dictionary<string, string?> projects = Topology.FindProjects(root);
List<string> plan = Topology.Declare(builder, topology, projects);
foreach (string line in plan)
{
    Console.WriteLine($"[apphost] plan: {line}");
}

List<string> missing = projects.Where(p => p.Value is null).Select(p => p.Key).ToList();
if (builder.Resources.Count == 0)
{
    Console.WriteLine($"[apphost] not built yet: {string.Join(", ", missing)}. No service project exists under services/, so there is nothing to start: no cluster is running.");
    return 0;
}

if (missing.Count > 0)
{
    Console.WriteLine($"[apphost] not built yet (left out): {string.Join(", ", missing)}");
}

if (topology.DryRun)
{
    foreach (Resource resource in builder.Resources)
    {
        Console.WriteLine($"[apphost] would start {resource.Name}: {resource.Path} ({string.Join(", ", resource.Endpoints.Select(e => $"{e.Name} {e.Address}"))})");
    }

    return 0;
}

await using DistributedApplication app = builder.Build();
return await app.RunAsync();
