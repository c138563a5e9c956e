using System.Buffers.Binary;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Records;

namespace Aspire.Kafka.Raft;

/// <summary>
/// Maps the core's messages 1:1 to the generated Kafka protocol classes (and back): one topic,
/// <c>__cluster_metadata</c> (topic id <see cref="KafkaUuid.MetadataTopicId"/> from Fetch v13),
/// partition 0; Fetch entries travel as record batches v2 whose partition leader epoch is the
/// entry's epoch, the LeaderChange entry as a control batch (key: version 0, type 2). The host
/// adds the RequestHeader (api key, version, correlation id) and sends the bytes on the
/// controller listener.
/// </summary>
public static class RaftMessageCodec
{
    public const int MetadataPartition = 0;

    /// <summary>ControlRecordType.LEADER_CHANGE.</summary>
    public const short LeaderChangeControlType = 2;

    /// <summary>
    /// The Kafka message for a request of the core, with <paramref name="clusterId"/> and the
    /// destination as voter id, for writing at <paramref name="version"/> (it decides where
    /// Fetch carries the replica id: ReplicaId before v15, ReplicaState from v15).
    /// </summary>
    public static IApiMessage ToRequest(RaftEnvelope envelope, string? clusterId, short version)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        return envelope.Message switch
        {
            VoteRequestData m => new VoteRequest
            {
                ClusterId = clusterId,
                VoterId = envelope.Destination,
                Topics =
                [
                    new VoteRequest.TopicData
                    {
                        TopicName = RaftConfig.MetadataTopicName,
                        Partitions = [new VoteRequest.PartitionData { PartitionIndex = MetadataPartition, CandidateEpoch = m.CandidateEpoch, CandidateId = m.CandidateId, LastOffsetEpoch = m.LastOffsetEpoch, LastOffset = m.LastOffset }],
                    },
                ],
            },
            BeginQuorumEpochRequestData m => new BeginQuorumEpochRequest
            {
                ClusterId = clusterId,
                VoterId = envelope.Destination,
                Topics =
                [
                    new BeginQuorumEpochRequest.TopicData
                    {
                        TopicName = RaftConfig.MetadataTopicName,
                        Partitions = [new BeginQuorumEpochRequest.PartitionData { PartitionIndex = MetadataPartition, LeaderId = m.LeaderId, LeaderEpoch = m.LeaderEpoch }],
                    },
                ],
            },
            EndQuorumEpochRequestData m => new EndQuorumEpochRequest
            {
                ClusterId = clusterId,
                Topics =
                [
                    new EndQuorumEpochRequest.TopicData
                    {
                        TopicName = RaftConfig.MetadataTopicName,
                        Partitions =
                        [
                            new EndQuorumEpochRequest.PartitionData
                            {
                                PartitionIndex = MetadataPartition,
                                LeaderId = m.LeaderId,
                                LeaderEpoch = m.LeaderEpoch,
                                PreferredSuccessors = [.. m.PreferredSuccessors],
                                PreferredCandidates = [.. m.PreferredSuccessors.Select(id => new EndQuorumEpochRequest.ReplicaInfo { CandidateId = id })],
                            },
                        ],
                    },
                ],
            },
            FetchRequestData m => new FetchRequest
            {
                ClusterId = clusterId,
                ReplicaId = version < 15 ? m.ReplicaId : -1,
                ReplicaState = new FetchRequest.ReplicaStateData { ReplicaId = version >= 15 ? m.ReplicaId : -1, ReplicaEpoch = -1 },
                MaxWaitMs = m.MaxWaitMs,
                MinBytes = 0,
                MaxBytes = m.MaxBytes,
                Topics =
                [
                    new FetchRequest.FetchTopic
                    {
                        Topic = RaftConfig.MetadataTopicName,
                        TopicId = KafkaUuid.MetadataTopicId,
                        Partitions =
                        [
                            new FetchRequest.FetchPartition
                            {
                                Partition = MetadataPartition,
                                CurrentLeaderEpoch = m.CurrentLeaderEpoch,
                                FetchOffset = m.FetchOffset,
                                LastFetchedEpoch = m.LastFetchedEpoch,
                                LogStartOffset = -1,
                                PartitionMaxBytes = m.MaxBytes,
                            },
                        ],
                    },
                ],
            },
            FetchSnapshotRequestData m => new FetchSnapshotRequest
            {
                ClusterId = clusterId,
                ReplicaId = m.ReplicaId,
                MaxBytes = m.MaxBytes,
                Topics =
                [
                    new FetchSnapshotRequest.TopicSnapshot
                    {
                        Name = RaftConfig.MetadataTopicName,
                        Partitions =
                        [
                            new FetchSnapshotRequest.PartitionSnapshot
                            {
                                Partition = MetadataPartition,
                                CurrentLeaderEpoch = m.CurrentLeaderEpoch,
                                SnapshotId = new FetchSnapshotRequest.SnapshotId { EndOffset = m.SnapshotId.EndOffset, Epoch = m.SnapshotId.Epoch },
                                Position = m.Position,
                            },
                        ],
                    },
                ],
            },
            _ => throw new ArgumentException($"{envelope.Message.GetType().Name} is not a Raft request.", nameof(envelope)),
        };
    }

    /// <summary>The Kafka message for a response of the core.</summary>
    public static IApiMessage ToResponse(RaftMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message switch
        {
            VoteResponseData m => new VoteResponse
            {
                Topics =
                [
                    new VoteResponse.TopicData
                    {
                        TopicName = RaftConfig.MetadataTopicName,
                        Partitions = [new VoteResponse.PartitionData { PartitionIndex = MetadataPartition, ErrorCode = m.ErrorCode, LeaderId = m.LeaderId, LeaderEpoch = m.LeaderEpoch, VoteGranted = m.VoteGranted }],
                    },
                ],
            },
            BeginQuorumEpochResponseData m => new BeginQuorumEpochResponse
            {
                Topics =
                [
                    new BeginQuorumEpochResponse.TopicData
                    {
                        TopicName = RaftConfig.MetadataTopicName,
                        Partitions = [new BeginQuorumEpochResponse.PartitionData { PartitionIndex = MetadataPartition, ErrorCode = m.ErrorCode, LeaderId = m.LeaderId, LeaderEpoch = m.LeaderEpoch }],
                    },
                ],
            },
            EndQuorumEpochResponseData m => new EndQuorumEpochResponse
            {
                Topics =
                [
                    new EndQuorumEpochResponse.TopicData
                    {
                        TopicName = RaftConfig.MetadataTopicName,
                        Partitions = [new EndQuorumEpochResponse.PartitionData { PartitionIndex = MetadataPartition, ErrorCode = m.ErrorCode, LeaderId = m.LeaderId, LeaderEpoch = m.LeaderEpoch }],
                    },
                ],
            },
            FetchResponseData m => new FetchResponse
            {
                Responses =
                [
                    new FetchResponse.FetchableTopicResponse
                    {
                        Topic = RaftConfig.MetadataTopicName,
                        TopicId = KafkaUuid.MetadataTopicId,
                        Partitions =
                        [
                            new FetchResponse.PartitionData
                            {
                                PartitionIndex = MetadataPartition,
                                ErrorCode = m.ErrorCode,
                                HighWatermark = m.HighWatermark,
                                LogStartOffset = m.LogStartOffset,
                                DivergingEpoch = m.DivergingEpoch is { } d
                                    ? new FetchResponse.EpochEndOffset { Epoch = d.Epoch, EndOffset = d.Offset }
                                    : new FetchResponse.EpochEndOffset(),
                                CurrentLeader = new FetchResponse.LeaderIdAndEpoch { LeaderId = m.LeaderId, LeaderEpoch = m.LeaderEpoch },
                                SnapshotId = m.SnapshotId is { } s
                                    ? new FetchResponse.SnapshotId { EndOffset = s.EndOffset, Epoch = s.Epoch }
                                    : new FetchResponse.SnapshotId(),
                                Records = m.Entries.Count > 0 ? EncodeEntries(m.Entries) : null,
                            },
                        ],
                    },
                ],
            },
            FetchSnapshotResponseData m => new FetchSnapshotResponse
            {
                Topics =
                [
                    new FetchSnapshotResponse.TopicSnapshot
                    {
                        Name = RaftConfig.MetadataTopicName,
                        Partitions =
                        [
                            new FetchSnapshotResponse.PartitionSnapshot
                            {
                                Index = MetadataPartition,
                                ErrorCode = m.ErrorCode,
                                SnapshotId = new FetchSnapshotResponse.SnapshotId { EndOffset = m.SnapshotId.EndOffset, Epoch = m.SnapshotId.Epoch },
                                CurrentLeader = new FetchSnapshotResponse.LeaderIdAndEpoch { LeaderId = m.LeaderId, LeaderEpoch = m.LeaderEpoch },
                                Size = m.Size,
                                Position = m.Position,
                                UnalignedRecords = m.Bytes,
                            },
                        ],
                    },
                ],
            },
            _ => throw new ArgumentException($"{message.GetType().Name} is not a Raft response.", nameof(message)),
        };
    }

    /// <summary>The core's request for a decoded Kafka request from node <paramref name="source"/> (its header's correlation id as given).</summary>
    public static RaftEnvelope FromRequest(IApiMessage request, int source, int destination, long correlationId)
    {
        ArgumentNullException.ThrowIfNull(request);
        RaftMessage message = request switch
        {
            VoteRequest m => Single(m.Topics, t => t.TopicName, t => t.Partitions, p => p.PartitionIndex) is var p
                ? new VoteRequestData(p.CandidateEpoch, p.CandidateId, p.LastOffsetEpoch, p.LastOffset) : null!,
            BeginQuorumEpochRequest m => Single(m.Topics, t => t.TopicName, t => t.Partitions, p => p.PartitionIndex) is var p
                ? new BeginQuorumEpochRequestData(p.LeaderId, p.LeaderEpoch) : null!,
            EndQuorumEpochRequest m => Single(m.Topics, t => t.TopicName, t => t.Partitions, p => p.PartitionIndex) is var p
                ? new EndQuorumEpochRequestData(p.LeaderId, p.LeaderEpoch,
                    p.PreferredCandidates.Count > 0 ? p.PreferredCandidates.Select(c => c.CandidateId).ToArray() : p.PreferredSuccessors.ToArray()) : null!,
            FetchRequest m => FetchPartition(m) is var p
                ? new FetchRequestData(m.ReplicaState.ReplicaId >= 0 ? m.ReplicaState.ReplicaId : m.ReplicaId, p.CurrentLeaderEpoch, p.FetchOffset, p.LastFetchedEpoch, m.MaxWaitMs, Math.Min(m.MaxBytes, p.PartitionMaxBytes)) : null!,
            FetchSnapshotRequest m => Single(m.Topics, t => t.Name, t => t.Partitions, p => p.Partition) is var p
                ? new FetchSnapshotRequestData(m.ReplicaId, p.CurrentLeaderEpoch, new SnapshotId(p.SnapshotId.EndOffset, p.SnapshotId.Epoch), p.Position, m.MaxBytes) : null!,
            _ => throw new ArgumentException($"{request.GetType().Name} is not a Raft request.", nameof(request)),
        };
        return new RaftEnvelope(source, destination, correlationId, message);
    }

    /// <summary>The core's response for a decoded Kafka response from node <paramref name="source"/>.</summary>
    public static RaftEnvelope FromResponse(IApiMessage response, int source, int destination, long correlationId)
    {
        ArgumentNullException.ThrowIfNull(response);
        RaftMessage message = response switch
        {
            VoteResponse m => TopLevelError(m.ErrorCode) ?? (Single(m.Topics, t => t.TopicName, t => t.Partitions, p => p.PartitionIndex) is var p
                ? new VoteResponseData(p.ErrorCode, p.LeaderId, p.LeaderEpoch, p.VoteGranted) : null!),
            BeginQuorumEpochResponse m => Single(m.Topics, t => t.TopicName, t => t.Partitions, p => p.PartitionIndex) is var p
                ? new BeginQuorumEpochResponseData(m.ErrorCode != 0 ? m.ErrorCode : p.ErrorCode, p.LeaderId, p.LeaderEpoch) : null!,
            EndQuorumEpochResponse m => Single(m.Topics, t => t.TopicName, t => t.Partitions, p => p.PartitionIndex) is var p
                ? new EndQuorumEpochResponseData(m.ErrorCode != 0 ? m.ErrorCode : p.ErrorCode, p.LeaderId, p.LeaderEpoch) : null!,
            FetchResponse m => FetchPartition(m) is var p
                ? new FetchResponseData(
                    m.ErrorCode != 0 ? m.ErrorCode : p.ErrorCode,
                    p.CurrentLeader.LeaderId,
                    p.CurrentLeader.LeaderEpoch,
                    p.HighWatermark,
                    p.LogStartOffset,
                    p.DivergingEpoch.EndOffset >= 0 ? new OffsetAndEpoch(p.DivergingEpoch.EndOffset, p.DivergingEpoch.Epoch) : null,
                    p.SnapshotId.EndOffset >= 0 ? new SnapshotId(p.SnapshotId.EndOffset, p.SnapshotId.Epoch) : null,
                    p.Records is { Length: > 0 } records ? DecodeEntries(records) : []) : null!,
            FetchSnapshotResponse m => Single(m.Topics, t => t.Name, t => t.Partitions, p => p.Index) is var p
                ? new FetchSnapshotResponseData(
                    m.ErrorCode != 0 ? m.ErrorCode : p.ErrorCode,
                    p.CurrentLeader.LeaderId,
                    p.CurrentLeader.LeaderEpoch,
                    new SnapshotId(p.SnapshotId.EndOffset, p.SnapshotId.Epoch),
                    p.Size,
                    p.Position,
                    p.UnalignedRecords) : null!,
            _ => throw new ArgumentException($"{response.GetType().Name} is not a Raft response.", nameof(response)),
        };
        return new RaftEnvelope(source, destination, correlationId, message);
    }

    /// <summary>A DescribeQuorumResponse for the core's <see cref="KafkaRaftCore.DescribeQuorum"/>.</summary>
    public static DescribeQuorumResponse ToDescribeQuorumResponse(QuorumDescription description)
    {
        ArgumentNullException.ThrowIfNull(description);
        static DescribeQuorumResponse.ReplicaState Replica(ReplicaDescription r) => new()
        {
            ReplicaId = r.ReplicaId,
            LogEndOffset = r.LogEndOffset,
            LastFetchTimestamp = r.LastFetchTimestamp,
            LastCaughtUpTimestamp = r.LastCaughtUpTimestamp,
        };

        return new DescribeQuorumResponse
        {
            ErrorCode = RaftErrors.None,
            ErrorMessage = null,
            Topics =
            [
                new DescribeQuorumResponse.TopicData
                {
                    TopicName = RaftConfig.MetadataTopicName,
                    Partitions =
                    [
                        new DescribeQuorumResponse.PartitionData
                        {
                            PartitionIndex = MetadataPartition,
                            ErrorCode = description.ErrorCode,
                            ErrorMessage = null,
                            LeaderId = description.LeaderId,
                            LeaderEpoch = description.LeaderEpoch,
                            HighWatermark = description.HighWatermark,
                            CurrentVoters = [.. description.Voters.Select(Replica)],
                            Observers = [.. description.Observers.Select(Replica)],
                        },
                    ],
                },
            ],
        };
    }

    /// <summary>Encodes entries as record batches v2: one batch per run of entries of one epoch and kind.</summary>
    public static byte[] EncodeEntries(IReadOnlyList<RaftEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        using var output = new KafkaWriter(256);
        int i = 0;
        while (i < entries.Count)
        {
            RaftEntry first = entries[i];
            bool control = first.Kind == RaftEntryKind.LeaderChange;
            using var builder = new RecordBatchBuilder(CompressionType.None, first.Offset, partitionLeaderEpoch: first.Epoch, isControl: control);
            int j = i;
            while (j < entries.Count && entries[j].Epoch == first.Epoch && entries[j].Kind == first.Kind)
            {
                if (entries[j].Offset != first.Offset + (j - i))
                {
                    throw new ArgumentException($"Entries are not contiguous at offset {entries[j].Offset}.", nameof(entries));
                }

                byte[]? key = null;
                if (control)
                {
                    key = new byte[4];
                    BinaryPrimitives.WriteInt16BigEndian(key, 0);
                    BinaryPrimitives.WriteInt16BigEndian(key.AsSpan(2), LeaderChangeControlType);
                }

                builder.AppendWithOffset(entries[j].Offset, 0, key, entries[j].Payload);
                j++;
            }

            builder.WriteTo(output);
            i = j;
        }

        return output.ToArray();
    }

    /// <summary>Decodes record batches back into entries (offset, partition leader epoch, value).</summary>
    public static IReadOnlyList<RaftEntry> DecodeEntries(ReadOnlyMemory<byte> records)
    {
        var entries = new List<RaftEntry>();
        var decoded = new List<Record>();
        int position = 0;
        while (position < records.Length)
        {
            if (RecordSet.TryReadBatch(records.Span[position..], out int size) != RecordSetStatus.Complete)
            {
                throw new InvalidDataException($"Fetch records hold an incomplete batch at byte {position}.");
            }

            decoded.Clear();
            RecordBatchHeader header = RecordBatchReader.ReadRecords(records.Slice(position, size), decoded);
            foreach (Record record in decoded)
            {
                entries.Add(new RaftEntry(record.Offset, header.PartitionLeaderEpoch, record.Value ?? ReadOnlyMemory<byte>.Empty,
                    header.IsControl ? RaftEntryKind.LeaderChange : RaftEntryKind.Data));
            }

            position += size;
        }

        return entries;
    }

    private static RaftMessage? TopLevelError(short errorCode) =>
        errorCode == 0 ? null : new VoteResponseData(errorCode, -1, -1, false);

    private static TPartition Single<TTopic, TPartition>(
        List<TTopic> topics, Func<TTopic, string> name, Func<TTopic, List<TPartition>> partitions, Func<TPartition, int> index)
    {
        foreach (TTopic topic in topics)
        {
            if (name(topic) == RaftConfig.MetadataTopicName)
            {
                foreach (TPartition partition in partitions(topic))
                {
                    if (index(partition) == MetadataPartition)
                    {
                        return partition;
                    }
                }
            }
        }

        throw new InvalidDataException($"The message carries no {RaftConfig.MetadataTopicName}-{MetadataPartition} partition.");
    }

    private static FetchRequest.FetchPartition FetchPartition(FetchRequest request)
    {
        foreach (FetchRequest.FetchTopic topic in request.Topics)
        {
            if (topic.Topic == RaftConfig.MetadataTopicName || topic.TopicId == KafkaUuid.MetadataTopicId)
            {
                foreach (FetchRequest.FetchPartition partition in topic.Partitions)
                {
                    if (partition.Partition == MetadataPartition)
                    {
                        return partition;
                    }
                }
            }
        }

        throw new InvalidDataException($"The Fetch carries no {RaftConfig.MetadataTopicName}-{MetadataPartition} partition.");
    }

    private static FetchResponse.PartitionData FetchPartition(FetchResponse response)
    {
        foreach (FetchResponse.FetchableTopicResponse topic in response.Responses)
        {
            if (topic.Topic == RaftConfig.MetadataTopicName || topic.TopicId == KafkaUuid.MetadataTopicId)
            {
                foreach (FetchResponse.PartitionData partition in topic.Partitions)
                {
                    if (partition.PartitionIndex == MetadataPartition)
                    {
                        return partition;
                    }
                }
            }
        }

        throw new InvalidDataException($"The Fetch response carries no {RaftConfig.MetadataTopicName}-{MetadataPartition} partition.");
    }
}
