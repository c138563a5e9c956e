using Aspire.Kafka.Records;

namespace Aspire.Kafka.Storage;

/// <summary>
/// The state of one producer id in one partition (Kafka's ProducerStateEntry): its epoch and its
/// last <see cref="NumBatchesToRetain"/> batches, oldest first, so that a retried batch of the
/// (at most 5) in flight is recognized as a duplicate. Transactions are not served:
/// <see cref="CurrentTxnFirstOffset"/> stays -1 and <see cref="CoordinatorEpoch"/> -1.
/// </summary>
public sealed class ProducerStateEntry
{
    /// <summary>Kafka's NUM_BATCHES_TO_RETAIN: a producer has at most 5 requests in flight per connection.</summary>
    public const int NumBatchesToRetain = 5;

    private readonly BatchMetadata[] _batches = new BatchMetadata[NumBatchesToRetain];
    private int _first;
    private int _count;

    public ProducerStateEntry(long producerId, short producerEpoch = RecordBatch.NoProducerEpoch, int coordinatorEpoch = -1,
        long lastTimestamp = RecordBatch.NoTimestamp, long currentTxnFirstOffset = -1, BatchMetadata? firstBatch = null)
    {
        ProducerId = producerId;
        ProducerEpoch = producerEpoch;
        CoordinatorEpoch = coordinatorEpoch;
        LastTimestamp = lastTimestamp;
        CurrentTxnFirstOffset = currentTxnFirstOffset;
        if (firstBatch is { } batch)
        {
            AddBatchMetadata(batch);
        }
    }

    public long ProducerId { get; }

    public short ProducerEpoch { get; private set; }

    public int CoordinatorEpoch { get; private set; }

    /// <summary>The max timestamp of the producer's last batch; producer.id.expiration.ms counts from it.</summary>
    public long LastTimestamp { get; private set; }

    /// <summary>The first offset of the open transaction, -1 when none (always, here).</summary>
    public long CurrentTxnFirstOffset { get; private set; }

    public bool IsEmpty => _count == 0;

    public int FirstSeq => IsEmpty ? RecordBatch.NoSequence : Batch(0).FirstSeq;

    public int LastSeq => IsEmpty ? RecordBatch.NoSequence : Batch(_count - 1).LastSeq;

    public long FirstDataOffset => IsEmpty ? -1 : Batch(0).FirstOffset;

    public long LastDataOffset => IsEmpty ? -1 : Batch(_count - 1).LastOffset;

    public int LastOffsetDelta => IsEmpty ? 0 : Batch(_count - 1).OffsetDelta;

    /// <summary>The retained batches, oldest first (a copy).</summary>
    public IReadOnlyList<BatchMetadata> BatchMetadata
    {
        get
        {
            var result = new BatchMetadata[_count];
            for (int i = 0; i < _count; i++)
            {
                result[i] = Batch(i);
            }

            return result;
        }
    }

    /// <summary>Records a batch; a new epoch drops the batches of the old one.</summary>
    public void AddBatch(short producerEpoch, int lastSeq, long lastOffset, int offsetDelta, long timestamp)
    {
        MaybeUpdateProducerEpoch(producerEpoch);
        AddBatchMetadata(new BatchMetadata(lastSeq, lastOffset, offsetDelta, timestamp));
        LastTimestamp = timestamp;
    }

    /// <summary>Switches to <paramref name="producerEpoch"/> (forgetting the batches) if it differs; true when it did.</summary>
    public bool MaybeUpdateProducerEpoch(short producerEpoch)
    {
        if (ProducerEpoch == producerEpoch)
        {
            return false;
        }

        _first = 0;
        _count = 0;
        ProducerEpoch = producerEpoch;
        return true;
    }

    /// <summary>
    /// The retained batch that <paramref name="batch"/> repeats (same epoch, same first and last
    /// sequence): a producer's retry of a batch that was written but not acknowledged.
    /// </summary>
    public BatchMetadata? FindDuplicateBatch(in RecordBatchHeader batch) =>
        batch.ProducerEpoch != ProducerEpoch ? null : BatchWithSequenceRange(batch.BaseSequence, batch.LastSequence);

    internal BatchMetadata? BatchWithSequenceRange(int firstSeq, int lastSeq)
    {
        for (int i = 0; i < _count; i++)
        {
            var batch = Batch(i);
            if (batch.FirstSeq == firstSeq && batch.LastSeq == lastSeq)
            {
                return batch;
            }
        }

        return null;
    }

    /// <summary>The same producer's epoch, coordinator epoch, timestamp and transaction, without batches (what an append starts from).</summary>
    internal ProducerStateEntry WithoutBatches() => new(ProducerId, ProducerEpoch, CoordinatorEpoch, LastTimestamp, CurrentTxnFirstOffset);

    /// <summary>Takes over what an append produced (Kafka's update(nextEntry)).</summary>
    internal void Update(ProducerStateEntry next)
    {
        MaybeUpdateProducerEpoch(next.ProducerEpoch);
        for (int i = 0; i < next._count; i++)
        {
            AddBatchMetadata(next.Batch(i));
        }

        CoordinatorEpoch = next.CoordinatorEpoch;
        CurrentTxnFirstOffset = next.CurrentTxnFirstOffset;
        LastTimestamp = next.LastTimestamp;
    }

    public override string ToString() =>
        $"ProducerStateEntry(producerId={ProducerId}, producerEpoch={ProducerEpoch}, currentTxnFirstOffset={CurrentTxnFirstOffset}, " +
        $"coordinatorEpoch={CoordinatorEpoch}, lastTimestamp={LastTimestamp}, batchMetadata=[{string.Join(", ", BatchMetadata)}])";

    private BatchMetadata Batch(int index) => _batches[(_first + index) % NumBatchesToRetain];

    private void AddBatchMetadata(BatchMetadata batch)
    {
        if (_count == NumBatchesToRetain)
        {
            _batches[_first] = batch;
            _first = (_first + 1) % NumBatchesToRetain;
        }
        else
        {
            _batches[(_first + _count) % NumBatchesToRetain] = batch;
            _count++;
        }
    }
}
