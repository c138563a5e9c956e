using System.Diagnostics;
using System.Runtime.InteropServices;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Records;
using Aspire.Kafka.Storage;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Broker;

/// <summary>
/// Who appends: a producer (Produce: validated, offsets assigned here) or the mirror service
/// (MirrorAppend: batches copied from the source cluster <see cref="MirrorSource"/> at their own offsets).
/// </summary>
internal readonly record struct AppendSource(string? MirrorSource)
{
    public static AppendSource Producer => default;

    public static AppendSource Mirror(string sourceCluster) => new(sourceCluster ?? "");

    public bool IsMirror => MirrorSource is not null;
}

/// <summary>One partition's records of a produce (null or empty records are refused as CORRUPT_MESSAGE).</summary>
internal readonly record struct ProducePartition(TopicPartition TopicPartition, ReadOnlyMemory<byte>? Records);

/// <summary>What a produce did to one partition (Kafka's PartitionResponse), before it becomes a response entry.</summary>
internal sealed class ProducePartitionResult(TopicPartition topicPartition)
{
    public TopicPartition TopicPartition { get; } = topicPartition;

    public ErrorCode Error { get; set; }

    public string? ErrorMessage { get; set; }

    public long BaseOffset { get; set; } = -1;

    /// <summary>The broker's append time for LogAppendTime topics, else -1.</summary>
    public long LogAppendTime { get; set; } = -1;

    public long LogStartOffset { get; set; } = -1;

    /// <summary>The log end offset after the append (mirror appends).</summary>
    public long LogEndOffset { get; set; } = -1;

    /// <summary>Batches a mirror append found already held and did not write again.</summary>
    public int SkippedBatches { get; set; }
}

public sealed partial class ReplicaManager
{
    /// <summary>
    /// Kafka's appendRecords: validates and appends each partition's batches on its leader, then
    /// returns at once (acks 0/1, or errors) or once the ISR has the batches (acks=all, bounded by
    /// <paramref name="timeoutMs"/>). One result per entry, in the same order. The record bytes
    /// are stamped in place, so they must be the caller's own buffer. <paramref name="links"/>
    /// (only for a recorded span) collects the traces the records carry. <paramref name="source"/>
    /// says who appends: a producer (the default), or the mirror service, whose batches keep their
    /// offsets and go only to mirror topics of that source (<see cref="UnifiedLog.AppendAsMirror"/>);
    /// producers may not write to mirror topics (POLICY_VIOLATION).
    /// </summary>
    internal async ValueTask<IReadOnlyList<ProducePartitionResult>> AppendRecordsAsync(IReadOnlyList<ProducePartition> entries, short acks, int timeoutMs,
        CancellationToken cancellationToken, TraceparentLinks? links = null, AppendSource source = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var results = new List<ProducePartitionResult>(entries.Count);
        var waiting = new List<DelayedProduce.PartitionStatus>();
        bool validAcks = acks is -1 or 0 or 1;
        // Waiting fetches and produces are checked once every partition of the request is
        // appended (Kafka's action queue): a follower's fetch then sees all of them in one round
        // instead of waking on the first and coming back for the rest.
        var appended = new List<(TopicPartition Partition, bool HighWatermarkIncreased)>();
        foreach (ProducePartition entry in entries)
        {
            var result = new ProducePartitionResult(entry.TopicPartition);
            results.Add(result);
            if (!validAcks)
            {
                result.Error = ErrorCode.InvalidRequiredAcks;
                result.ErrorMessage = $"acks must be -1, 0 or 1, not {acks}.";
                continue;
            }

            (ErrorCode error, string? message, Partition? partition, long requiredOffset) = AppendToPartition(entry.TopicPartition, entry.Records, acks, result, appended, links, source);
            result.Error = error;
            if (error != ErrorCode.None)
            {
                Metrics.Error("Produce", error);
                result.ErrorMessage = message;
                continue;
            }

            if (acks == -1 && partition is not null)
            {
                waiting.Add(new DelayedProduce.PartitionStatus(partition, requiredOffset, result));
            }
        }

        foreach ((TopicPartition tp, bool highWatermarkIncreased) in appended)
        {
            FetchPurgatory.CheckAndComplete(tp);
            if (highWatermarkIncreased)
            {
                ProducePurgatory.CheckAndComplete(tp);
            }
        }

        if (waiting.Count > 0)
        {
            var delayed = new DelayedProduce(waiting);
            if (!ProducePurgatory.TryCompleteElseWatch(delayed, [.. waiting.Select(w => w.Partition.TopicPartition)], TimeSpan.FromMilliseconds(Math.Max(0, timeoutMs))))
            {
                using CancellationTokenRegistration registration = cancellationToken.Register(static d => ((DelayedProduce)d!).ForceComplete(), delayed);
                await delayed.Completion.ConfigureAwait(false);
            }
        }

        return results;
    }

    private (ErrorCode Error, string? Message, Partition? Partition, long RequiredOffset) AppendToPartition(
        TopicPartition tp, ReadOnlyMemory<byte>? records, short acks, ProducePartitionResult response,
        List<(TopicPartition Partition, bool HighWatermarkIncreased)> appended, TraceparentLinks? links, AppendSource source)
    {
        ErrorCode check = CheckLeader(tp, -1, out Partition? partition);
        if (check != ErrorCode.None || partition is null)
        {
            return (check, $"This broker ({NodeId}) is not the leader of {tp}.", null, -1);
        }

        if (tp.Topic == "__cluster_metadata")
        {
            return (ErrorCode.InvalidTopicException, "The metadata topic cannot be written by clients.", null, -1);
        }

        if (records is not { Length: > 0 } bytes)
        {
            return (ErrorCode.CorruptMessage, "The partition's records are empty or null.", null, -1);
        }

        string? mirrorOf = SettingsFor(tp).MirrorSource;
        if (source.IsMirror)
        {
            return mirrorOf == source.MirrorSource
                ? AppendMirrored(partition, tp, bytes, acks, response, appended)
                : (ErrorCode.PolicyViolation, mirrorOf is null
                    ? $"{tp.Topic} is not a mirror topic (it has no aspire.mirror.source): the mirror does not write to it."
                    : $"{tp.Topic} mirrors cluster '{mirrorOf}', not '{source.MirrorSource}'.", null, -1);
        }

        if (mirrorOf is not null)
        {
            _logger.LogInformation("Refused a produce to {Partition}: the topic is a read-only mirror of cluster {Source}.", tp, mirrorOf);
            return (ErrorCode.PolicyViolation,
                $"{tp.Topic} is a read-only mirror of cluster '{mirrorOf}': produce to the source cluster, or fail the mirror over first.", null, -1);
        }

        try
        {
            // The one validation of the produced batches (and recompression to the topic's compression.type).
            ValidatedRecords validated = LogValidator.ValidateProduce(MemoryMarshal.AsMemory(bytes).Span, partition.Log.Config, SettingsFor(tp).TargetCodec,
                links?.DecodedHandler(tp));
            if (!validated.IsValid)
            {
                _logger.LogInformation("Rejected a produce to {Partition}: {Reason}", tp, validated.ErrorMessage);
                return (validated.Error, validated.ErrorMessage, null, -1);
            }

            links?.AddFromRecordSet(tp.Topic, tp.Partition, validated.Records);
            (ErrorCode error, LogAppendInfo? info, bool hwIncreased) = partition.AppendRecordsToLeader(validated, acks);
            if (error != ErrorCode.None || info is null)
            {
                string message = error == ErrorCode.NotEnoughReplicas
                    ? $"The ISR of {tp} has {partition.Isr.Count} replicas, fewer than min.insync.replicas {partition.MinInsyncReplicas}."
                    : $"This broker ({NodeId}) is not the leader of {tp}.";
                return (error, message, null, -1);
            }

            if (info.IsDuplicate)
            {
                // A retry of batches the log already has (idempotent producer): Kafka answers
                // with the original offsets and writes nothing.
                Metrics.DuplicateBatches.Add(1);
            }
            else
            {
                Metrics.MessagesIn(tp.Topic, info.RecordCount);
                Metrics.BytesIn(tp.Topic, info.ValidBytes);
            }

            response.BaseOffset = info.FirstOffset;
            response.LogAppendTime = info.LogAppendTime;
            response.LogStartOffset = info.LogStartOffset;
            appended.Add((tp, hwIncreased));
            return (ErrorCode.None, null, partition, info.LastOffset + 1);
        }
        catch (RecordTooLargeException e)
        {
            return (ErrorCode.MessageTooLarge, e.Message, null, -1);
        }
        catch (InvalidRecordException e)
        {
            return (ErrorCode.CorruptMessage, e.Message, null, -1);
        }
        catch (CorruptRecordException e)
        {
            return (ErrorCode.CorruptMessage, e.Message, null, -1);
        }
        catch (OutOfOrderSequenceException e)
        {
            _logger.LogInformation("Rejected a produce to {Partition}: {Message}", tp, e.Message);
            return (ErrorCode.OutOfOrderSequenceNumber, e.Message, null, -1);
        }
        catch (InvalidProducerEpochException e)
        {
            _logger.LogInformation("Rejected a produce to {Partition}: {Message}", tp, e.Message);
            return (ErrorCode.InvalidProducerEpoch, e.Message, null, -1);
        }
        catch (InvalidTxnStateException e)
        {
            _logger.LogInformation("Rejected a produce to {Partition}: {Message}", tp, e.Message);
            return (ErrorCode.InvalidTxnState, e.Message, null, -1);
        }
        catch (CompressionUnavailableException e)
        {
            _logger.LogError("Cannot recompress for {Partition}: {Message}", tp, e.Message);
            return (ErrorCode.UnsupportedCompressionType, e.Message, null, -1);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or KafkaStorageException)
        {
            _logger.LogError(e, "Append to {Partition} failed: {Message}", tp, e.Message);
            return (ErrorCode.KafkaStorageError, e.Message, null, -1);
        }
    }

    /// <summary>A mirror append to the leader of <paramref name="tp"/>: batches at their own offsets, those already held skipped.</summary>
    private (ErrorCode Error, string? Message, Partition? Partition, long RequiredOffset) AppendMirrored(Partition partition, TopicPartition tp, ReadOnlyMemory<byte> bytes,
        short acks, ProducePartitionResult response, List<(TopicPartition Partition, bool HighWatermarkIncreased)> appended)
    {
        try
        {
            (ErrorCode error, MirrorAppendInfo? info, bool hwIncreased) = partition.AppendRecordsAsMirror(MemoryMarshal.AsMemory(bytes).Span, acks);
            if (error != ErrorCode.None || info is null)
            {
                string message = error == ErrorCode.NotEnoughReplicas
                    ? $"The ISR of {tp} has {partition.Isr.Count} replicas, fewer than min.insync.replicas {partition.MinInsyncReplicas}."
                    : $"This broker ({NodeId}) is not the leader of {tp}.";
                return (error, message, null, -1);
            }

            response.SkippedBatches = info.SkippedBatches;
            response.LogEndOffset = info.LogEndOffset;
            if (info.Appended is { } written)
            {
                Metrics.MessagesIn(tp.Topic, written.RecordCount);
                Metrics.BytesIn(tp.Topic, written.ValidBytes);
                response.BaseOffset = written.FirstOffset;
                response.LogStartOffset = written.LogStartOffset;
                appended.Add((tp, hwIncreased));
            }

            // Batches already held count as appended once the ISR has them too.
            return (ErrorCode.None, null, partition, info.LogEndOffset);
        }
        catch (RecordTooLargeException e)
        {
            return (ErrorCode.MessageTooLarge, e.Message, null, -1);
        }
        catch (Exception e) when (e is InvalidRecordException or CorruptRecordException)
        {
            _logger.LogWarning("Refused a mirror append to {Partition}: {Message}", tp, e.Message);
            return (ErrorCode.CorruptMessage, e.Message, null, -1);
        }
        catch (InvalidOffsetException e)
        {
            _logger.LogWarning("Refused a mirror append to {Partition}: {Message}", tp, e.Message);
            return (ErrorCode.InvalidRequest, e.Message, null, -1);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or KafkaStorageException)
        {
            _logger.LogError(e, "Mirror append to {Partition} failed: {Message}", tp, e.Message);
            return (ErrorCode.KafkaStorageError, e.Message, null, -1);
        }
    }

    /// <summary>The idempotent producers the leader of <paramref name="tp"/> has state for, by producer id.</summary>
    internal (ErrorCode Error, IReadOnlyList<ActiveProducer> Producers) ActiveProducers(TopicPartition tp)
    {
        ErrorCode error = CheckLeader(tp, -1, out Partition? partition);
        return error != ErrorCode.None || partition is null
            ? (error, [])
            : (ErrorCode.None, [.. partition.Log.ActiveProducers.Values.OrderBy(p => p.ProducerId)]);
    }
}
