using System.Buffers.Binary;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Records;

namespace Aspire.Kafka.Storage.Tests;

/// <summary>The one produce validator: what it accepts, what it rejects with which Kafka error, and what it recompresses.</summary>
public sealed class LogValidatorTests
{
    private static readonly LogConfig Config = Batches.SmallConfig(segmentBytes: 1 << 20) with { MaxMessageBytes = 4096 };

    private static (ErrorCode Error, string? Message) Check(byte[] records, LogConfig? config = null, CompressionType? target = null)
    {
        ValidatedRecords result = LogValidator.ValidateProduce(records, config ?? Config, target);
        Assert.False(result.IsValid);
        return (result.Error, result.ErrorMessage);
    }

    [Fact]
    public void A_valid_record_set_is_accepted_as_it_is_and_nothing_is_stamped_yet()
    {
        byte[] records = [.. Batches.Make(3, 1000, "a"), .. Batches.Make(2, 2000, "b")];
        byte[] before = (byte[])records.Clone();

        ValidatedRecords result = LogValidator.ValidateProduce(records, Config);

        Assert.True(result.IsValid);
        Assert.Equal(ErrorCode.None, result.Error);
        Assert.Null(result.ErrorMessage);
        Assert.Equal(2, result.BatchCount);
        Assert.Equal(5, result.RecordCount);
        Assert.Equal(records.Length, result.ValidBytes);
        Assert.False(result.Recompressed);
        Assert.True(result.Records.Overlaps(records), "the request's own bytes are appended, not a copy");
        Assert.Equal(before, records);
    }

    [Fact]
    public void A_crc_mismatch_is_corrupt_message()
    {
        byte[] batch = Batches.Make(2, 1000);
        batch[^1] ^= 0xFF;
        (ErrorCode error, string? message) = Check(batch);
        Assert.Equal(ErrorCode.CorruptMessage, error);
        Assert.Contains("CRC-32C mismatch", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_truncated_batch_is_corrupt_message()
    {
        byte[] batch = Batches.Make(2, 1000);
        (ErrorCode error, string? message) = Check(batch[..(batch.Length - 1)]);
        Assert.Equal(ErrorCode.CorruptMessage, error);
        Assert.Contains("truncated", message, StringComparison.Ordinal);

        Assert.Equal(ErrorCode.CorruptMessage, Check(batch[..10]).Error);
    }

    [Fact]
    public void A_batch_length_below_a_header_is_corrupt_message()
    {
        byte[] batch = Batches.Make(2, 1000);
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(RecordBatch.BatchLengthOffset), 20);
        (ErrorCode error, string? message) = Check(batch);
        Assert.Equal(ErrorCode.CorruptMessage, error);
        Assert.Contains("invalid batchLength 20", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_record_count_that_does_not_fit_is_corrupt_message()
    {
        byte[] batch = Batches.Make(2, 1000);
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(RecordBatch.RecordsCountOffset), 3);
        RecordBatch.WriteCrc(batch);
        (ErrorCode error, string? message) = Check(batch);
        Assert.Equal(ErrorCode.CorruptMessage, error);
        Assert.Contains("record count 3", message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_compression_codec_is_corrupt_message()
    {
        byte[] batch = Batches.Make(2, 1000);
        short attributes = BinaryPrimitives.ReadInt16BigEndian(batch.AsSpan(RecordBatch.AttributesOffset));
        BinaryPrimitives.WriteInt16BigEndian(batch.AsSpan(RecordBatch.AttributesOffset), (short)(attributes | 5));
        RecordBatch.WriteCrc(batch);
        (ErrorCode error, string? message) = Check(batch);
        Assert.Equal(ErrorCode.CorruptMessage, error);
        Assert.Contains("compression codec id 5", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public void A_magic_other_than_2_is_invalid_record(byte magic)
    {
        byte[] batch = Batches.Make(2, 1000);
        batch[RecordBatch.MagicOffset] = magic;
        (ErrorCode error, string? message) = Check(batch);
        Assert.Equal(ErrorCode.InvalidRecord, error);
        Assert.Contains($"magic {magic}", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_batch_above_max_message_bytes_is_message_too_large()
    {
        byte[] batch = Batches.Make(2, 1000, padding: 300);
        (ErrorCode error, string? message) = Check(batch, Config with { MaxMessageBytes = batch.Length - 1 });
        Assert.Equal(ErrorCode.MessageTooLarge, error);
        Assert.Contains($"larger than the maximum {batch.Length - 1}", message, StringComparison.Ordinal);

        Assert.True(LogValidator.ValidateProduce(batch, Config with { MaxMessageBytes = batch.Length }).IsValid);
    }

    [Fact]
    public void Batches_that_do_not_fit_a_segment_are_message_too_large()
    {
        byte[] one = Batches.Make(2, 1000, padding: 100);
        byte[] two = [.. one, .. one];
        LogConfig config = Config with { SegmentBytes = two.Length - 1, MaxMessageBytes = one.Length };
        (ErrorCode error, string? message) = Check(two, config);
        Assert.Equal(ErrorCode.MessageTooLarge, error);
        Assert.Contains($"segment.bytes={two.Length - 1}", message, StringComparison.Ordinal);
        Assert.True(LogValidator.ValidateProduce(one, config).IsValid);
    }

    [Fact]
    public void Batches_in_another_codec_than_the_topics_are_recompressed_and_counted()
    {
        byte[] records = [.. Batches.Make(3, 1000, "a"), .. Batches.Make(2, 2000, "b", compression: CompressionType.Gzip)];
        var decoded = new List<Record>();

        ValidatedRecords result = LogValidator.ValidateProduce(records, Config, CompressionType.Gzip, decoded.AddRange);

        Assert.True(result.IsValid);
        Assert.True(result.Recompressed);
        Assert.False(result.Records.Overlaps(records));
        Assert.Equal((2, 5L), (result.BatchCount, result.RecordCount));
        Assert.Equal(["va-0", "va-1", "va-2"], decoded.Select(r => Batches.Text(r.Value)));
        Assert.True(RecordSet.Validate(result.Records).IsValid);
        Assert.All(Batches.Split(result.Records.ToArray()), b => Assert.Equal(CompressionType.Gzip, b.Header.CompressionType));
        Assert.Equal(["va-0", "va-1", "va-2", "vb-0", "vb-1"], RecordSet.ReadRecords(result.Records.ToArray()).Select(r => Batches.Text(r.Value)));

        // Already in the topic's codec: nothing to do.
        ValidatedRecords same = LogValidator.ValidateProduce(records[..Batches.Make(3, 1000, "a").Length], Config, CompressionType.None);
        Assert.False(same.Recompressed);
    }

    [Fact]
    public void A_batch_that_grows_past_max_message_bytes_when_recompressed_is_message_too_large()
    {
        byte[] zipped = Batches.Make(4, 1000, compression: CompressionType.Gzip, padding: 2000);
        LogConfig config = Config with { MaxMessageBytes = zipped.Length + 100 };
        Assert.True(LogValidator.ValidateProduce(zipped, config).IsValid);

        (ErrorCode error, string? message) = Check(zipped, config, CompressionType.None);

        Assert.Equal(ErrorCode.MessageTooLarge, error);
        Assert.Contains($"larger than the maximum {zipped.Length + 100}", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_compressed_batch_that_does_not_decompress_is_corrupt_message_when_recompressed()
    {
        byte[] zipped = Batches.Make(4, 1000, compression: CompressionType.Gzip, padding: 200);
        zipped.AsSpan(RecordBatch.RecordsOffset + 10, 8).Fill(0x5A);
        RecordBatch.WriteCrc(zipped);
        Assert.True(LogValidator.ValidateProduce(zipped, Config).IsValid); // kept as sent: never decompressed

        (ErrorCode error, _) = Check(zipped, Config, CompressionType.Lz4);

        Assert.Equal(ErrorCode.CorruptMessage, error);
    }

    [Fact]
    public void The_replica_path_applies_the_same_checks_as_exceptions()
    {
        var tp = new TopicPartition("t", 3);
        byte[] batch = Batches.Make(2, 1000);
        Assert.Equal(2, LogValidator.ValidateReplicated(batch, Config, tp).RecordCount);

        byte[] corrupt = (byte[])batch.Clone();
        corrupt[^1] ^= 0xFF;
        var invalid = Assert.Throws<InvalidRecordException>(() => LogValidator.ValidateReplicated(corrupt, Config, tp));
        Assert.StartsWith("t-3: ", invalid.Message, StringComparison.Ordinal);

        Assert.Throws<RecordTooLargeException>(() => LogValidator.ValidateReplicated(batch, Config with { MaxMessageBytes = batch.Length - 1 }, tp));
        Assert.Throws<RecordTooLargeException>(() => LogValidator.ValidateReplicated([.. batch, .. batch], Config with { SegmentBytes = batch.Length }, tp));
    }

    [Fact]
    public void A_rejected_result_is_not_appended()
    {
        using var dir = new TempDir();
        using var log = UnifiedLog.Open(dir.Sub("t-0"), Config);
        byte[] corrupt = Batches.Make(2, 1000);
        corrupt[^1] ^= 0xFF;

        Assert.Throws<InvalidRecordException>(() => log.AppendAsLeader(LogValidator.ValidateProduce(corrupt, log.Config), 0));
        Assert.Throws<RecordTooLargeException>(() =>
            log.AppendAsLeader(LogValidator.ValidateProduce(Batches.Make(2, 1000), log.Config with { MaxMessageBytes = 10 }), 0));
        Assert.Equal(0, log.LogEndOffset);
    }

    [Fact]
    public void A_recompressed_result_is_appended_and_stamped()
    {
        using var dir = new TempDir();
        using var log = UnifiedLog.Open(dir.Sub("t-0"), Config);
        log.AppendAsLeader(Batches.Make(2, 500), 1);
        byte[] records = Batches.Make(3, 1000, "z");

        LogAppendInfo info = log.AppendAsLeader(LogValidator.ValidateProduce(records, log.Config, CompressionType.Gzip), 4);

        Assert.Equal((2L, 4L, 3L), (info.FirstOffset, info.LastOffset, info.RecordCount));
        Assert.Equal(CompressionType.None, RecordBatchHeader.Read(records).CompressionType);
        Assert.Equal(0, RecordBatchHeader.Read(records).BaseOffset); // the request's bytes were not the ones appended
        Assert.Equal(["vz-0", "vz-1", "vz-2"], Batches.ReadAll(log, from: 2).Select(r => Batches.Text(r.Value)));
        FetchDataInfo read = log.Read(2, 1 << 16);
        RecordBatchHeader stored = RecordBatchHeader.Read(read.Records.ToArray());
        Assert.Equal((CompressionType.Gzip, 2L, 4), (stored.CompressionType, stored.BaseOffset, stored.PartitionLeaderEpoch));
    }
}
