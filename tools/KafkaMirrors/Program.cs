using Aspire.Kafka.Mirror.Control;
using Grpc.Core;
using Grpc.Net.Client;

// kafka-mirrors [--mirror-server HOST:PORT] [--bootstrap-server TARGET] (--describe | --pause | --resume | --failover | --promote)
//               (--topic T ... | --all) [--timeout-ms N]
string mirrorServer = Environment.GetEnvironmentVariable("KAFKA_MIRROR_SERVER") ?? "localhost:9096";
string? bootstrap = null;
string? operation = null;
var topics = new List<string>();
bool all = false;
int timeoutMs = 30_000;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--mirror-server" when i + 1 < args.Length:
            mirrorServer = args[++i];
            break;
        case "--bootstrap-server" when i + 1 < args.Length:
            bootstrap = args[++i];
            break;
        case "--topic" when i + 1 < args.Length:
            topics.Add(args[++i]);
            break;
        case "--all":
            all = true;
            break;
        case "--timeout-ms" when i + 1 < args.Length && int.TryParse(args[i + 1], out int parsed) && parsed > 0:
            timeoutMs = parsed;
            i++;
            break;
        case "--describe" or "--pause" or "--resume" or "--failover" or "--promote" when operation is null:
            operation = args[i][2..];
            break;
        default:
            return Usage($"Unknown, repeated or incomplete argument {args[i]}.");
    }
}

if (operation is null)
{
    return Usage("Give one of --describe, --pause, --resume, --failover, --promote.");
}

if (operation != "describe" && topics.Count == 0 && !all)
{
    return Usage($"--{operation} needs --topic T (repeatable) or --all.");
}

using GrpcChannel channel = GrpcChannel.ForAddress(mirrorServer.Contains("://", StringComparison.Ordinal) ? mirrorServer : $"http://{mirrorServer}");
var client = new MirrorControl.MirrorControlClient(channel);
var request = new TopicsRequest();
request.Topics.AddRange(topics);
try
{
    using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(timeoutMs + 30_000));
    MirrorStatus status = operation switch
    {
        "describe" => await client.DescribeAsync(request, cancellationToken: cancel.Token),
        "pause" => await client.PauseAsync(request, cancellationToken: cancel.Token),
        "resume" => await client.ResumeAsync(request, cancellationToken: cancel.Token),
        "failover" => await client.FailoverAsync(request, cancellationToken: cancel.Token),
        _ => await client.PromoteAsync(new PromoteRequest { Topics = { topics }, TimeoutMs = timeoutMs }, cancellationToken: cancel.Token),
    };
    if (bootstrap is not null && !bootstrap.Split(',').Any(b => status.TargetBootstrap.Split(',').Contains(b.Trim())))
    {
        Console.Error.WriteLine($"Error: the mirror at {mirrorServer} mirrors into {status.TargetBootstrap} ({status.TargetAlias}), not {bootstrap}.");
        return 1;
    }

    Print(status);
    return 0;
}
catch (RpcException e)
{
    Console.Error.WriteLine(e.StatusCode == StatusCode.Unavailable && e.Status.Detail.Contains("Error connecting", StringComparison.OrdinalIgnoreCase)
        ? $"Error: no mirror answers at {mirrorServer} (--mirror-server or KAFKA_MIRROR_SERVER): {e.Status.Detail}"
        : $"Error: {e.Status.Detail}");
    return 1;
}

// One line per topic and per partition, in the shape of Confluent's kafka-mirrors --describe.
static void Print(MirrorStatus status)
{
    Console.WriteLine($"Mirror {status.SourceAlias} ({status.SourceBootstrap}) -> {status.TargetAlias} ({status.TargetBootstrap})");
    foreach (IGrouping<string, PartitionStatus> topic in status.Partitions.GroupBy(p => p.Topic))
    {
        string state = topic.Select(p => p.State).Distinct().Count() == 1 ? topic.First().State : "Mixed";
        Console.WriteLine($"Topic: {topic.Key}\tState: {state}\tNumPartitions: {topic.Count()}\tLag: {topic.Sum(p => p.LagRecords)}");
        foreach (PartitionStatus p in topic.OrderBy(p => p.Partition))
        {
            Console.WriteLine($"\tPartition: {p.Partition}\tState: {p.State}\tSourceEndOffset: {p.SourceEndOffset}\tDestLogEndOffset: {p.TargetEndOffset}\tLag: {p.LagRecords}\tLagMs: {p.LagMs}"
                + (p.Reason.Length > 0 ? $"\tReason: {p.Reason}" : ""));
        }
    }

    foreach (RefusedTopic refused in status.RefusedTopics)
    {
        Console.WriteLine($"Topic: {refused.Topic}\tState: Refused\tReason: {refused.Reason}");
    }

    Console.WriteLine(status.LastGroupSyncMs > 0
        ? $"Consumer-group offsets last synced {DateTimeOffset.FromUnixTimeMilliseconds(status.LastGroupSyncMs):u}{(status.GroupSyncError.Length > 0 ? $" (last error: {status.GroupSyncError})" : "")}"
        : $"Consumer-group offsets not synced yet{(status.GroupSyncError.Length > 0 ? $": {status.GroupSyncError}" : "")}");
}

static int Usage(string problem)
{
    Console.Error.WriteLine(problem);
    Console.Error.WriteLine("Usage: kafka-mirrors [--mirror-server HOST:PORT] [--bootstrap-server TARGET] (--describe | --pause | --resume | --failover | --promote)");
    Console.Error.WriteLine("                     (--topic T ... | --all) [--timeout-ms N]");
    Console.Error.WriteLine("  --mirror-server defaults to KAFKA_MIRROR_SERVER, else localhost:9096 (the AppHost's mirror).");
    return 2;
}
