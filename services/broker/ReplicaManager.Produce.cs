using System.Diagnostics;
using System.Runtime.InteropServices;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Records;
using Aspire.Kafka.Storage;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Broker;

public sealed partial class ReplicaManager
{
    /// <summary>
    /// Produce (Kafka's appendRecords): validates and appends each partition's batches on its
    /// leader, then answers at once (acks 0/1, or errors) or once the ISR has the batches
    /// (acks=all, bounded by the request's timeout). Null for acks=0: no response is sent.
    /// The record bytes are stamped in place, so they must be the request's own buffer.
    /// </summary>
    public async ValueTask<ProduceResponse?> HandleProduceAsync(ProduceRequest request, short version, string? listenerName, CancellationToken cancellationToken,
        Activity? span = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        // Only for a recorded span: links to the traces the records carry (W3C traceparent headers).
        TraceparentLinks? links = span is not null ? new TraceparentLinks(span) : null;
        var response = new ProduceResponse();
        var waiting = new List<DelayedProduce.PartitionStatus>();
        bool validAcks = request.Acks is -1 or 0 or 1;
        var hintNodes = new HashSet<int>();
        // Waiting fetches and produces are checked once every partition of the request is
        // appended (Kafka's action queue): a follower's fetch then sees all of them in one round
        // instead of waking on the first and coming back for the rest.
        var appended = new List<(TopicPartition Partition, bool HighWatermarkIncreased)>();
        foreach (ProduceRequest.TopicProduceData topic in request.TopicData)
        {
            var topicResponse = new ProduceResponse.TopicProduceResponse { Name = topic.Name };
            response.Responses.Add(topicResponse);
            foreach (ProduceRequest.PartitionProduceData data in topic.PartitionData)
            {
                var partitionResponse = new ProduceResponse.PartitionProduceResponse { Index = data.Index, BaseOffset = -1 };
                topicResponse.PartitionResponses.Add(partitionResponse);
                if (!validAcks)
                {
                    partitionResponse.ErrorCode = (short)ErrorCode.InvalidRequiredAcks;
                    continue;
                }

                var tp = new TopicPartition(topic.Name, data.Index);
                (ErrorCode error, string? message, Partition? partition, long requiredOffset) = AppendToPartition(tp, data.Records, request.Acks, partitionResponse, appended, links);
                partitionResponse.ErrorCode = (short)error;
                if (error != ErrorCode.None)
                {
                    Metrics.Error("Produce", error);
                    if (version >= 8)
                    {
                        partitionResponse.ErrorMessage = message;
                    }

                    if (error == ErrorCode.NotLeaderOrFollower && version >= 10)
                    {
                        (int leaderId, int leaderEpoch) = LeaderHint(tp);
                        partitionResponse.CurrentLeader = new ProduceResponse.LeaderIdAndEpoch { LeaderId = leaderId, LeaderEpoch = leaderEpoch };
                        if (leaderId >= 0)
                        {
                            hintNodes.Add(leaderId);
                        }
                    }

                    continue;
                }

                if (request.Acks == -1 && partition is not null)
                {
                    waiting.Add(new DelayedProduce.PartitionStatus(partition, requiredOffset, partitionResponse));
                }
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

        if (version >= 10)
        {
            foreach (int id in hintNodes.Order())
            {
                if (EndpointOf(id, listenerName) is { } e)
                {
                    response.NodeEndpoints.Add(new ProduceResponse.NodeEndpoint { NodeId = id, Host = e.Host, Port = e.Port, Rack = Image.Cluster.Broker(id)?.Rack });
                }
            }
        }

        if (waiting.Count > 0)
        {
            var delayed = new DelayedProduce(waiting);
            if (!ProducePurgatory.TryCompleteElseWatch(delayed, [.. waiting.Select(w => w.Partition.TopicPartition)], TimeSpan.FromMilliseconds(Math.Max(0, request.TimeoutMs))))
            {
                using CancellationTokenRegistration registration = cancellationToken.Register(static d => ((DelayedProduce)d!).ForceComplete(), delayed);
                await delayed.Completion.ConfigureAwait(false);
            }

            if (version < 8)
            {
                foreach (DelayedProduce.PartitionStatus w in waiting)
                {
                    w.Response.ErrorMessage = null;
                }
            }
        }

        if (links is { Count: > 0 })
        {
            span!.SetTag("kafka.produce.trace_links", links.Count);
        }

        return request.Acks == 0 ? null : response;
    }

    private (ErrorCode Error, string? Message, Partition? Partition, long RequiredOffset) AppendToPartition(
        TopicPartition tp, ReadOnlyMemory<byte>? records, short acks, ProduceResponse.PartitionProduceResponse response,
        List<(TopicPartition Partition, bool HighWatermarkIncreased)> appended, TraceparentLinks? links)
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
            response.LogAppendTimeMs = info.LogAppendTime;
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

    /// <summary>DescribeProducers: the idempotent producers each led partition has state for.</summary>
    public DescribeProducersResponse HandleDescribeProducers(DescribeProducersRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var response = new DescribeProducersResponse();
        foreach (DescribeProducersRequest.TopicRequest topic in request.Topics)
        {
            var topicResponse = new DescribeProducersResponse.TopicResponse { Name = topic.Name };
            response.Topics.Add(topicResponse);
            foreach (int index in topic.PartitionIndexes)
            {
                var partitionResponse = new DescribeProducersResponse.PartitionResponse { PartitionIndex = index };
                topicResponse.Partitions.Add(partitionResponse);
                ErrorCode error = CheckLeader(new TopicPartition(topic.Name, index), -1, out Partition? partition);
                if (error != ErrorCode.None || partition is null)
                {
                    partitionResponse.ErrorCode = (short)error;
                    partitionResponse.ErrorMessage = error == ErrorCode.NotLeaderOrFollower
                        ? $"This broker is not the leader of {topic.Name}-{index}."
                        : $"{topic.Name}-{index} is not hosted here.";
                    continue;
                }

                foreach (ActiveProducer p in partition.Log.ActiveProducers.Values.OrderBy(p => p.ProducerId))
                {
                    partitionResponse.ActiveProducers.Add(new DescribeProducersResponse.ProducerState
                    {
                        ProducerId = p.ProducerId,
                        ProducerEpoch = p.ProducerEpoch,
                        LastSequence = p.LastSequence,
                        LastTimestamp = p.LastTimestamp,
                        CoordinatorEpoch = p.CoordinatorEpoch,
                        CurrentTxnStartOffset = p.CurrentTxnFirstOffset,
                    });
                }
            }
        }

        return response;
    }
}
