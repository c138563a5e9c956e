using Aspire.Kafka.Records;

namespace Aspire.Kafka.Storage;

/// <summary>The few places storage looks inside batches (offset for timestamp, compaction), through libs/Records.</summary>
internal static class RecordDecoding
{
    /// <summary>The first record with timestamp &gt;= <paramref name="timestamp"/> and offset &gt;= <paramref name="startingOffset"/>.</summary>
    public static (long Timestamp, long Offset)? FirstRecordAtOrAfter(ReadOnlyMemory<byte> batch, long timestamp, long startingOffset)
    {
        var header = RecordBatchHeader.Read(batch.Span);
        if (header.TimestampType == TimestampType.LogAppendTime)
        {
            // Every record of a LogAppendTime batch has the batch's max timestamp.
            return header.MaxTimestamp >= timestamp ? (header.MaxTimestamp, Math.Max(header.BaseOffset, startingOffset)) : null;
        }

        foreach (var record in RecordBatchReader.ReadRecords(batch, verifyCrc: false))
        {
            if (record.Timestamp >= timestamp && record.Offset >= startingOffset)
            {
                return (record.Timestamp, record.Offset);
            }
        }

        return null;
    }

    public static List<Record> Records(ReadOnlyMemory<byte> batch) => RecordBatchReader.ReadRecords(batch, verifyCrc: false);
}
