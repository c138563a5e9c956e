using Aspire.Kafka.Metadata;

namespace Aspire.Kafka.Controller;

/// <summary>
/// The records one operation is producing, and the image they lead to: every record is replayed
/// into a delta as it is added, so later decisions of the same operation see earlier ones.
/// </summary>
internal sealed class ControllerWriteContext
{
    private readonly MetadataDelta _delta;
    private readonly List<ApiMessageAndVersion> _records = [];
    private MetadataImage? _current;

    public ControllerWriteContext(MetadataImage image, long baseOffset)
    {
        Base = image;
        BaseOffset = baseOffset;
        _delta = new MetadataDelta(image);
        _current = image;
    }

    public MetadataImage Base { get; }

    public long BaseOffset { get; }

    public IReadOnlyList<ApiMessageAndVersion> Records => _records;

    /// <summary>The offset the next added record will get.</summary>
    public long NextOffset => BaseOffset + _records.Count;

    /// <summary>The image with every record added so far.</summary>
    public MetadataImage Image => _current ??= _delta.Apply(new MetadataProvenance(NextOffset - 1, Base.Provenance.LastContainedEpoch));

    public void Add(ApiMessageAndVersion record)
    {
        _delta.Replay(record);
        _records.Add(record);
        _current = null;
    }

    public void AddRange(IEnumerable<ApiMessageAndVersion> records)
    {
        foreach (ApiMessageAndVersion record in records)
        {
            Add(record);
        }
    }
}
