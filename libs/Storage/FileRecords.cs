using Aspire.Kafka.Protocol;
using Microsoft.Win32.SafeHandles;

namespace Aspire.Kafka.Storage;

/// <summary>Where an offset sits: the offset, the base offset of its segment and its byte position there.</summary>
public sealed record LogOffsetMetadata(long MessageOffset, long SegmentBaseOffset = -1, int RelativePositionInSegment = -1)
{
    public static readonly LogOffsetMetadata Unknown = new(-1);

    public bool OnSameSegment(LogOffsetMetadata other) => SegmentBaseOffset == other.SegmentBaseOffset && SegmentBaseOffset >= 0;
}

/// <summary>
/// A run of whole record batches in a segment's <c>.log</c> file: the open handle, the path, the
/// position and the length. A network layer sends it without the bytes passing through managed
/// buffers (<see cref="AsSplicedMemory"/>: read from the page cache into the socket's pipe at send
/// time); <see cref="ReadInto"/> and
/// <see cref="ReadAsync"/> copy them for callers that want a buffer. The handle stays valid for
/// file.delete.delay.ms after the segment is deleted.
/// </summary>
public readonly struct FileRecords
{
    public FileRecords(SafeFileHandle? handle, string path, long position, int length)
    {
        Handle = handle;
        FilePath = path;
        Position = position;
        Length = length;
    }

    public static FileRecords Empty { get; } = new(null, string.Empty, 0, 0);

    public SafeFileHandle? Handle { get; }

    public string FilePath { get; }

    public long Position { get; }

    public int Length { get; }

    public bool IsEmpty => Length == 0;

    /// <summary>Copies the bytes into <paramref name="destination"/> (at least <see cref="Length"/> long); returns the bytes copied.</summary>
    public int ReadInto(Span<byte> destination)
    {
        if (Length == 0 || Handle is null)
        {
            return 0;
        }

        ReadAt(0, destination[..Length]);
        return Length;
    }

    /// <summary>Fills <paramref name="destination"/> from <paramref name="offset"/> of this range; throws when the file ends first.</summary>
    private void ReadAt(int offset, Span<byte> destination)
    {
        long position = Position + offset;
        int done = 0;
        while (done < destination.Length)
        {
            int n = RandomAccess.Read(Handle!, destination[done..], position + done);
            if (n <= 0)
            {
                throw new EndOfStreamException($"{FilePath} ended at {position + done} while reading {Length} bytes from {Position}.");
            }

            done += n;
        }
    }

    public async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        if (Length == 0 || Handle is null)
        {
            return 0;
        }

        var target = destination[..Length];
        int done = 0;
        while (done < target.Length)
        {
            int n = await RandomAccess.ReadAsync(Handle, target[done..], Position + done, cancellationToken).ConfigureAwait(false);
            if (n <= 0)
            {
                throw new EndOfStreamException($"{FilePath} ended at {Position + done} while reading {Length} bytes from {Position}.");
            }

            done += n;
        }

        return done;
    }

    public byte[] ToArray()
    {
        var bytes = new byte[Length];
        ReadInto(bytes);
        return bytes;
    }

    /// <summary>
    /// These batches as the records of a response without reading them: a network writer splices
    /// them in and reads them from the file straight into the socket's buffers when it sends
    /// (<see cref="SplicedBytes"/>). Empty for empty records.
    /// </summary>
    public ReadOnlyMemory<byte> AsSplicedMemory() => IsEmpty || Handle is null ? ReadOnlyMemory<byte>.Empty : new FileRecordsBytes(this).Memory;

    /// <summary>A file range as <see cref="SplicedBytes"/>: reads with pread(2) at send time.</summary>
    private sealed class FileRecordsBytes(FileRecords records) : SplicedBytes
    {
        public override int Length => records.Length;

        public override void CopyTo(int offset, Span<byte> destination) => records.ReadAt(offset, destination);
    }
}

/// <summary>The result of a read: where it started and the batches found (possibly none).</summary>
public sealed record FetchDataInfo(LogOffsetMetadata FetchOffsetMetadata, FileRecords Records)
{
    public static FetchDataInfo EmptyAt(LogOffsetMetadata metadata) => new(metadata, FileRecords.Empty);
}

/// <summary>What an append did (Kafka's LogAppendInfo).</summary>
/// <summary>What <see cref="UnifiedLog.AppendAsMirror"/> did: the batches written (null when all were already held), how many were skipped, and the log end offset after it.</summary>
public sealed record MirrorAppendInfo(LogAppendInfo? Appended, int SkippedBatches, long LogEndOffset);

public sealed record LogAppendInfo(
    long FirstOffset,
    long LastOffset,
    long MaxTimestamp,
    long OffsetOfMaxTimestamp,
    long LogAppendTime,
    long LogStartOffset,
    int BatchCount,
    long RecordCount,
    int ValidBytes)
{
    /// <summary>
    /// The append repeated a batch its idempotent producer had already written (a retry): nothing
    /// was written, and <see cref="FirstOffset"/>/<see cref="LastOffset"/> are the original batch's.
    /// The broker answers NONE with that base offset, as Kafka does.
    /// </summary>
    public bool IsDuplicate { get; init; }
}

/// <summary>A ListOffsets answer: the timestamp found, its offset and the leader epoch that wrote it.</summary>
public readonly record struct TimestampAndOffset(long Timestamp, long Offset, int? LeaderEpoch);
