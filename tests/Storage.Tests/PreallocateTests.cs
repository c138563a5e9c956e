using System.Diagnostics;
using System.Globalization;

namespace Aspire.Kafka.Storage.Tests;

/// <summary>
/// preallocate=true: blocks reserved ahead of the active segment's end, and zeros written up to the
/// next 64 KiB boundary; neither is ever read as data, both go at roll, truncation, close and recovery.
/// </summary>
public sealed class PreallocateTests
{
    private static LogConfig Config(int segmentBytes = 1 << 20) => Batches.SmallConfig(segmentBytes: segmentBytes) with { Preallocate = true };

    [Fact]
    public void Appends_write_zeros_ahead_to_a_64_KiB_boundary_and_reads_stop_at_the_data()
    {
        using var dir = new TempDir();
        using var log = UnifiedLog.Open(dir.Sub("t-0"), Config());
        var segment = log.ActiveSegment;
        for (int i = 0; i < 20; i++)
        {
            log.AppendAsLeader(Batches.Make(5, 1000 + (i * 10), "p" + i.ToString(CultureInfo.InvariantCulture)), 0);
            long length = new FileInfo(segment.LogFilePath).Length;
            Assert.Equal(segment.FilledEnd, length);
            Assert.Equal(0, length % LogSegment.PrefillAlignmentBytes);
            Assert.InRange(length, segment.Size + 1, segment.Size + LogSegment.PrefillAlignmentBytes);
        }

        byte[] file = File.ReadAllBytes(segment.LogFilePath);
        Assert.False(file.AsSpan(segment.Size).ContainsAnyExcept((byte)0), "the bytes past the data are zeros");
        Assert.Equal(100, log.LogEndOffset);
        var records = Batches.ReadAll(log);
        Assert.Equal(100, records.Count);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), records.Select(r => r.Offset));
        Assert.Equal(0, segment.ReservedEnd); // a small segment reserves no blocks
    }

    [Fact]
    public void Without_preallocate_the_file_length_is_the_data()
    {
        using var dir = new TempDir();
        using var log = UnifiedLog.Open(dir.Sub("t-0"), Config() with { Preallocate = false });
        for (int i = 0; i < 20; i++)
        {
            log.AppendAsLeader(Batches.Make(5, 1000 + i), 0);
            Assert.Equal(log.ActiveSegment.Size, new FileInfo(log.ActiveSegment.LogFilePath).Length);
        }

        Assert.Equal(0, log.ActiveSegment.FilledEnd);
        Assert.Equal(0, log.ActiveSegment.ReservedEnd);
    }

    [Fact]
    public void Reservations_start_at_1_MiB_grow_with_the_segment_and_stop_at_segment_bytes()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        using var dir = new TempDir();
        using var log = UnifiedLog.Open(dir.Sub("t-0"), Batches.SmallConfig(segmentBytes: 8 << 20) with { Preallocate = true });
        var reserved = new List<long>();
        while (log.ActiveSegment.BaseOffset == 0 && log.ActiveSegment.Size < (6 << 20))
        {
            int before = log.ActiveSegment.Size;
            log.AppendAsLeader(Batches.Make(4, 5000, Value), 0);
            LogSegment segment = log.ActiveSegment;
            if (before < LogSegment.PreallocateFromBytes)
            {
                Assert.Equal(0, segment.ReservedEnd);
                continue;
            }

            Assert.True(segment.ReservedEnd == 0 || segment.ReservedEnd >= segment.Size, "the reservation covers what was written");
            Assert.True(segment.ReservedEnd <= 2 * segment.Size + (64 * 1024),
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

        // Steps double while the segment grows (1 MiB, 2 MiB, …), and none goes past segment.bytes.
        Assert.InRange(reserved.Count, 2, 5);
        Assert.All(reserved, r => Assert.True(r <= 8 << 20));
        Assert.True(AllocatedBytes(log.ActiveSegment.LogFilePath) >= reserved[^1], "the reservation should be allocated on disk");
    }

    [Fact]
    public void Roll_truncation_and_close_cut_the_zeros_and_give_the_reserved_blocks_back()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        using var dir = new TempDir();
        var log = UnifiedLog.Open(dir.Sub("t-0"), Config(segmentBytes: 8 << 20));
        AppendPast(log, 1_300_000);
        var first = log.ActiveSegment;
        string firstPath = first.LogFilePath;
        Assert.True(new FileInfo(firstPath).Length > first.Size, "zeros were written ahead");
        bool reserves = first.ReservedEnd > first.Size; // false where the file system cannot reserve
        log.Roll();
        Assert.Equal(0, first.ReservedEnd);
        Assert.Equal(0, first.FilledEnd);
        Assert.Equal(first.Size, new FileInfo(firstPath).Length);
        Assert.True(AllocatedBytes(firstPath) <= first.Size + 4096, $"{AllocatedBytes(firstPath)} bytes still allocated after the roll of {first.Size}");

        long truncateAt = log.LogEndOffset + 40;
        AppendPast(log, 1_300_000);
        var active = log.ActiveSegment;
        Assert.Equal(reserves, active.ReservedEnd > active.Size);
        Assert.True(log.TruncateTo(truncateAt));
        Assert.Equal(truncateAt, log.LogEndOffset);
        Assert.Equal(0, active.ReservedEnd);
        Assert.Equal(0, active.FilledEnd);
        Assert.Equal(active.Size, new FileInfo(active.LogFilePath).Length);
        Assert.True(AllocatedBytes(active.LogFilePath) <= active.Size + 4096);

        // Appends after the truncation write ahead (and reserve) again from the new end.
        AppendPast(log, 1_300_000);
        var last = log.ActiveSegment;
        string activePath = last.LogFilePath;
        long end = log.LogEndOffset;
        Assert.True(new FileInfo(activePath).Length > last.Size, "zeros were written ahead again");
        Assert.Equal(reserves, last.ReservedEnd > last.Size);
        log.Close();
        Assert.Equal(last.Size, new FileInfo(activePath).Length);
        Assert.True(AllocatedBytes(activePath) <= last.Size + 4096);

        using var reopened = UnifiedLog.Open(dir.Sub("t-0"), Config(segmentBytes: 8 << 20), new UnifiedLogOptions { HadCleanShutdown = true });
        Assert.Equal(end, reopened.LogEndOffset);
        Assert.Equal(end, Batches.ReadAll(reopened).Count);
    }

    private static readonly string Value = new('v', 4000);

    private static void AppendPast(UnifiedLog log, int segmentSize)
    {
        while (log.ActiveSegment.Size < segmentSize)
        {
            log.AppendAsLeader(Batches.Make(4, 5000, Value), 0);
        }
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
        Assert.True(new FileInfo(path).Length > written, "zeros were written ahead of the end");
        log.Dispose(); // no flush, no clean-shutdown marker

        // A killed process leaves the zeros written ahead and its reservation behind: make both as
        // they would be (Dispose has cut them).
        using (var file = new FileStream(path, FileMode.Open))
        {
            file.SetLength(LogSegment.PrefillAlignmentBytes);
        }

        bool leftBehind = OperatingSystem.IsLinux() && Run("fallocate", "-n", "-o", "0", "-l", "1048576", path) == 0;
        if (leftBehind)
        {
            Assert.True(AllocatedBytes(path) >= 1 << 20);
        }

        var logger = new ListLogger();
        using var reopened = UnifiedLog.Open(dir.Sub("t-0"), Config(), new UnifiedLogOptions { HadCleanShutdown = false, Logger = logger });
        Assert.Equal(0, reopened.LoadResult.BytesTruncated);
        Assert.Equal(0, reopened.LoadResult.SegmentsDeletedAfterCorruption);
        Assert.Equal(written, new FileInfo(path).Length);
        Assert.Contains(logger.Lines, l => l.Contains("zero bytes written ahead", StringComparison.Ordinal));
        Assert.DoesNotContain(logger.Lines, l => l.Contains("invalid tail", StringComparison.Ordinal));
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
    public void Zeros_after_an_older_segment_are_trimmed_when_the_next_segment_continues_it()
    {
        using var dir = new TempDir();
        string path = dir.Sub("t-0");
        string firstPath = TwoClosedSegments(path);

        // A power loss after the roll's trim but before its fsync could leave the old length.
        long size = new FileInfo(firstPath).Length;
        using (var file = new FileStream(firstPath, FileMode.Open))
        {
            file.SetLength(size + 40_000);
        }

        var logger = new ListLogger();
        using var reopened = UnifiedLog.Open(path, Config(), new UnifiedLogOptions { HadCleanShutdown = false, RecoveryPoint = 0, Logger = logger });
        Assert.Equal(0, reopened.LoadResult.BytesTruncated);
        Assert.Equal(0, reopened.LoadResult.SegmentsDeletedAfterCorruption);
        Assert.Equal(size, new FileInfo(firstPath).Length);
        Assert.Equal(55, reopened.LogEndOffset);
        Assert.Equal(55, Batches.ReadAll(reopened).Count);
        Assert.Contains(logger.Lines, l => l.Contains("trimmed 40000 zero bytes", StringComparison.Ordinal));
    }

    [Fact]
    public void Zeros_in_place_of_batches_of_an_older_segment_are_a_torn_tail()
    {
        using var dir = new TempDir();
        string path = dir.Sub("t-0");
        string firstPath = TwoClosedSegments(path);
        int lastBatchSize = Batches.Make(5, 1009).Length;

        // The last batch of the first segment reads as zeros (lost in a power failure): offsets 45-49
        // are gone, so the segment after it does not continue the log and must go too.
        long size = new FileInfo(firstPath).Length;
        using (var file = new FileStream(firstPath, FileMode.Open))
        {
            file.Position = size - lastBatchSize;
            file.Write(new byte[lastBatchSize]);
        }

        using var reopened = UnifiedLog.Open(path, Config(), new UnifiedLogOptions { HadCleanShutdown = false, RecoveryPoint = 0 });
        Assert.Equal(lastBatchSize + Batches.Make(5, 2000).Length, reopened.LoadResult.BytesTruncated);
        Assert.Equal(1, reopened.LoadResult.SegmentsDeletedAfterCorruption);
        Assert.Equal(45, reopened.LogEndOffset);
    }

    /// <summary>Offsets 0-49 in a first segment (returned), 50-54 in a second; closed cleanly.</summary>
    private static string TwoClosedSegments(string path)
    {
        using var log = UnifiedLog.Open(path, Config());
        for (int i = 0; i < 10; i++)
        {
            log.AppendAsLeader(Batches.Make(5, 1000 + i), 0);
        }

        string firstPath = log.ActiveSegment.LogFilePath;
        log.Roll();
        log.AppendAsLeader(Batches.Make(5, 2000), 0);
        log.Close();
        return firstPath;
    }

    [Fact]
    public void Dump_log_of_an_active_segment_names_the_zeros_written_ahead()
    {
        using var dir = new TempDir();
        using var log = UnifiedLog.Open(dir.Sub("t-0"), Config());
        for (int i = 0; i < 3; i++)
        {
            log.AppendAsLeader(Batches.Make(2, 1000 + i), 0);
        }

        var output = new StringWriter();
        Assert.Equal(0, Aspire.Kafka.Tools.DumpLog.SegmentDumper.Run([log.ActiveSegment.LogFilePath], output, new StringWriter()));
        string text = output.ToString();
        Assert.Equal(3, text.Split('\n').Count(l => l.StartsWith("baseOffset:", StringComparison.Ordinal)));
        Assert.Contains($"Found {log.ActiveSegment.FilledEnd - log.ActiveSegment.Size} zero bytes after the last batch", text, StringComparison.Ordinal);
        Assert.DoesNotContain("invalid bytes", text, StringComparison.Ordinal);
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
