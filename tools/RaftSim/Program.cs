using System.Diagnostics;
using System.Globalization;
using Aspire.Kafka.Raft.Tests.Simulation;

int seeds = 100;
int start = 0;
int[] voterCounts = [3, 5];
bool verbose = false;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--seeds":
            seeds = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--start":
            start = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--voters":
            voterCounts = [int.Parse(args[++i], CultureInfo.InvariantCulture)];
            break;
        case "--verbose":
            verbose = true;
            break;
        default:
            Console.Error.WriteLine("usage: RaftSim --seeds N [--start S] [--voters 3|5] [--verbose]");
            return 2;
    }
}

int failures = 0;
var totals = new SortedDictionary<string, long>(StringComparer.Ordinal);
var watch = Stopwatch.StartNew();
foreach (int voters in voterCounts)
{
    for (int seed = start; seed < start + seeds; seed++)
    {
        SimulationResult result = RaftSimulation.Run(seed, voters, verbose);
        foreach (var (name, value) in result.Counters)
        {
            totals[name] = totals.GetValueOrDefault(name) + value;
        }

        totals["commits"] = totals.GetValueOrDefault("commits") + result.Commits;
        if (verbose)
        {
            Console.WriteLine(result.Trace);
        }

        if (!result.Passed)
        {
            failures++;
            Console.WriteLine($"FAIL seed {seed} voters {voters}: {result.Failure}");
            if (!verbose)
            {
                Console.WriteLine(result.Trace);
            }

            Console.WriteLine($"replay: dotnet run --project tools/RaftSim -- --seeds 1 --start {seed} --voters {voters} --verbose");
        }
        else if (verbose || seeds <= 10)
        {
            Console.WriteLine($"ok seed {seed} voters {voters}: {result.Events} events, {result.Commits} committed, max epoch {result.MaxEpoch}");
        }
    }
}

Console.WriteLine(string.Join(", ", totals.Select(t => $"{t.Key}={t.Value}")));
Console.WriteLine($"{seeds * voterCounts.Length - failures} passed, {failures} failed in {watch.Elapsed.TotalSeconds:F1} s");
return failures == 0 ? 0 : 1;
