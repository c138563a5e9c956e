using System.Diagnostics;
using Aspire.Kafka.Records;

namespace Aspire.Kafka.Broker;

/// <summary>
/// Links a Produce request's span to the traces its records belong to: each distinct W3C
/// <c>traceparent</c> record header (what OpenTelemetry's Kafka producers inject) becomes an
/// <see cref="ActivityLink"/> tagged with the topic and partition. Made only for a span a listener
/// records, so untraced produces never look at their records. Uncompressed batches are walked in
/// place; compressed ones only where the broker decompresses them anyway (recompression to the
/// topic's compression.type), never just for this.
/// </summary>
internal sealed class TraceparentLinks(Activity span)
{
    /// <summary>OpenTelemetry's default span link limit; more would be dropped by the SDK anyway.</summary>
    public const int MaxLinks = 128;

    private const int TraceparentLength = 55; // 00-<32 hex trace id>-<16 hex span id>-<2 hex flags>

    private readonly HashSet<ActivityContext> _seen = [];

    public Activity Span { get; } = span;

    public int Count => _seen.Count;

    /// <summary>The uncompressed batches of <paramref name="records"/> (a produce's record set).</summary>
    public void AddFromRecordSet(string topic, int partition, ReadOnlySpan<byte> records)
    {
        foreach (ReadOnlySpan<byte> batch in RecordSet.EnumerateBatches(records))
        {
            if (_seen.Count >= MaxLinks)
            {
                return;
            }

            RecordBatchHeader header = RecordBatchHeader.Read(batch);
            if (header.Magic != RecordBatch.CurrentMagic || header.IsControl || header.CompressionType != CompressionType.None)
            {
                continue;
            }

            try
            {
                foreach (RecordView record in RecordBatchReader.EnumerateRecords(batch))
                {
                    foreach (HeaderView h in record.Headers)
                    {
                        if (!h.IsValueNull && h.Key.SequenceEqual("traceparent"u8) && TryParse(h.Value, out ActivityContext context))
                        {
                            Add(topic, partition, context);
                        }
                    }
                }
            }
            catch (CorruptRecordException)
            {
                // The append rejects such a batch with its own error; the span just has no link from it.
            }
        }
    }

    /// <summary>A callback for the records <see cref="Storage.LogValidator.ValidateProduce"/> decodes to recompress (made here, so an untraced append captures nothing).</summary>
    public Action<List<Record>> DecodedHandler(Storage.TopicPartition partition) => decoded => AddFromDecoded(partition.Topic, partition.Partition, decoded);

    /// <summary>Records the broker decoded anyway (a compressed batch being recompressed).</summary>
    public void AddFromDecoded(string topic, int partition, IEnumerable<Record> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        foreach (Record record in records)
        {
            foreach (RecordHeader h in record.Headers)
            {
                if (h.Key == "traceparent" && h.Value is { } value && TryParse(value.Span, out ActivityContext context))
                {
                    Add(topic, partition, context);
                }
            }
        }
    }

    private void Add(string topic, int partition, ActivityContext context)
    {
        if (_seen.Count < MaxLinks && _seen.Add(context))
        {
            Span.AddLink(new ActivityLink(context, new ActivityTagsCollection
            {
                ["messaging.destination.name"] = topic,
                ["messaging.destination.partition.id"] = partition,
            }));
        }
    }

    /// <summary>Parses version 00 of a W3C traceparent (<c>00-traceid-spanid-flags</c>) from its UTF-8 bytes.</summary>
    internal static bool TryParse(ReadOnlySpan<byte> value, out ActivityContext context)
    {
        context = default;
        if (value.Length != TraceparentLength || value[0] != '0' || value[1] != '0' || value[2] != '-' || value[35] != '-' || value[52] != '-')
        {
            return false;
        }

        ReadOnlySpan<byte> traceId = value.Slice(3, 32);
        ReadOnlySpan<byte> spanId = value.Slice(36, 16);
        ReadOnlySpan<byte> flags = value.Slice(53, 2);
        if (!IsLowerHex(traceId) || !IsLowerHex(spanId) || !IsLowerHex(flags) || IsAllZero(traceId) || IsAllZero(spanId))
        {
            return false;
        }

        int flagBits = (HexValue(flags[0]) << 4) | HexValue(flags[1]);
        context = new ActivityContext(
            ActivityTraceId.CreateFromUtf8String(traceId),
            ActivitySpanId.CreateFromUtf8String(spanId),
            (ActivityTraceFlags)(flagBits & (int)ActivityTraceFlags.Recorded),
            traceState: null,
            isRemote: true);
        return true;
    }

    private static bool IsLowerHex(ReadOnlySpan<byte> s)
    {
        foreach (byte b in s)
        {
            if (b is not ((>= (byte)'0' and <= (byte)'9') or (>= (byte)'a' and <= (byte)'f')))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsAllZero(ReadOnlySpan<byte> s) => !s.ContainsAnyExcept((byte)'0');

    private static int HexValue(byte b) => b <= '9' ? b - '0' : b - 'a' + 10;
}
