using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Records;

namespace Aspire.Kafka.Storage;

/// <summary>
/// Produced records that <see cref="LogValidator.ValidateProduce"/> accepted — the bytes to append
/// (the request's own buffer, or the recompressed copy) and their counts — or the Kafka error it
/// rejected them with. <see cref="UnifiedLog.AppendAsLeader(ValidatedRecords, int)"/> appends it
/// without checking the bytes again.
/// </summary>
public readonly ref struct ValidatedRecords
{
    internal ValidatedRecords(Span<byte> records, int batchCount, long recordCount, bool recompressed)
    {
        Records = records;
        BatchCount = batchCount;
        RecordCount = recordCount;
        Recompressed = recompressed;
        Error = ErrorCode.None;
        ErrorMessage = null;
    }

    internal ValidatedRecords(ErrorCode error, string message)
    {
        Error = error;
        ErrorMessage = message;
    }

    /// <summary>The batches to append; offsets, leader epoch and LogAppendTime are stamped into them by the append.</summary>
    public Span<byte> Records { get; }

    public int BatchCount { get; }

    public long RecordCount { get; }

    /// <summary>Bytes of the batches (after recompression, if any).</summary>
    public int ValidBytes => Records.Length;

    /// <summary>The batches were rebuilt in the topic's compression.type: <see cref="Records"/> is a new buffer.</summary>
    public bool Recompressed { get; }

    /// <summary>None, CORRUPT_MESSAGE (2), MESSAGE_TOO_LARGE (10) or INVALID_RECORD (87).</summary>
    public ErrorCode Error { get; }

    /// <summary>Why the records were rejected (one sentence, no partition name); null when valid.</summary>
    public string? ErrorMessage { get; }

    public bool IsValid => Error == ErrorCode.None;
}

/// <summary>
/// The one validator of appended batches (Kafka's LogValidator). A produce is checked once by
/// <see cref="ValidateProduce"/> (outside the log's lock) and stamped by <see cref="AssignOffsets"/>
/// (under it); a follower's fetched batches are checked by <see cref="ValidateReplicated"/> with the
/// same batch checks. See libs/Storage/README.md, "Produce validation".
/// </summary>
public static class LogValidator
{
    /// <summary>
    /// Checks a produce's record set for a log with <paramref name="config"/>: every batch whole,
    /// magic 2, at most max.message.bytes, CRC-32C, a known codec and a record count that fits;
    /// then, when <paramref name="targetCodec"/> (the topic's compression.type; null = producer)
    /// differs from a batch's codec, rebuilds the batches in it and checks their new sizes; finally
    /// that the whole set fits a segment. Nothing is stamped yet.
    /// </summary>
    /// <param name="records">the request's bytes; returned as they are unless recompressed (then stamping writes into the copy).</param>
    /// <param name="onDecoded">sees the records of each batch decoded for recompression (the broker's trace links).</param>
    /// <exception cref="CompressionUnavailableException">the target codec cannot be written by this process (not the producer's fault).</exception>
    public static ValidatedRecords ValidateProduce(Span<byte> records, LogConfig config, CompressionType? targetCodec = null,
        Action<List<Record>>? onDecoded = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        RecordSetValidation validation = RecordSet.Validate(records, config.MaxMessageBytes);
        if (!validation.IsValid)
        {
            return Rejected(validation);
        }

        bool recompressed = false;
        if (targetCodec is { } codec && NeedsRecompression(records, codec))
        {
            try
            {
                records = Recompress(records, codec, onDecoded);
            }
            catch (CorruptRecordException e)
            {
                return new ValidatedRecords(ErrorCode.CorruptMessage, e.Message);
            }

            // Kafka re-checks sizes after recompression: a batch may have grown past max.message.bytes.
            // The CRCs were just written by the builder from these bytes.
            validation = RecordSet.Validate(records, config.MaxMessageBytes, verifyCrc: false);
            if (!validation.IsValid)
            {
                return Rejected(validation);
            }

            recompressed = true;
        }

        if (records.Length > config.SegmentBytes)
        {
            return new ValidatedRecords(ErrorCode.MessageTooLarge, SegmentOverflowMessage(records.Length, config));
        }

        return new ValidatedRecords(records, validation.BatchCount, validation.RecordCount, recompressed);
    }

    /// <summary>
    /// The checks of <see cref="ValidateProduce"/> for batches a follower fetched from its leader:
    /// no recompression and no stamping (the leader's offsets, epochs and timestamps are kept).
    /// </summary>
    /// <exception cref="InvalidRecordException">a batch that is truncated, corrupt or not magic 2.</exception>
    /// <exception cref="RecordTooLargeException">a batch above max.message.bytes, or more than a segment.</exception>
    public static RecordSetValidation ValidateReplicated(ReadOnlySpan<byte> records, LogConfig config, TopicPartition topicPartition)
    {
        ArgumentNullException.ThrowIfNull(config);
        RecordSetValidation validation = RecordSet.Validate(records, config.MaxMessageBytes);
        if (!validation.IsValid)
        {
            ThrowRejected(topicPartition, (ErrorCode)validation.KafkaErrorCode, validation.ErrorMessage!);
        }

        if (records.Length > config.SegmentBytes)
        {
            ThrowRejected(topicPartition, ErrorCode.MessageTooLarge, SegmentOverflowMessage(records.Length, config));
        }

        return validation;
    }

    /// <summary>Turns a rejection into the storage exception the log's callers expect (MESSAGE_TOO_LARGE → <see cref="RecordTooLargeException"/>).</summary>
    internal static void ThrowIfInvalid(in ValidatedRecords records, TopicPartition topicPartition)
    {
        if (!records.IsValid)
        {
            ThrowRejected(topicPartition, records.Error, records.ErrorMessage!);
        }
    }

    /// <summary>
    /// Stamps validated batches in place (under the log's lock): base offsets from
    /// <paramref name="firstOffset"/>, the leader epoch and, when <paramref name="logAppendTime"/> is
    /// not -1 (message.timestamp.type=LogAppendTime), the append time (the CRC is rewritten then).
    /// </summary>
    internal static StampedBatches AssignOffsets(Span<byte> records, long firstOffset, int leaderEpoch, long logAppendTime)
    {
        long offset = firstOffset;
        long maxTimestamp = RecordBatch.NoTimestamp;
        long offsetOfMax = firstOffset;
        bool producerBatches = false;
        int position = 0;
        while (position < records.Length)
        {
            // The framing was checked by the validator: read the few header fields in place.
            Span<byte> batch = records[position..];
            int size = BinaryPrimitives.ReadInt32BigEndian(batch[RecordBatch.BatchLengthOffset..]) + RecordBatch.LogOverhead;
            batch = batch[..size];
            RecordBatch.SetBaseOffset(batch, offset);
            RecordBatch.SetPartitionLeaderEpoch(batch, leaderEpoch);
            if (logAppendTime != RecordBatch.NoTimestamp)
            {
                RecordBatch.SetLogAppendTime(batch, logAppendTime);
            }

            long lastOffset = offset + BinaryPrimitives.ReadInt32BigEndian(batch[RecordBatch.LastOffsetDeltaOffset..]);
            long batchMaxTimestamp = BinaryPrimitives.ReadInt64BigEndian(batch[RecordBatch.MaxTimestampOffset..]);
            if (batchMaxTimestamp > maxTimestamp)
            {
                maxTimestamp = batchMaxTimestamp;
                offsetOfMax = lastOffset;
            }

            producerBatches |= BinaryPrimitives.ReadInt64BigEndian(batch[RecordBatch.ProducerIdOffset..]) >= 0;
            offset = lastOffset + 1;
            position += size;
        }

        return new StampedBatches(offset - 1, maxTimestamp, offsetOfMax, producerBatches);
    }

    /// <summary>What <see cref="AssignOffsets"/> stamped: the last offset, the largest timestamp and its offset, whether any batch has a producer id.</summary>
    internal readonly record struct StampedBatches(long LastOffset, long MaxTimestamp, long OffsetOfMaxTimestamp, bool HasProducerBatches);

    private static ValidatedRecords Rejected(RecordSetValidation validation) =>
        new((ErrorCode)validation.KafkaErrorCode, validation.ErrorMessage!);

    private static string SegmentOverflowMessage(int length, LogConfig config) =>
        string.Create(CultureInfo.InvariantCulture, $"{length} bytes of batches do not fit a segment of segment.bytes={config.SegmentBytes}.");

    private static void ThrowRejected(TopicPartition topicPartition, ErrorCode error, string message)
    {
        string text = $"{topicPartition}: {message}";
        throw error == ErrorCode.MessageTooLarge ? new RecordTooLargeException(text) : new InvalidRecordException(text);
    }

    private static bool NeedsRecompression(ReadOnlySpan<byte> records, CompressionType target)
    {
        foreach (ReadOnlySpan<byte> batch in RecordSet.EnumerateBatches(records))
        {
            RecordBatchHeader header = RecordBatchHeader.Read(batch);
            if (header.CompressionType != target && !header.IsControl)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Rebuilds every batch with the topic's codec (compression.type other than producer), keeping producer fields and timestamps.</summary>
    private static byte[] Recompress(ReadOnlySpan<byte> records, CompressionType target, Action<List<Record>>? onDecoded)
    {
        var output = new ArrayBufferWriter<byte>(records.Length);
        byte[] copy = records.ToArray();
        int position = 0;
        while (position < copy.Length)
        {
            RecordBatchHeader header = RecordBatchHeader.Read(copy.AsSpan(position));
            int size = header.SizeInBytes;
            ReadOnlyMemory<byte> batch = copy.AsMemory(position, size);
            if (header.CompressionType == target || header.IsControl)
            {
                output.Write(batch.Span);
            }
            else
            {
                List<Record> decoded = RecordBatchReader.ReadRecords(batch);
                onDecoded?.Invoke(decoded);
                using var builder = new RecordBatchBuilder(target, header.BaseOffset, header.ProducerId, header.ProducerEpoch, header.BaseSequence,
                    header.PartitionLeaderEpoch, header.TimestampType, header.IsTransactional);
                foreach (Record record in decoded)
                {
                    builder.AppendWithOffset(record.Offset, record.Timestamp, record.Key, record.Value, record.Headers);
                }

                builder.WriteTo(output);
            }

            position += size;
        }

        return output.WrittenSpan.ToArray();
    }
}
