using System.Buffers.Binary;

namespace Aspire.Kafka.Storage;

/// <summary>A position in a segment's log file for an offset.</summary>
public readonly record struct OffsetPosition(long Offset, int Position);

/// <summary>
/// Kafka's sparse offset index (<c>.index</c>): 8-byte entries, a 4-byte offset relative to the
/// segment's base offset and a 4-byte position in the <c>.log</c> file, both big-endian and
/// increasing. An entry (o, p) says the batch at position p ends at offset o.
/// </summary>
public sealed class OffsetIndex : AbstractIndex
{
    public const int EntrySizeBytes = 8;

    public OffsetIndex(string path, long baseOffset, int maxIndexSize = 10 * 1024 * 1024, bool preallocate = true)
        : base(path, baseOffset, maxIndexSize, EntrySizeBytes, preallocate)
    {
    }

    /// <summary>The last entry, or (base offset, 0) when empty.</summary>
    public OffsetPosition LastEntry => WithEntries((d, n) => n == 0 ? new OffsetPosition(BaseOffset, 0) : EntryAt(d, n - 1));

    public long LastOffset => LastEntry.Offset;

    /// <summary>The largest entry with an offset &lt;= <paramref name="targetOffset"/>, or (base offset, 0).</summary>
    public OffsetPosition Lookup(long targetOffset)
    {
        long target = targetOffset - BaseOffset;
        lock (SyncRoot)
        {
            var d = LoadedEntriesLocked(out int n);
            if (n == 0 || BinaryPrimitives.ReadInt32BigEndian(d) > target)
            {
                return new OffsetPosition(BaseOffset, 0);
            }

            int lo = 0;
            int hi = n - 1;
            while (lo < hi)
            {
                int mid = (lo + hi + 1) >>> 1;
                if (BinaryPrimitives.ReadInt32BigEndian(d[(mid * EntrySizeBytes)..]) <= target)
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

    public OffsetPosition Entry(int n) => WithEntries((d, count) =>
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(n, count);
        return EntryAt(d, n);
    });

    /// <summary>All entries (for dump-log and tests).</summary>
    public IReadOnlyList<OffsetPosition> ReadAll() => WithEntries((d, n) =>
    {
        var list = new List<OffsetPosition>(n);
        for (int i = 0; i < n; i++)
        {
            list.Add(EntryAt(d, i));
        }

        return list;
    });

    /// <summary>Adds an entry; the offset must be larger than the last one.</summary>
    public void Append(long offset, int position)
    {
        long relative = offset - BaseOffset;
        if (relative < 0 || relative > int.MaxValue)
        {
            throw new InvalidOffsetException($"Offset {offset} does not fit the index with base offset {BaseOffset}.");
        }

        Span<byte> entry = stackalloc byte[EntrySizeBytes];
        BinaryPrimitives.WriteInt32BigEndian(entry, (int)relative);
        BinaryPrimitives.WriteInt32BigEndian(entry[4..], position);
        lock (SyncRoot)
        {
            var d = PrepareAppendLocked(skipFullCheck: false, out int n);
            if (n > 0 && RelativeOffsetAt(d, n - 1) >= relative)
            {
                throw new InvalidOffsetException(
                    $"Attempt to append offset {offset} to index {FilePath} whose last offset is {BaseOffset + RelativeOffsetAt(d, n - 1)}.");
            }

            AddEntryLocked(entry);
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
        long prevOffset = -1;
        long prevPosition = -1;
        for (int i = 0; i < n; i++)
        {
            var e = entries.Slice(i * EntrySizeBytes, EntrySizeBytes);
            int rel = BinaryPrimitives.ReadInt32BigEndian(e);
            int pos = BinaryPrimitives.ReadInt32BigEndian(e[4..]);
            if (rel <= prevOffset || pos < prevPosition || pos < 0 || pos >= Math.Max(logSize, 1))
            {
                throw new CorruptIndexException(
                    $"Corrupt offset index {FilePath}: entry {i} (relative offset {rel}, position {pos}) is out of order or beyond the log ({logSize} bytes).");
            }

            prevOffset = rel;
            prevPosition = pos;
        }
    }

    protected override void ValidateLastEntry(ReadOnlySpan<byte> entry, long logSize)
    {
        int rel = BinaryPrimitives.ReadInt32BigEndian(entry);
        int pos = BinaryPrimitives.ReadInt32BigEndian(entry[4..]);
        if (rel < 0 || pos < 0 || (pos > 0 && pos >= logSize))
        {
            throw new CorruptIndexException(
                $"Corrupt offset index {FilePath}: last entry (relative offset {rel}, position {pos}) is invalid for a log of {logSize} bytes.");
        }
    }

    private static long RelativeOffsetAt(ReadOnlySpan<byte> data, int slot) =>
        BinaryPrimitives.ReadInt32BigEndian(data[(slot * EntrySizeBytes)..]);

    private OffsetPosition EntryAt(ReadOnlySpan<byte> data, int slot) => new(
        BaseOffset + BinaryPrimitives.ReadInt32BigEndian(data[(slot * EntrySizeBytes)..]),
        BinaryPrimitives.ReadInt32BigEndian(data[((slot * EntrySizeBytes) + 4)..]));
}
