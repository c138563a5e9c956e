using System.Buffers.Binary;

namespace Aspire.Kafka.Storage;

/// <summary>A timestamp and the offset of the first record at or after it.</summary>
public readonly record struct TimestampOffset(long Timestamp, long Offset)
{
    public static TimestampOffset Unknown(long baseOffset) => new(-1, baseOffset);
}

/// <summary>
/// Kafka's time index (<c>.timeindex</c>): 12-byte entries, an 8-byte timestamp and a 4-byte
/// offset relative to the base offset, big-endian. Timestamps only grow: an entry is added when
/// the segment's max timestamp so far grows. One slot is kept free for the entry written when
/// the segment rolls.
/// </summary>
public sealed class TimeIndex : AbstractIndex
{
    public const int EntrySizeBytes = 12;

    public TimeIndex(string path, long baseOffset, int maxIndexSize = 10 * 1024 * 1024, bool preallocate = true)
        : base(path, baseOffset, maxIndexSize, EntrySizeBytes, preallocate)
    {
    }

    protected override int FullAt => MaxEntries - 1;

    /// <summary>The last entry, or (-1, base offset) when empty.</summary>
    public TimestampOffset LastEntry
    {
        get
        {
            Span<byte> entry = stackalloc byte[EntrySizeBytes];
            return TryPeekLast(entry) ? EntryAt(entry, 0) : TimestampOffset.Unknown(BaseOffset);
        }
    }

    /// <summary>The entry with the largest timestamp &lt;= <paramref name="targetTimestamp"/>, or (-1, base offset).</summary>
    public TimestampOffset Lookup(long targetTimestamp)
    {
        lock (SyncRoot)
        {
            var d = LoadedEntriesLocked(out int n);
            if (n == 0 || TimestampAt(d, 0) > targetTimestamp)
            {
                return TimestampOffset.Unknown(BaseOffset);
            }

            int lo = 0;
            int hi = n - 1;
            while (lo < hi)
            {
                int mid = (lo + hi + 1) >>> 1;
                if (TimestampAt(d, mid) <= targetTimestamp)
                {
                    lo = mid;
                }
                else
                {
                    hi = mid - 1;
                }
            }

            return EntryAt(d, lo);
        }
    }

    public IReadOnlyList<TimestampOffset> ReadAll() => WithEntries((d, n) =>
    {
        var list = new List<TimestampOffset>(n);
        for (int i = 0; i < n; i++)
        {
            list.Add(EntryAt(d, i));
        }

        return list;
    });

    /// <summary>
    /// Adds (timestamp, offset) if the timestamp is larger than the last entry's; offsets and
    /// timestamps may not go backwards.
    /// </summary>
    public void MaybeAppend(long timestamp, long offset, bool skipFullCheck = false)
    {
        long relative = offset - BaseOffset;
        if (relative < 0 || relative > int.MaxValue)
        {
            throw new InvalidOffsetException($"Offset {offset} does not fit the time index with base offset {BaseOffset}.");
        }

        Span<byte> entry = stackalloc byte[EntrySizeBytes];
        BinaryPrimitives.WriteInt64BigEndian(entry, timestamp);
        BinaryPrimitives.WriteInt32BigEndian(entry[8..], (int)relative);
        lock (SyncRoot)
        {
            var d = PrepareAppendLocked(skipFullCheck, out int n);
            bool accept;
            if (n == 0)
            {
                accept = timestamp >= 0;
            }
            else
            {
                long lastRel = RelativeOffsetAt(d, n - 1);
                if (relative < lastRel)
                {
                    throw new InvalidOffsetException($"Attempt to append offset {offset} to time index {FilePath} whose last offset is {BaseOffset + lastRel}.");
                }

                accept = timestamp > TimestampAt(d, n - 1);
            }

            if (accept)
            {
                AddEntryLocked(entry);
            }
        }
    }

    /// <summary>Removes every entry with an offset &gt;= <paramref name="offset"/>.</summary>
    public void TruncateTo(long offset)
    {
        int keep = WithEntries((d, n) => CeilingSlot(d, n, offset - BaseOffset, RelativeOffsetAt));
        TruncateToEntries(keep);
    }

    protected override void Validate(ReadOnlySpan<byte> entries, long logSize)
    {
        int n = entries.Length / EntrySizeBytes;
        long prevTs = long.MinValue;
        long prevRel = -1;
        for (int i = 0; i < n; i++)
        {
            var e = entries.Slice(i * EntrySizeBytes, EntrySizeBytes);
            long ts = BinaryPrimitives.ReadInt64BigEndian(e);
            int rel = BinaryPrimitives.ReadInt32BigEndian(e[8..]);
            if (ts <= prevTs || rel < prevRel || rel < 0 || ts < 0)
            {
                throw new CorruptIndexException(
                    $"Corrupt time index {FilePath}: entry {i} (timestamp {ts}, relative offset {rel}) is out of order.");
            }

            prevTs = ts;
            prevRel = rel;
        }
    }

    protected override void ValidateLastEntry(ReadOnlySpan<byte> entry, long logSize)
    {
        long ts = BinaryPrimitives.ReadInt64BigEndian(entry);
        int rel = BinaryPrimitives.ReadInt32BigEndian(entry[8..]);
        if (ts < 0 || rel < 0)
        {
            throw new CorruptIndexException($"Corrupt time index {FilePath}: last entry (timestamp {ts}, relative offset {rel}) is invalid.");
        }
    }

    private static long TimestampAt(ReadOnlySpan<byte> data, int slot) =>
        BinaryPrimitives.ReadInt64BigEndian(data[(slot * EntrySizeBytes)..]);

    private static long RelativeOffsetAt(ReadOnlySpan<byte> data, int slot) =>
        BinaryPrimitives.ReadInt32BigEndian(data[((slot * EntrySizeBytes) + 8)..]);

    private TimestampOffset EntryAt(ReadOnlySpan<byte> data, int slot) => new(
        TimestampAt(data, slot), BaseOffset + RelativeOffsetAt(data, slot));
}
