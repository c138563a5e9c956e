using Aspire.Kafka.Client;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Tools.ConsumerGroups;

// kafka-consumer-groups --bootstrap-server HOST:PORT (--list | --describe (--group G | --all-groups))
string? bootstrap = null;
string? group = null;
bool list = false, describe = false, all = false;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--bootstrap-server" when i + 1 < args.Length:
            bootstrap = args[++i];
            break;
        case "--group" when i + 1 < args.Length:
            group = args[++i];
            break;
        case "--list":
            list = true;
            break;
        case "--describe":
            describe = true;
            break;
        case "--all-groups":
            all = true;
            break;
        default:
            return Usage($"Unknown or incomplete argument {args[i]}.");
    }
}

if (bootstrap is null)
{
    return Usage("--bootstrap-server is required.");
}

if (list == describe)
{
    return Usage("Give exactly one of --list and --describe.");
}

if (describe && group is null && !all)
{
    return Usage("--describe needs --group G or --all-groups.");
}

using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
await using var client = new KafkaClient(new KafkaClientOptions
{
    BootstrapServers = bootstrap.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
    ClientId = "kafka-consumer-groups",
});
var admin = new GroupAdmin(client);
try
{
    if (list)
    {
        foreach (ListGroupsResponse.ListedGroup g in await admin.ListGroupsAsync(cancel.Token))
        {
            Console.WriteLine(g.GroupId);
        }

        return 0;
    }

    IEnumerable<string> groups = all ? (await admin.ListGroupsAsync(cancel.Token)).Select(g => g.GroupId) : [group!];
    foreach (string g in groups)
    {
        (string state, IReadOnlyList<LagRow> rows) = await admin.DescribeLagAsync(g, cancel.Token);
        Console.WriteLine();
        if (rows.Count == 0)
        {
            Console.WriteLine($"Consumer group '{g}' has no active members and no committed offsets (state {state}).");
            continue;
        }

        if (state == "Empty")
        {
            Console.WriteLine($"Consumer group '{g}' has no active members.");
        }
        else if (state is "PreparingRebalance" or "CompletingRebalance")
        {
            Console.WriteLine($"Warning: Consumer group '{g}' is rebalancing.");
        }

        Print(rows);
    }

    return 0;
}
catch (Exception e) when (e is KafkaClientException or InvalidOperationException or OperationCanceledException)
{
    Console.Error.WriteLine($"kafka-consumer-groups: {e.Message}");
    return 1;
}

static void Print(IReadOnlyList<LagRow> rows)
{
    string[] header = ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"];
    List<string[]> lines = [header, .. rows.Select(r => new[]
    {
        r.Group, r.Topic, r.Partition.ToString(System.Globalization.CultureInfo.InvariantCulture),
        r.CurrentOffset?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-",
        r.LogEndOffset?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-",
        r.Lag?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-",
        r.ConsumerId, r.Host, r.ClientId,
    })];
    int[] widths = [.. Enumerable.Range(0, header.Length).Select(c => lines.Max(l => l[c].Length))];
    foreach (string[] line in lines)
    {
        Console.WriteLine(string.Join(' ', line.Select((cell, c) => cell.PadRight(widths[c]))).TrimEnd());
    }
}

static int Usage(string problem)
{
    Console.Error.WriteLine($"kafka-consumer-groups: {problem}");
    Console.Error.WriteLine("usage: kafka-consumer-groups --bootstrap-server HOST:PORT[,…] (--list | --describe (--group G | --all-groups))");
    return 2;
}
