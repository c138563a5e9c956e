namespace Aspire.Kafka.Storage;

/// <summary>
/// One batch of a producer as its state keeps it (Kafka's BatchMetadata): last sequence, last
/// offset, offset delta (last offset - first offset) and max timestamp.
/// </summary>
public readonly record struct BatchMetadata(int LastSeq, long LastOffset, int OffsetDelta, long Timestamp)
{
    /// <summary>The first sequence, wrapping below 0 to int.MaxValue as sequences do.</summary>
    public int FirstSeq => DecrementSequence(LastSeq, OffsetDelta);

    public long FirstOffset => LastOffset - OffsetDelta;

    internal static int DecrementSequence(int sequence, int decrement) =>
        sequence < decrement ? int.MaxValue - (decrement - sequence) + 1 : sequence - decrement;
}
