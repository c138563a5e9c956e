using System.Diagnostics;
using System.Globalization;

namespace Aspire.Kafka.Storage.Tests;

/// <summary>
/// A child process appends as fast as it can and is killed with SIGKILL at a random moment,
/// many times. After each kill the log is recovered: every batch read back is valid, offsets are
/// contiguous, every record is the one written at its offset (so the log is a prefix of what was
/// written), nothing below the last recovery point the child reported is lost, and the recovered
/// producer state ends at the sequence of the last batch in the log.
/// </summary>
public sealed class CrashTests
{
    private const int Iterations = 10;

    [Fact]
    public async Task Log_survives_repeated_sigkill_of_a_writer()
    {
        string writer = FindCrashWriter();
        using var dir = new TempDir();
        var random = new Random(4242);
        long previousEnd = 0;
        for (int iteration = 0; iteration < Iterations; iteration++)
        {
            int killAfter = random.Next(1, 12);
            long flushedPoint = await RunAndKillAsync(writer, dir.Path, iteration, killAfter);

            var manager = new LogManager(new LogManagerConfig { LogDirs = [dir.Path], DefaultLogConfig = new LogConfig { SegmentBytes = 256 * 1024, IndexIntervalBytes = 1024, MaxIndexSize = 64 * 1024, RetentionMs = -1 } });
            await manager.StartupAsync();
            var log = manager.GetLog(new TopicPartition("crash", 0));
            Assert.NotNull(log);
            Assert.False(manager.HadCleanShutdown[Path.GetFullPath(dir.Path)]);
            Assert.True(log.LoadResult.SegmentsRecovered >= 1, "an unclean shutdown recovers at least the active segment");
            Assert.True(log.LogEndOffset >= flushedPoint, $"iteration {iteration}: log end {log.LogEndOffset} is below the flushed point {flushedPoint}");
            Assert.True(log.LogEndOffset >= previousEnd, $"iteration {iteration}: log end {log.LogEndOffset} went below {previousEnd}");
            var records = Batches.ReadAll(log);
            Assert.Equal(log.LogEndOffset, records.Count);
            for (int i = 0; i < records.Count; i++)
            {
                Assert.Equal(i, records[i].Offset);
                string value = Batches.Text(records[i].Value);
                Assert.StartsWith($"r{i}", value, StringComparison.Ordinal);
                Assert.True(value.Length == $"r{i}".Length || value[$"r{i}".Length] == '#', $"offset {i} holds '{value}'");
            }

            // The child writes every batch as idempotent producer 7, sequences continuing from the recovered state.
            var lastBatch = Batches.Split(log.Read(log.LogEndOffset - 1, 1).Records.ToArray()).Single().Header;
            var producer = log.ActiveProducers[7];
            Assert.Equal((lastBatch.LastSequence, lastBatch.LastOffset), (producer.LastSequence, producer.LastOffset));
            Assert.Equal(log.LogEndOffset - 1, lastBatch.LastSequence); // one sequence per record since offset 0

            previousEnd = log.LogEndOffset;
            if (iteration % 2 == 0)
            {
                await manager.ShutdownAsync(); // next child starts from a clean shutdown
            }
            else
            {
                foreach (var l in manager.AllLogs)
                {
                    l.Dispose(); // as if this process died too: the next child recovers
                }
            }
        }

        Assert.True(previousEnd > 0);
    }

    private static async Task<long> RunAndKillAsync(string writer, string dir, int seed, int killAfterProgressLines)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(writer);
        start.ArgumentList.Add(dir);
        start.ArgumentList.Add(seed.ToString(CultureInfo.InvariantCulture));
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        long flushed = 0;
        int progress = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            while (progress < killAfterProgressLines)
            {
                string? line = await process.StandardOutput.ReadLineAsync(timeout.Token);
                if (line is null)
                {
                    throw new InvalidOperationException($"The crash writer exited early: {await errors}");
                }

                var parts = line.Split(' ');
                if (parts[0] == "progress")
                {
                    progress++;
                    flushed = long.Parse(parts[2], CultureInfo.InvariantCulture);
                }
            }
        }
        finally
        {
            process.Kill(entireProcessTree: true); // SIGKILL on Linux
            await process.WaitForExitAsync(CancellationToken.None);
        }

        return flushed;
    }

    private static string FindCrashWriter()
    {
        // tests/Storage.Tests/bin/<Configuration>/net10.0/ → tests/Storage.CrashWriter/bin/<Configuration>/net10.0/
        var baseDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string framework = baseDir.Name;
        string configuration = baseDir.Parent!.Name;
        string testsDir = baseDir.Parent!.Parent!.Parent!.Parent!.FullName;
        string path = Path.Combine(testsDir, "Storage.CrashWriter", "bin", configuration, framework, "Storage.CrashWriter.dll");
        Assert.True(File.Exists(path), $"The crash writer is not built at {path}: build tests/Storage.CrashWriter (the test project references it).");
        return path;
    }
}
