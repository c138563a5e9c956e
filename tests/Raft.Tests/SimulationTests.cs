using System.Diagnostics;
using System.Globalization;
using Aspire.Kafka.Raft.Tests.Simulation;
using Xunit.Abstractions;

namespace Aspire.Kafka.Raft.Tests;

/// <summary>
/// Seeded simulations (see <see cref="RaftSimulation"/>). Each test runs a block of seeds; a
/// failure names the seed and the command that replays it with a full trace.
/// RAFT_SIM_SEEDS=N adds N more seeds in all (a quarter to each test); RAFT_SIM_START=S shifts the seeds.
/// </summary>
public sealed class SimulationTests(ITestOutputHelper output)
{
    private const int SeedsPerTest = 400;

    [Theory]
    [InlineData(3, 0)]
    [InlineData(3, 1)]
    [InlineData(5, 0)]
    [InlineData(5, 1)]
    public void Seeds_keep_every_invariant_and_make_progress_after_healing(int voters, int block)
    {
        int extra = int.TryParse(Environment.GetEnvironmentVariable("RAFT_SIM_SEEDS"), NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : 0;
        int start = int.TryParse(Environment.GetEnvironmentVariable("RAFT_SIM_START"), NumberStyles.None, CultureInfo.InvariantCulture, out int s) ? s : 0;
        int count = SeedsPerTest + extra / 4;
        int first = start + block * count;
        var watch = Stopwatch.StartNew();
        long events = 0;
        int commits = 0;
        for (int seed = first; seed < first + count; seed++)
        {
            SimulationResult result = RaftSimulation.Run(seed, voters);
            events += result.Events;
            commits += result.Commits;
            if (!result.Passed)
            {
                Assert.Fail(
                    $"seed {seed} with {voters} voters failed: {result.Failure}\n" +
                    $"replay: dotnet run --project tools/RaftSim -- --seeds 1 --start {seed} --voters {voters} --verbose\n" +
                    $"last events:\n{result.Trace}");
            }
        }

        output.WriteLine($"{count} seeds ({first}..{first + count - 1}) with {voters} voters + 1 observer: {events} events, {commits} committed entries, {watch.Elapsed.TotalSeconds:F1} s");
        Assert.True(commits > count, "the simulations committed almost nothing: the load generator or the core is broken");
    }
}
