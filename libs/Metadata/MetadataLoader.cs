namespace Aspire.Kafka.Metadata;

/// <summary>One committed record of the metadata log with its position.</summary>
public readonly record struct MetadataLogRecord(long Offset, int Epoch, ApiMessageAndVersion Record)
{
    /// <summary>Decodes a record value from <c>__cluster_metadata</c> (see <see cref="MetadataRecordSerde"/>).</summary>
    public static MetadataLogRecord Decode(long offset, int epoch, ReadOnlyMemory<byte> value) =>
        new(offset, epoch, MetadataRecordSerde.Read(value));
}

/// <summary>The result of applying committed records: the image before, the delta, and the new image.</summary>
public sealed record MetadataUpdate(MetadataImage Previous, MetadataDelta Delta, MetadataImage Image)
{
    /// <summary>Leadership changes for a broker (become leader / become follower / stop replica).</summary>
    public LocalReplicaChanges LocalChanges(int brokerId) => Delta.GetLocalChanges(brokerId);

    /// <summary><c>__consumer_offsets</c> partitions a coordinator gained or lost.</summary>
    public CoordinatorChanges CoordinatorChanges(int nodeId) => Delta.GetCoordinatorChanges(nodeId);
}

/// <summary>
/// How a broker, a coordinator or a standby controller follows the metadata log (Kafka's
/// MetadataLoader): load a snapshot, then apply committed records batch by batch; each call
/// returns the new image and the delta to publish. Single-threaded: call from one loop.
/// </summary>
public sealed class MetadataLoader
{
    public MetadataLoader(MetadataImage? initial = null)
    {
        Image = initial ?? MetadataImage.Empty;
    }

    /// <summary>The image of everything applied so far.</summary>
    public MetadataImage Image { get; private set; }

    /// <summary>Replaces the image with a snapshot's records (which describe the whole state at <paramref name="provenance"/>).</summary>
    public MetadataUpdate LoadSnapshot(IEnumerable<ApiMessageAndVersion> records, MetadataProvenance provenance)
    {
        ArgumentNullException.ThrowIfNull(records);
        MetadataImage previous = Image;
        // The delta is computed against the previous image so publishers see what changed,
        // but the new image contains only what the snapshot holds.
        var fresh = new MetadataDelta(MetadataImage.Empty);
        foreach (ApiMessageAndVersion record in records)
        {
            fresh.Replay(record);
        }

        MetadataImage image = fresh.Apply(provenance);
        var delta = new MetadataDelta(previous);
        foreach (ApiMessageAndVersion record in DiffRecords(previous, image))
        {
            delta.Replay(record);
        }

        Image = image;
        return new MetadataUpdate(previous, delta, image);
    }

    /// <summary>Applies committed records in offset order; records at or below the image's offset are skipped (already applied).</summary>
    public MetadataUpdate Apply(IEnumerable<MetadataLogRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        MetadataImage previous = Image;
        var delta = new MetadataDelta(previous);
        MetadataProvenance provenance = previous.Provenance;
        foreach (MetadataLogRecord record in records)
        {
            if (record.Offset <= provenance.LastContainedOffset)
            {
                continue;
            }

            delta.Replay(record.Record);
            provenance = new MetadataProvenance(record.Offset, record.Epoch);
        }

        Image = delta.Apply(provenance);
        return new MetadataUpdate(previous, delta, Image);
    }

    /// <summary>Records that turn <paramref name="from"/> into <paramref name="to"/> for the delta a snapshot load publishes.</summary>
    private static IEnumerable<ApiMessageAndVersion> DiffRecords(MetadataImage from, MetadataImage to)
    {
        foreach (TopicImage topic in from.Topics.TopicsById.Values)
        {
            if (to.Topics.GetTopic(topic.Id) is null)
            {
                yield return RecordVersions.Of(new Protocol.MetadataRecords.RemoveTopicRecord { TopicId = topic.Id });
            }
        }

        foreach (ApiMessageAndVersion record in to.ToRecords())
        {
            switch (record.Message)
            {
                case Protocol.MetadataRecords.TopicRecord t when from.Topics.GetTopic(t.TopicId) is not null:
                    continue;
                case Protocol.MetadataRecords.PartitionRecord p when from.Topics.GetPartition(p.TopicId, p.PartitionId) is { } old
                    && old.Equals(PartitionRegistration.FromRecord(p)):
                    continue;
                default:
                    yield return record;
                    break;
            }
        }
    }
}
