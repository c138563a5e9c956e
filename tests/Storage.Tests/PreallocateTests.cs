using System.Diagnostics;
using System.Globalization;

namespace Aspire.Kafka.Storage.Tests;

/// <summary>preallocate=true: blocks reserved ahead of the active segment's end, the file length untouched.</summary>
public sealed class PreallocateTests
{
    private static LogConfig Config(int segmentBytes = 1 << 20) => Batches.SmallConfig(segmentBytes: segmentBytes) with { Preallocate = true };

    [Fact]
    public void Appends_reserve_blocks_without_changing_the_file_length()
    {
        using var dir = new TempDir();
        using var log = UnifiedLog.Open(dir.Sub("t-0"), Config());
        for (int i = 0; i < 20; i++)
        {
            log.AppendAsLeader(Batches.Make(5, 1000 + (i * 10), "p" + i.ToString(CultureInfo.InvariantCulture)), 0);
        }

        var segment = log.ActiveSegment;
        Assert.Equal(segment.Size, new FileInfo(segment.LogFilePath).Length);
        Assert.Equal(100, log.LogEndOffset);
        Assert.Equal(100, Batches.ReadAll(log).Count);
        if (OperatingSystem.IsLinux() && segment.ReservedEnd > 0)
        {
            // A small segment reserves one minimum step past its end, really allocated on disk.
            Assert.InRange(segment.ReservedEnd, segment.Size, segment.Size + LogSegment.PreallocateMinStepBytes + 2048);
            Assert.True(AllocatedBytes(segment.LogFilePath) >= segment.ReservedEnd, "the reservation should be allocated on disk");
        }
    }

    [Fact]
    public void Reservations_grow_with_the_segment_and_stop_at_segment_bytes()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        using var dir = new TempDir();
        using var log = UnifiedLog.Open(dir.Sub("t-0"), Batches.SmallConfig(segmentBytes: 8 << 20) with { Preallocate = true });
        string value = new('v', 4000);
        var reserved = new List<long>();
        while (log.ActiveSegment.BaseOffset == 0 && log.ActiveSegment.Size < (6 << 20))
        {
            log.AppendAsLeader(Batches.Make(4, 5000, value), 0);
            LogSegment segment = log.ActiveSegment;
            Assert.True(segment.ReservedEnd == 0 || segment.ReservedEnd >= segment.Size, "the reservation covers what was written");
            Assert.True(segment.ReservedEnd <= Math.Max(2 * segment.Size, segment.Size + LogSegment.PreallocateMinStepBytes) + (64 * 1024),
                $"reserved {segment.ReservedEnd} for a segment of {segment.Size} bytes: more than one step of its own size");
            if (reserved.Count == 0 || reserved[^1] != segment.ReservedEnd)
            {
                reserved.Add(segment.ReservedEnd);
            }
        }

        if (reserved[0] == 0)
        {
            return; // this file system cannot reserve: nothing more to check
        }

        // Steps double while the segment grows (64 KiB, 128 KiB, …), so a few reservations cover megabytes,
        // and none goes past segment.bytes.
        Assert.InRange(reserved.Count, 5, 12);
        Assert.All(reserved, r => Assert.True(r <= 8 << 20));
    }

    [Fact]
    public void Roll_truncation_and_close_give_the_reserved_blocks_back()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        using var dir = new TempDir();
        var log = UnifiedLog.Open(dir.Sub("t-0"), Config());
        for (int i = 0; i < 10; i++)
        {
            log.AppendAsLeader(Batches.Make(5, 1000 + i), 0);
        }

        var first = log.ActiveSegment;
        string firstPath = first.LogFilePath;
        log.Roll();
        Assert.Equal(0, first.ReservedEnd);
        Assert.True(AllocatedBytes(firstPath) < 64 * 1024, $"{AllocatedBytes(firstPath)} bytes still allocated after the roll");

        log.AppendAsLeader(Batches.Make(5, 2000), 0);
        log.AppendAsLeader(Batches.Make(5, 2001), 0);
        var active = log.ActiveSegment;
        bool reserved = active.ReservedEnd > 0;
        Assert.True(log.TruncateTo(55));
        Assert.Equal(0, active.ReservedEnd);
        Assert.Equal(active.Size, new FileInfo(active.LogFilePath).Length);
        if (reserved)
        {
            Assert.True(AllocatedBytes(active.LogFilePath) < 64 * 1024);
        }

        // Appends after the truncation reserve again from the new end.
        log.AppendAsLeader(Batches.Make(5, 2002), 0);
        Assert.Equal(60, log.LogEndOffset);
        string activePath = log.ActiveSegment.LogFilePath;
        log.Close();
        Assert.True(AllocatedBytes(activePath) < 64 * 1024);

        using var reopened = UnifiedLog.Open(dir.Sub("t-0"), Config(), new UnifiedLogOptions { HadCleanShutdown = true });
        Assert.Equal(60, reopened.LogEndOffset);
        Assert.Equal(60, Batches.ReadAll(reopened).Count);
    }

    [Fact]
    public void A_crash_with_blocks_reserved_recovers_every_batch_and_releases_them()
    {
        using var dir = new TempDir();
        var log = UnifiedLog.Open(dir.Sub("t-0"), Config());
        for (int i = 0; i < 30; i++)
        {
            log.AppendAsLeader(Batches.Make(3, 1000 + i), 0);
        }

        string path = log.ActiveSegment.LogFilePath;
        long written = log.ActiveSegment.Size;
        log.Dispose(); // no flush, no clean-shutdown marker

        // A killed process leaves its reservation behind: make one as it would be.
        bool leftBehind = OperatingSystem.IsLinux() && Run("fallocate", "-n", "-l", "1048576", path) == 0;
        Assert.Equal(written, new FileInfo(path).Length);
        if (leftBehind)
        {
            Assert.True(AllocatedBytes(path) >= 1 << 20);
        }

        using var reopened = UnifiedLog.Open(dir.Sub("t-0"), Config(), new UnifiedLogOptions { HadCleanShutdown = false });
        Assert.Equal(0, reopened.LoadResult.BytesTruncated);
        Assert.Equal(90, reopened.LogEndOffset);
        Assert.Equal(90, Batches.ReadAll(reopened).Count);
        if (leftBehind)
        {
            Assert.True(AllocatedBytes(path) < 64 * 1024, $"{AllocatedBytes(path)} bytes still allocated after recovery");
        }

        reopened.AppendAsLeader(Batches.Make(3, 5000), 0);
        Assert.Equal(93, reopened.LogEndOffset);
    }

    [Fact]
    public void Preallocate_is_read_from_topic_and_broker_keys()
    {
        Assert.True(new LogConfig().Preallocate); // on by default here (Kafka: off), see LogConfig.Preallocate
        Assert.True(LogConfig.FromProperties(new Dictionary<string, string> { ["log.preallocate"] = "true" }).Preallocate);
        Assert.False(LogConfig.FromProperties(new Dictionary<string, string> { ["log.preallocate"] = "true", ["preallocate"] = "false" }).Preallocate);
        Assert.True(LogConfig.FromProperties(new Dictionary<string, string> { ["preallocate"] = "TRUE" }, rejectUnknown: true).Preallocate);
        Assert.Throws<ArgumentException>(() => LogConfig.FromProperties(new Dictionary<string, string> { ["preallocate"] = "yes" }));
    }

    private static int Run(string file, params string[] arguments)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardError = true })!;
            process.StandardError.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1;
        }
    }

    /// <summary>Blocks allocated to the file (st_blocks × 512), from stat(1).</summary>
    private static long AllocatedBytes(string path)
    {
        var start = new ProcessStartInfo("stat", ["-c", "%b %B", path]) { RedirectStandardOutput = true };
        using var process = Process.Start(start)!;
        string[] parts = process.StandardOutput.ReadToEnd().Trim().Split(' ');
        process.WaitForExit();
        return long.Parse(parts[0], CultureInfo.InvariantCulture) * long.Parse(parts[1], CultureInfo.InvariantCulture);
    }
}
