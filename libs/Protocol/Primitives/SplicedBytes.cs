using System.Buffers;

namespace Aspire.Kafka.Protocol;

/// <summary>
/// Bytes that live somewhere else than managed memory — record batches still in a segment file —
/// presented as a <see cref="Memory{T}"/> so they can stand in a message's records field. A
/// <see cref="KafkaWriter"/> that meets one does not copy it: it notes a splice, and
/// <see cref="KafkaWriter.WriteTo"/> has the source write its bytes straight into the output (for
/// a file: read from the page cache into the socket pipe's own memory). Whoever touches
/// <see cref="GetSpan"/> instead (a test, a debugger, equality) gets a copy read on first use.
/// </summary>
public abstract class SplicedBytes : MemoryManager<byte>
{
    private const int ChunkSize = 64 * 1024;

    private byte[]? _materialized;

    /// <summary>How many bytes the source has.</summary>
    public abstract int Length { get; }

    /// <summary>
    /// Copies <paramref name="destination"/>.Length bytes starting at <paramref name="offset"/> of
    /// the source into <paramref name="destination"/>; throws when the source no longer has them
    /// (e.g. the file was truncated under it).
    /// </summary>
    public abstract void CopyTo(int offset, Span<byte> destination);

    /// <summary>Writes <paramref name="length"/> bytes from <paramref name="offset"/> into <paramref name="output"/>'s own buffers.</summary>
    public void WriteTo(IBufferWriter<byte> output, int offset, int length)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, Length - offset);
        while (length > 0)
        {
            // Ask for up to 64 KiB at once: a pipe hands out a segment of that size (beyond its
            // pool's 4 KiB blocks), so a large fetch is a few reads and a few large socket writes.
            Span<byte> target = output.GetSpan(Math.Min(length, ChunkSize));
            int n = Math.Min(target.Length, length);
            CopyTo(offset, target[..n]);
            output.Advance(n);
            offset += n;
            length -= n;
        }
    }

    public override Memory<byte> Memory => CreateMemory(Length);

    public override Span<byte> GetSpan()
    {
        if (_materialized is null)
        {
            byte[] copy = new byte[Length];
            CopyTo(0, copy);
            _materialized = copy;
        }

        return _materialized;
    }

    public override MemoryHandle Pin(int elementIndex = 0) =>
        throw new NotSupportedException("Spliced bytes are not in managed memory and cannot be pinned.");

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing) => _materialized = null;
}
