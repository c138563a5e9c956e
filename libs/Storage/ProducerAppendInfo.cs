using System.Globalization;
using Aspire.Kafka.Records;

namespace Aspire.Kafka.Storage;

/// <summary>Where an append comes from, which decides how much of the producer state is checked (Kafka's AppendOrigin).</summary>
public enum AppendOrigin
{
    /// <summary>A producer's batches on the leader: epoch, sequence and transactional flag are validated.</summary>
    Client,

    /// <summary>Batches fetched from the leader, or read back from the log at load: the state is updated without validation.</summary>
    Replication,
}

/// <summary>
/// The producer state changes of one append for one producer id (Kafka's ProducerAppendInfo):
/// starts from the producer's current entry, validates each batch (leader appends only) and
/// collects the batches; <see cref="ProducerStateManager.Update"/> applies them once the batches
/// are written.
/// </summary>
public sealed class ProducerAppendInfo
{
    private readonly TopicPartition _topicPartition;
    private readonly ProducerStateEntry _currentEntry;
    private readonly AppendOrigin _origin;

    internal ProducerAppendInfo(TopicPartition topicPartition, long producerId, ProducerStateEntry currentEntry, AppendOrigin origin)
    {
        _topicPartition = topicPartition;
        ProducerId = producerId;
        _currentEntry = currentEntry;
        _origin = origin;
        UpdatedEntry = currentEntry.WithoutBatches();
    }

    public long ProducerId { get; }

    /// <summary>The epoch, timestamp and batches this append leads to (batches of this append only).</summary>
    public ProducerStateEntry UpdatedEntry { get; }

    /// <summary>Adds a batch (with its assigned offsets). Control batches do not change the state here (no transactions).</summary>
    /// <exception cref="InvalidProducerEpochException">client append with an epoch below the current one.</exception>
    /// <exception cref="OutOfOrderSequenceException">client append whose first sequence does not continue the producer's.</exception>
    /// <exception cref="InvalidTxnStateException">client append of a transactional batch.</exception>
    public void Append(in RecordBatchHeader batch)
    {
        if (batch.IsControl)
        {
            return;
        }

        AppendDataBatch(batch.ProducerEpoch, batch.BaseSequence, batch.LastSequence, batch.MaxTimestamp, batch.BaseOffset, batch.LastOffset, batch.IsTransactional);
    }

    public void AppendDataBatch(short epoch, int firstSeq, int lastSeq, long lastTimestamp, long firstOffset, long lastOffset, bool isTransactional)
    {
        if (_origin == AppendOrigin.Client)
        {
            if (isTransactional)
            {
                throw new InvalidTxnStateException(string.Create(CultureInfo.InvariantCulture,
                    $"Transactional batch of producer {ProducerId} at offset {firstOffset} in {_topicPartition}: transactions are not supported by this broker."));
            }

            if (firstSeq < 0)
            {
                throw new InvalidRecordException(string.Create(CultureInfo.InvariantCulture,
                    $"Invalid sequence number {firstSeq} in a batch of producer {ProducerId} at offset {firstOffset} in {_topicPartition}."));
            }

            CheckProducerEpoch(epoch, firstOffset);
            CheckSequence(epoch, firstSeq, firstOffset);
        }

        UpdatedEntry.AddBatch(epoch, lastSeq, lastOffset, (int)(lastOffset - firstOffset), lastTimestamp);
    }

    private void CheckProducerEpoch(short epoch, long offset)
    {
        short current = UpdatedEntry.ProducerEpoch;
        if (epoch < current)
        {
            throw new InvalidProducerEpochException(string.Create(CultureInfo.InvariantCulture,
                $"Epoch of producer {ProducerId} at offset {offset} in {_topicPartition} is {epoch}, which is smaller than the last seen epoch {current}."));
        }
    }

    private void CheckSequence(short epoch, int firstSeq, long offset)
    {
        if (epoch != UpdatedEntry.ProducerEpoch)
        {
            // A new epoch starts its sequences at 0, unless the producer had no epoch here yet.
            if (firstSeq != 0 && UpdatedEntry.ProducerEpoch != RecordBatch.NoProducerEpoch)
            {
                throw new OutOfOrderSequenceException(string.Create(CultureInfo.InvariantCulture,
                    $"Invalid sequence number for new epoch of producer {ProducerId} at offset {offset} in {_topicPartition}: {epoch} (request epoch), {firstSeq} (seq. number), {UpdatedEntry.ProducerEpoch} (current producer epoch)."));
            }

            return;
        }

        int currentLastSeq;
        if (!UpdatedEntry.IsEmpty)
        {
            currentLastSeq = UpdatedEntry.LastSeq;
        }
        else if (epoch == _currentEntry.ProducerEpoch)
        {
            currentLastSeq = _currentEntry.LastSeq;
        }
        else
        {
            currentLastSeq = RecordBatch.NoSequence;
        }

        // No epoch at all: the producer's records are gone (retention, DeleteRecords) or it never
        // wrote here; any sequence is accepted, as Kafka does.
        if (!(_currentEntry.ProducerEpoch == RecordBatch.NoProducerEpoch || InSequence(currentLastSeq, firstSeq)))
        {
            throw new OutOfOrderSequenceException(string.Create(CultureInfo.InvariantCulture,
                $"Out of order sequence number for producer {ProducerId} at offset {offset} in {_topicPartition}: {firstSeq} (incoming seq. number), {currentLastSeq} (current end sequence number)."));
        }
    }

    private static bool InSequence(int lastSeq, int nextSeq) => nextSeq == lastSeq + 1L || (nextSeq == 0 && lastSeq == int.MaxValue);

    public override string ToString() => $"ProducerAppendInfo(producerId={ProducerId}, origin={_origin}, updated={UpdatedEntry})";
}
