using System.Globalization;
using Aspire.Kafka.Hosting;

namespace Aspire.Kafka.AppHost;

/// <summary>The AppHost's own options (the launcher's are parsed by <see cref="DistributedApplicationOptions"/>).</summary>
internal sealed record TopologyOptions(int Brokers = 3, int Controllers = 3, int Coordinators = 2, bool Backup = true, bool DryRun = false, bool Help = false)
{
    public static TopologyOptions Parse(List<string> args)
    {
        var options = new TopologyOptions();
        for (int i = 0; i < args.Count; i++)
        {
            options = args[i] switch
            {
                "--brokers" => options with { Brokers = Count(args, ref i) },
                "--controllers" => options with { Controllers = Count(args, ref i) },
                "--coordinators" => options with { Coordinators = Count(args, ref i) },
                "--no-backup" => options with { Backup = false },
                "--dry-run" => options with { DryRun = true },
                "--help" or "-h" => options with { Help = true },
                _ => throw new ArgumentException($"Unknown argument {args[i]} (see --help)."),
            };
        }

        return options;
    }

    private static int Count(List<string> args, ref int i)
    {
        string option = args[i];
        string value = i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{option} needs a number.");
        return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1
            ? n
            : throw new ArgumentException($"{option} {value}: expected a whole number of at least 1.");
    }
}

/// <summary>
/// The default topology (design.md §1, issue 3): a primary cluster (controllers, brokers from
/// localhost:9092, coordinators), a backup cluster (1 + 1 + 1, broker on localhost:29092) and the
/// mirror primary → backup. A service whose project does not exist yet under services/ is left
/// out, and so are the references to it.
/// </summary>
internal static class Topology
{
    /// <summary>Service name → folder; the project is the one *.csproj in that folder.</summary>
    public static readonly IReadOnlyList<(string Service, string Folder)> Services =
    [
        ("controller", "services/controller"),
        ("broker", "services/broker"),
        ("coordinator", "services/coordinator"),
        ("mirror", "services/mirror"),
    ];

    public const int PrimaryBootstrapPort = 9092;
    public const int BackupBootstrapPort = 29092;

    /// <summary>The project file of each service that exists, relative to <paramref name="root"/>.</summary>
    public static Dictionary<string, string?> FindProjects(string root) => Services.ToDictionary(
        s => s.Service,
        s =>
        {
            string folder = Path.Combine(root, s.Folder);
            string? project = Directory.Exists(folder) ? Directory.GetFiles(folder, "*.csproj").OrderBy(p => p, StringComparer.Ordinal).FirstOrDefault() : null;
            return project is null ? null : Path.GetRelativePath(root, project);
        });

    /// <summary>Declares the resources of the services that exist; returns the lines describing the plan.</summary>
    public static List<string> Declare(DistributedApplicationBuilder builder, TopologyOptions options, IReadOnlyDictionary<string, string?> projects)
    {
        var plan = new List<string>();
        List<ResourceBuilder> primaryBrokers = DeclareCluster(builder, "primary", options.Controllers, options.Brokers, options.Coordinators, PrimaryBootstrapPort, projects, plan);
        List<ResourceBuilder> backupBrokers = options.Backup
            ? DeclareCluster(builder, "backup", 1, 1, 1, BackupBootstrapPort, projects, plan)
            : [];

        if (options.Backup)
        {
            string? mirror = projects["mirror"];
            plan.Add($"mirror: 1 (primary -> backup){Missing(mirror, "mirror")}");
            if (mirror is not null)
            {
                ResourceBuilder m = builder.AddProject("mirror", mirror)
                    .WithConfig("source.bootstrap.servers", () => string.Join(',', primaryBrokers.Select(b => b.Resource.GetEndpoint("PLAINTEXT")!.Address)))
                    .WithConfig("target.bootstrap.servers", () => string.Join(',', backupBrokers.Select(b => b.Resource.GetEndpoint("PLAINTEXT")!.Address)));
                foreach (ResourceBuilder broker in primaryBrokers.Concat(backupBrokers))
                {
                    m.WaitFor(broker);
                }
            }
        }

        return plan;
    }

    private static List<ResourceBuilder> DeclareCluster(
        DistributedApplicationBuilder builder, string cluster, int controllers, int brokers, int coordinators, int bootstrapPort,
        IReadOnlyDictionary<string, string?> projects, List<string> plan)
    {
        string prefix = cluster == "primary" ? "" : cluster + "-";
        string? controllerProject = projects["controller"];
        string? brokerProject = projects["broker"];
        string? coordinatorProject = projects["coordinator"];
        plan.Add($"{cluster}: {controllers} controller(s){Missing(controllerProject, "controller")}, {brokers} broker(s) from localhost:{bootstrapPort}{Missing(brokerProject, "broker")}, {coordinators} coordinator(s){Missing(coordinatorProject, "coordinator")}");

        // Node ids: controllers 1.., brokers 101.., coordinators 201.. (unique within a cluster).
        var controllerNodes = new List<ResourceBuilder>();
        if (controllerProject is not null)
        {
            for (int i = 1; i <= controllers; i++)
            {
                controllerNodes.Add(builder.AddProject($"{prefix}controller-{i}", controllerProject)
                    .WithKafkaListener("CONTROLLER")
                    .WithDataDirectory(cluster, i));
            }
        }

        string Voters() => string.Join(',', controllerNodes.Select(c => $"{c.Resource.NodeId}@{c.Resource.GetEndpoint("CONTROLLER")!.Address}"));
        foreach (ResourceBuilder controller in controllerNodes)
        {
            controller.WithConfig("controller.quorum.voters", Voters);
        }

        var brokerNodes = new List<ResourceBuilder>();
        if (brokerProject is not null)
        {
            for (int i = 1; i <= brokers; i++)
            {
                ResourceBuilder broker = builder.AddProject($"{prefix}broker-{i}", brokerProject)
                    .WithKafkaListener("PLAINTEXT", bootstrapPort + i - 1, bootstrap: true)
                    .WithDataDirectory(cluster, 100 + i);
                if (controllerNodes.Count > 0)
                {
                    broker.WithConfig("controller.quorum.voters", Voters);
                }

                foreach (ResourceBuilder controller in controllerNodes)
                {
                    broker.WithReference(controller);
                }

                brokerNodes.Add(broker);
            }
        }

        if (coordinatorProject is not null)
        {
            for (int i = 1; i <= coordinators; i++)
            {
                ResourceBuilder coordinator = builder.AddProject($"{prefix}coordinator-{i}", coordinatorProject)
                    .WithKafkaListener("PLAINTEXT")
                    .WithDataDirectory(cluster, 200 + i);
                if (controllerNodes.Count > 0)
                {
                    coordinator.WithConfig("controller.quorum.voters", Voters);
                }

                foreach (ResourceBuilder dependency in controllerNodes.Concat(brokerNodes))
                {
                    coordinator.WithReference(dependency);
                }
            }
        }

        return brokerNodes;
    }

    private static string Missing(string? project, string service) => project is null ? $" [not built yet: no project in services/{service}]" : "";
}
