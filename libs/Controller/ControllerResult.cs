using Aspire.Kafka.Metadata;

namespace Aspire.Kafka.Controller;

/// <summary>
/// What a controller operation decided (Kafka's ControllerResult): the records to append to the
/// metadata log, atomically and in order, and the response to send once the log has committed
/// through <see cref="ResponseOffset"/>.
/// </summary>
/// <param name="Records">Records to append (may be empty: nothing to write).</param>
/// <param name="Response">The response (answer it only after <see cref="ResponseOffset"/> is committed).</param>
/// <param name="BaseOffset">The offset the first record is expected at (the controller's next write offset).</param>
/// <param name="ResponseOffset">
/// The committed offset the response waits for: the last record's offset, or — when there are no
/// records — the last offset written before (so a reader never sees state that is not yet committed).
/// -1 when nothing needs to be waited for.
/// </param>
public sealed record ControllerResult<T>(IReadOnlyList<ApiMessageAndVersion> Records, T Response, long BaseOffset, long ResponseOffset)
{
    public bool HasRecords => Records.Count > 0;

    public long LastOffset => BaseOffset + Records.Count - 1;

    public override string ToString() => $"{Records.Count} record(s) at {BaseOffset}, respond after {ResponseOffset}: {Response}";
}
