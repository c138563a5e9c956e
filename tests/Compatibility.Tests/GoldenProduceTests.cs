using System.Text;
using Aspire.Kafka.Compatibility.Tests.Capture;
using Aspire.Kafka.Records;
using Record = Aspire.Kafka.Records.Record;

namespace Aspire.Kafka.Compatibility.Tests;

/// <summary>
/// The record batches inside the committed Produce requests (kcat with every codec, kafka-python,
/// kafkajs) decode through libs/Records to exactly what the client was told to send; their CRCs
/// hold, and a flipped byte breaks the CRC with a clear error.
/// </summary>
public sealed class GoldenProduceTests
{
    public static TheoryData<string> ProducingClients() =>
        [.. GoldenManifest.CapturedClients().Where(c => GoldenManifest.Load(c).Records.Count > 0)];

    public static TheoryData<string> Codecs() => [.. Flows.ClientFlow.Codecs];

    private static List<ProducedBatch> Batches(GoldenManifest manifest) =>
        ProducedBatches.Extract(manifest.Frames.Select(f => ($"{manifest.Client}/{f.File}", manifest.ReadFrame(f))));

    [Theory]
    [MemberData(nameof(ProducingClients))]
    public void Produced_batches_decode_to_exactly_the_records_sent(string client)
    {
        GoldenManifest manifest = GoldenManifest.Load(client);
        List<ProducedBatch> batches = Batches(manifest);

        ProducedBatches.AssertMatchSent(batches, manifest.Topic!, manifest.Records, manifest.Compression!, manifest.CaptureStartMs, manifest.CaptureEndMs);
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Kcat_batches_carry_the_codec_asked_for_and_batch_several_records(string codec)
    {
        GoldenManifest manifest = GoldenManifest.Load($"kcat-produce-{codec}");
        List<ProducedBatch> batches = Batches(manifest);

        Assert.All(batches, b => Assert.Equal(ProducedBatches.ParseCodec(codec), b.Header.CompressionType));
        Assert.Contains(batches, b => b.Records.Count > 1); // linger.ms put several records in one batch
        Assert.Equal(manifest.Records.Count, batches.Sum(b => b.Records.Count));
        Assert.All(batches, b =>
        {
            // No idempotence in librdkafka 2.0.2 by default: no producer id, epoch or sequence.
            Assert.Equal(RecordBatch.NoProducerId, b.Header.ProducerId);
            Assert.Equal(RecordBatch.NoSequence, b.Header.BaseSequence);
            Assert.Equal(0, b.Header.BaseOffset);
        });
        if (codec != "none")
        {
            // Compressed for real: the records region is smaller than the records it holds.
            Assert.Contains(batches, b => b.Bytes.Length - RecordBatch.HeaderSize < b.Records.Sum(r => (r.Value?.Length ?? 0) + (r.Key?.Length ?? 0)));
        }
    }

    [Fact]
    public void Idempotent_kcat_gets_a_producer_id_with_InitProducerId_v4_and_stamps_it_with_sequences_on_every_batch()
    {
        GoldenManifest manifest = GoldenManifest.Load("kcat-produce-idempotent-lz4");
        var frames = manifest.Frames.Select(f => RequestFrame.Decode(manifest.ReadFrame(f))).ToList();

        int init = frames.FindIndex(f => f.Type.ApiKey == Protocol.ApiKeys.InitProducerId);
        Assert.True(init >= 0, "no InitProducerId request");
        Assert.Equal(4, frames[init].ApiVersion);
        Assert.Equal(2, frames[init].HeaderVersion); // flexible
        var request = Assert.IsType<Protocol.Messages.InitProducerIdRequest>(frames[init].Body);
        Assert.Null(request.TransactionalId);
        Assert.Equal((-1L, (short)-1), (request.ProducerId, request.ProducerEpoch));
        Assert.True(frames.FindIndex(f => f.Type.ApiKey == Protocol.ApiKeys.Produce) > init, "Produce before InitProducerId");

        List<ProducedBatch> batches = Batches(manifest);
        Assert.All(batches, b =>
        {
            // The capture broker answered producer id 4000, epoch 0; each partition's sequence starts at 0.
            Assert.Equal((4000L, (short)0, 0), (b.Header.ProducerId, b.Header.ProducerEpoch, b.Header.BaseSequence));
            Assert.Equal(CompressionType.Lz4, b.Header.CompressionType);
        });
        Assert.Equal(batches.Count, batches.Select(b => b.Partition).Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void A_flipped_byte_anywhere_under_the_CRC_fails_validation_with_a_clear_error(string codec)
    {
        GoldenManifest manifest = GoldenManifest.Load($"kcat-produce-{codec}");
        ProducedBatch batch = Batches(manifest).First();
        int[] positions =
        [
            RecordBatch.CrcOffset, // the stored CRC itself
            RecordBatch.AttributesOffset, // first byte the CRC covers (unused attribute bits; the codec bits are checked on their own)
            RecordBatch.BaseTimestampOffset + 7,
            RecordBatch.RecordsOffset + 3, // inside the (possibly compressed) records
            batch.Bytes.Length / 2,
            batch.Bytes.Length - 1, // last byte
        ];

        foreach (int position in positions)
        {
            byte[] corrupt = (byte[])batch.Bytes.Clone();
            corrupt[position] ^= 0x01;

            Assert.False(RecordBatch.IsCrcValid(corrupt), $"flipping byte {position} left the CRC valid");
            RecordSetValidation validation = RecordSet.Validate(corrupt);
            Assert.Equal(RecordSetError.CrcMismatch, validation.Error);
            Assert.Equal(2, validation.KafkaErrorCode); // CORRUPT_MESSAGE
            Assert.Contains("CRC-32C mismatch", validation.ErrorMessage, StringComparison.Ordinal);
            var error = Assert.Throws<CorruptRecordException>(() => RecordBatchReader.ReadRecords(corrupt));
            Assert.Contains("CRC-32C", error.Message, StringComparison.Ordinal);
        }

        // The uncorrupted batch is fine: the failures above are the flips, not the data.
        Assert.True(RecordSet.Validate(batch.Bytes).IsValid);
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Records_from_kcat_written_again_by_our_builder_with_the_same_codec_read_back_equal(string codec)
    {
        GoldenManifest manifest = GoldenManifest.Load($"kcat-produce-{codec}");
        foreach (ProducedBatch batch in Batches(manifest))
        {
            RecordBatchHeader kcat = batch.Header;
            using var builder = new RecordBatchBuilder(kcat.CompressionType, kcat.BaseOffset, kcat.ProducerId, kcat.ProducerEpoch,
                kcat.BaseSequence, kcat.PartitionLeaderEpoch, kcat.TimestampType, kcat.IsTransactional, kcat.IsControl);
            foreach (Record record in batch.Records)
            {
                builder.Append(record.Timestamp, record.Key, record.Value, record.Headers);
            }

            byte[] ours = builder.Build();
            RecordSetValidation validation = RecordSet.Validate(ours);
            Assert.True(validation.IsValid, validation.ErrorMessage);
            List<Record> again = RecordBatchReader.ReadRecords(ours);
            Assert.Equal(Describe(batch.Records), Describe(again));
            RecordBatchHeader header = RecordBatchHeader.Read(ours);
            Assert.Equal(batch.Header.CompressionType, header.CompressionType);
            Assert.Equal(batch.Header.BaseTimestamp, header.BaseTimestamp);
            Assert.Equal(batch.Header.MaxTimestamp, header.MaxTimestamp);
            Assert.Equal(batch.Header.LastOffsetDelta, header.LastOffsetDelta);
            if (codec == "none")
            {
                // Same records, same header fields, no compression: the very same bytes as librdkafka's.
                Assert.Equal(Convert.ToHexString(batch.Bytes), Convert.ToHexString(ours));
            }
        }
    }

    private static List<string> Describe(IEnumerable<Record> records) =>
    [
        .. records.Select(r =>
            $"{r.Offset}@{r.Timestamp} {ProducedBatches.Text(r.Key)}={ProducedBatches.Text(r.Value)} " +
            string.Join(',', r.Headers.Select(h => $"{h.Key}:{(h.Value is { } v ? Encoding.UTF8.GetString(v.Span) : "null")}"))),
    ];
}
