namespace Aspire.Kafka.Storage.Tests;

public sealed class IndexTests
{
    [Fact]
    public void Offset_index_is_preallocated_written_in_kafka_byte_format_and_trimmed()
    {
        using var dir = new TempDir();
        string path = dir.Sub("00000000000000000100.index");
        using (var index = new OffsetIndex(path, 100, maxIndexSize: 1024))
        {
            Assert.Equal(1024, new FileInfo(path).Length);
            index.Append(105, 4000);
            index.Append(110, 9000);
            index.TrimToValidSize();
        }

        var bytes = File.ReadAllBytes(path);
        Assert.Equal(16, bytes.Length);
        Assert.Equal(5, Batches.ReadInt32BigEndian(bytes, 0));
        Assert.Equal(4000, Batches.ReadInt32BigEndian(bytes, 4));
        Assert.Equal(10, Batches.ReadInt32BigEndian(bytes, 8));
        Assert.Equal(9000, Batches.ReadInt32BigEndian(bytes, 12));

        using var reopened = new OffsetIndex(path, 100, maxIndexSize: 1024);
        Assert.Equal(2, reopened.Entries);
        Assert.Equal(new OffsetPosition(100, 0), reopened.Lookup(104));
        Assert.Equal(new OffsetPosition(105, 4000), reopened.Lookup(105));
        Assert.Equal(new OffsetPosition(105, 4000), reopened.Lookup(109));
        Assert.Equal(new OffsetPosition(110, 9000), reopened.Lookup(1_000_000));
    }

    [Fact]
    public void Offset_index_rejects_offsets_that_do_not_grow_and_truncates()
    {
        using var dir = new TempDir();
        using var index = new OffsetIndex(dir.Sub("0.index"), 0, maxIndexSize: 80);
        for (int i = 1; i <= 10; i++)
        {
            index.Append(i * 10, i * 100);
        }

        Assert.True(index.IsFull);
        Assert.Throws<InvalidOperationException>(() => index.Append(1000, 5000));
        index.TruncateTo(50);
        Assert.Equal(4, index.Entries);
        Assert.Equal(new OffsetPosition(40, 400), index.LastEntry);
        Assert.Throws<InvalidOffsetException>(() => index.Append(40, 500));
        index.Append(45, 450);
        Assert.Equal(new OffsetPosition(45, 450), index.Lookup(49));
    }

    [Fact]
    public void Time_index_format_monotonic_timestamps_and_lookup()
    {
        using var dir = new TempDir();
        string path = dir.Sub("00000000000000000000.timeindex");
        using (var index = new TimeIndex(path, 0, maxIndexSize: 1200))
        {
            Assert.Equal(1200, new FileInfo(path).Length);
            index.MaybeAppend(1000, 3);
            index.MaybeAppend(1000, 5); // same timestamp: ignored
            index.MaybeAppend(2000, 9);
            Assert.Throws<InvalidOffsetException>(() => index.MaybeAppend(3000, 8));
            index.TrimToValidSize();
        }

        var bytes = File.ReadAllBytes(path);
        Assert.Equal(24, bytes.Length);
        Assert.Equal(1000, Batches.ReadInt64BigEndian(bytes, 0));
        Assert.Equal(3, Batches.ReadInt32BigEndian(bytes, 8));
        Assert.Equal(2000, Batches.ReadInt64BigEndian(bytes, 12));
        Assert.Equal(9, Batches.ReadInt32BigEndian(bytes, 20));

        using var reopened = new TimeIndex(path, 0, maxIndexSize: 1200);
        Assert.Equal(new TimestampOffset(2000, 9), reopened.LastEntry);
        Assert.Equal(new TimestampOffset(-1, 0), reopened.Lookup(999));
        Assert.Equal(new TimestampOffset(1000, 3), reopened.Lookup(1999));
        Assert.Equal(new TimestampOffset(2000, 9), reopened.Lookup(5000));
        reopened.TruncateTo(9);
        Assert.Equal(new TimestampOffset(1000, 3), reopened.LastEntry);
    }

    [Fact]
    public void Lookups_match_a_linear_scan_on_ten_thousand_entries()
    {
        using var dir = new TempDir();
        using var index = new OffsetIndex(dir.Sub("0.index"), 1000, maxIndexSize: 10 * 1024 * 1024);
        using var time = new TimeIndex(dir.Sub("0.timeindex"), 1000, maxIndexSize: 10 * 1024 * 1024);
        var random = new Random(42);
        var offsets = new List<long>();
        long offset = 1000;
        long ts = 10;
        for (int i = 0; i < 10_000; i++)
        {
            offset += random.Next(1, 50);
            ts += random.Next(1, 5);
            index.Append(offset, i * 16);
            time.MaybeAppend(ts, offset);
            offsets.Add(offset);
        }

        var entries = index.ReadAll();
        var timeEntries = time.ReadAll();
        for (int probe = 0; probe < 2000; probe++)
        {
            long target = random.NextInt64(900, offset + 100);
            var expected = entries.LastOrDefault(e => e.Offset <= target, new OffsetPosition(1000, 0));
            Assert.Equal(expected, index.Lookup(target));
            long tsTarget = random.NextInt64(0, ts + 10);
            var expectedTs = timeEntries.LastOrDefault(e => e.Timestamp <= tsTarget, new TimestampOffset(-1, 1000));
            Assert.Equal(expectedTs, time.Lookup(tsTarget));
        }
    }

    [Fact]
    public void Sanity_check_detects_a_partial_entry_and_entries_beyond_the_log()
    {
        using var dir = new TempDir();
        string path = dir.Sub("0.index");
        using (var index = new OffsetIndex(path, 0, maxIndexSize: 1024))
        {
            index.Append(5, 100);
            index.Append(9, 5000);
            index.TrimToValidSize();
        }

        using (var index = new OffsetIndex(path, 0, maxIndexSize: 1024))
        {
            Assert.Throws<CorruptIndexException>(() => index.SanityCheckFile(logSize: 4000));
            index.SanityCheckFile(logSize: 6000);
        }

        File.AppendAllText(path, "xyz");
        using var broken = new OffsetIndex(path, 0, maxIndexSize: 1024);
        Assert.Throws<CorruptIndexException>(() => broken.SanityCheckFile(logSize: 6000));
    }
}
