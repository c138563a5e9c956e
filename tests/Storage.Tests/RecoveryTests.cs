using Aspire.Kafka.Records;

namespace Aspire.Kafka.Storage.Tests;

public sealed class RecoveryTests
{
    private static readonly LogConfig Config = Batches.SmallConfig(segmentBytes: 1500, indexInterval: 200);

    private static string WriteLog(TempDir dir, int batches)
    {
        string path = dir.Sub("t-0");
        using var log = UnifiedLog.Open(path, Config);
        for (int i = 0; i < batches; i++)
        {
            log.AppendAsLeader(Batches.Make(3, 1000 + i, $"{i}", padding: 20), 0);
        }

        log.Close();
        return path;
    }

    [Fact]
    public void A_flipped_byte_in_the_last_segment_is_detected_and_the_tail_truncated()
    {
        using var dir = new TempDir();
        string path = WriteLog(dir, 40);
        string lastLog = Directory.GetFiles(path, "*.log").Order(StringComparer.Ordinal).Last();
        var batches = Batches.Split(File.ReadAllBytes(lastLog)).ToList();
        Assert.True(batches.Count >= 3);
        int position = batches.Take(2).Sum(b => b.Bytes.Length);
        long corruptBase = batches[2].Header.BaseOffset;
        long fileSize = new FileInfo(lastLog).Length;
        using (var stream = new FileStream(lastLog, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = position + 70;
            int b = stream.ReadByte();
            stream.Position = position + 70;
            stream.WriteByte((byte)(b ^ 0x5A));
        }

        var logger = new ListLogger();
        using var log = UnifiedLog.Open(path, Config, new UnifiedLogOptions { Logger = logger, RecoveryPoint = 0 });
        Assert.Equal(corruptBase, log.LogEndOffset);
        Assert.Equal(fileSize - position, log.LoadResult.BytesTruncated);
        Assert.Contains(logger.Lines, l => l.Contains($"truncated {fileSize - position} of {fileSize} bytes", StringComparison.Ordinal));
        var records = Batches.ReadAll(log);
        Assert.Equal(Enumerable.Range(0, (int)corruptBase).Select(i => (long)i), records.Select(r => r.Offset));
        Assert.Equal(corruptBase, log.AppendAsLeader(Batches.Make(1, 5), 0).FirstOffset);
    }

    [Fact]
    public void A_torn_tail_is_truncated_to_the_last_whole_batch()
    {
        using var dir = new TempDir();
        string path = WriteLog(dir, 10);
        string lastLog = Directory.GetFiles(path, "*.log").Order(StringComparer.Ordinal).Last();
        var batches = Batches.Split(File.ReadAllBytes(lastLog)).ToList();
        long length = new FileInfo(lastLog).Length;
        using (var stream = new FileStream(lastLog, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.SetLength(length - 10);
        }

        using var log = UnifiedLog.Open(path, Config, new UnifiedLogOptions { RecoveryPoint = 0 });
        Assert.Equal(batches[^1].Header.BaseOffset, log.LogEndOffset);
        Assert.Equal(batches[^1].Bytes.Length - 10, log.LoadResult.BytesTruncated);
        Assert.Equal(log.LogEndOffset, Batches.ReadAll(log).Count);
    }

    [Fact]
    public void Only_segments_from_the_recovery_point_are_scanned_and_a_clean_shutdown_skips_the_scan()
    {
        using var dir = new TempDir();
        string path = WriteLog(dir, 40);
        using (var log = UnifiedLog.Open(path, Config, new UnifiedLogOptions { HadCleanShutdown = true }))
        {
            Assert.Equal(0, log.LoadResult.SegmentsRecovered);
        }

        long lastBase;
        int segments;
        using (var log = UnifiedLog.Open(path, Config, new UnifiedLogOptions { RecoveryPoint = 0 }))
        {
            segments = log.NumberOfSegments;
            Assert.Equal(segments, log.LoadResult.SegmentsRecovered);
            lastBase = log.ActiveSegment.BaseOffset;
        }

        using var again = UnifiedLog.Open(path, Config, new UnifiedLogOptions { RecoveryPoint = lastBase });
        Assert.Equal(1, again.LoadResult.SegmentsRecovered);
        Assert.Equal(120, again.LogEndOffset);
    }

    [Fact]
    public void A_corrupt_or_missing_index_is_rebuilt()
    {
        using var dir = new TempDir();
        string path = WriteLog(dir, 40);
        var indexes = Directory.GetFiles(path, "*.index").Order(StringComparer.Ordinal).ToList();
        var good = File.ReadAllBytes(indexes[0]);
        Assert.True(good.Length >= 16);
        var bad = (byte[])good.Clone();
        Array.Reverse(bad); // entries out of order, positions garbage
        File.WriteAllBytes(indexes[0], bad);
        File.Delete(Directory.GetFiles(path, "*.timeindex").Order(StringComparer.Ordinal).ElementAt(1));

        var logger = new ListLogger();
        using var log = UnifiedLog.Open(path, Config, new UnifiedLogOptions { HadCleanShutdown = true, Logger = logger });
        Assert.Equal(2, log.LoadResult.IndexesRebuilt);
        Assert.Contains(logger.Lines, l => l.Contains("Corrupt offset index", StringComparison.Ordinal));
        Assert.Equal(good, log.Segments[0].OffsetIndex.ReadAll().SelectMany(e => Entry(e.Offset, e.Position)).ToArray());
        Assert.Equal(120, Batches.ReadAll(log).Count);
        Assert.Equal(1000 + 20, log.FetchOffsetByTimestamp(1000 + 20)!.Value.Timestamp);

        static byte[] Entry(long offset, int position)
        {
            var e = new byte[8];
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(e, (int)offset);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(e.AsSpan(4), position);
            return e;
        }
    }

    [Fact]
    public void Leftovers_of_an_interrupted_cleaning_are_resolved_at_load()
    {
        using var dir = new TempDir();
        string path = WriteLog(dir, 40);
        string first = Path.Combine(path, "00000000000000000000.log");
        var batches = Batches.Split(File.ReadAllBytes(first)).ToList();

        // A finished swap file (the first batch only) replaces the live segment; a .cleaned file is dropped.
        File.WriteAllBytes(first + ".swap", batches[0].Bytes);
        File.WriteAllBytes(Path.Combine(path, "00000000000000000009.log.cleaned"), [1, 2, 3]);
        File.WriteAllBytes(Path.Combine(path, "00000000000000000042.log.deleted"), [1, 2, 3]);

        using var log = UnifiedLog.Open(path, Config, new UnifiedLogOptions { HadCleanShutdown = true });
        Assert.Equal(1, log.LoadResult.SwapFilesCompleted);
        Assert.Empty(Directory.GetFiles(path, "*.swap"));
        Assert.Empty(Directory.GetFiles(path, "*.cleaned"));
        Assert.Empty(Directory.GetFiles(path, "*.deleted"));
        Assert.Equal(batches[0].Bytes, File.ReadAllBytes(first));
        var offsets = Batches.ReadAll(log).Select(r => r.Offset).ToList();
        Assert.Equal([0, 1, 2], offsets.Take(3));
        Assert.DoesNotContain(batches[1].Header.BaseOffset, offsets);
        Assert.Equal(120, log.LogEndOffset);
    }

    [Fact]
    public void Dump_of_a_recovered_log_has_only_valid_batches()
    {
        using var dir = new TempDir();
        string path = WriteLog(dir, 12);
        string lastLog = Directory.GetFiles(path, "*.log").Order(StringComparer.Ordinal).Last();
        File.AppendAllText(lastLog, "garbage that is not a batch at all, long enough to look like a header......");
        using var log = UnifiedLog.Open(path, Config, new UnifiedLogOptions { RecoveryPoint = 0 });
        foreach (var segment in log.Segments)
        {
            foreach (var batch in segment.Batches())
            {
                var bytes = new byte[batch.Size];
                segment.ReadFully(batch.Position, bytes);
                Assert.True(RecordBatch.IsCrcValid(bytes));
            }
        }

        Assert.Equal(36, log.LogEndOffset);
    }
}
