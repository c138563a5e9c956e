using System.Buffers.Binary;
using System.Globalization;
using Aspire.Kafka.Records;

namespace Aspire.Kafka.Storage;

/// <summary>
/// The producer state of one partition (Kafka's ProducerStateManager): producer id →
/// <see cref="ProducerStateEntry"/> as of <see cref="MapEndOffset"/>, and the
/// <c>&lt;offset&gt;.snapshot</c> files that persist it. Not thread-safe: the owning
/// <see cref="UnifiedLog"/> calls it under its lock.
/// </summary>
public sealed class ProducerStateManager
{
    public const string SnapshotFileSuffix = ".snapshot";

    /// <summary>Kafka's PRODUCER_SNAPSHOT_VERSION.</summary>
    public const short SnapshotVersion = 1;

    // int16 version, uint32 CRC-32C of everything after it, int32 entry count, then the entries.
    private const int CrcOffset = 2;
    private const int EntriesOffset = CrcOffset + 4;
    private const int HeaderSize = EntriesOffset + 4;

    // producer_id int64, epoch int16, last_sequence int32, last_offset int64, offset_delta int32,
    // timestamp int64, coordinator_epoch int32, current_txn_first_offset int64.
    private const int EntrySize = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8;

    private readonly Dictionary<long, ProducerStateEntry> _producers = [];
    private readonly SortedSet<long> _snapshots = [];
    private readonly TopicPartition _topicPartition;
    private readonly IStorageLogger _logger;
    private long _lastMapOffset;
    private long _lastSnapOffset;

    /// <summary>Creates the manager for <paramref name="dir"/> and lists the snapshot files there.</summary>
    public ProducerStateManager(TopicPartition topicPartition, string dir, long producerIdExpirationMs, IStorageLogger? logger = null)
    {
        _topicPartition = topicPartition;
        Dir = dir;
        ProducerIdExpirationMs = producerIdExpirationMs;
        _logger = logger ?? NullStorageLogger.Instance;
        foreach (var file in Directory.EnumerateFiles(dir, "*" + SnapshotFileSuffix))
        {
            string name = Path.GetFileName(file);
            if (name.Length == 20 + SnapshotFileSuffix.Length
                && long.TryParse(name.AsSpan(0, 20), NumberStyles.None, CultureInfo.InvariantCulture, out long offset))
            {
                _snapshots.Add(offset);
            }
        }
    }

    public string Dir { get; internal set; }

    /// <summary>producer.id.expiration.ms: producers idle longer are removed.</summary>
    public long ProducerIdExpirationMs { get; }

    /// <summary>The state holds every batch below this offset.</summary>
    public long MapEndOffset => _lastMapOffset;

    public IReadOnlyDictionary<long, ProducerStateEntry> ActiveProducers => _producers;

    public bool IsEmpty => _producers.Count == 0;

    /// <summary>Offsets of the snapshot files, ascending.</summary>
    public IReadOnlyCollection<long> SnapshotOffsets => _snapshots;

    public long? LatestSnapshotOffset => _snapshots.Count == 0 ? null : _snapshots.Max;

    public static string SnapshotFileName(long offset) => FileUtil.SegmentFileName(offset, SnapshotFileSuffix);

    public string SnapshotPath(long offset) => Path.Combine(Dir, SnapshotFileName(offset));

    public ProducerStateEntry? LastEntry(long producerId) => _producers.GetValueOrDefault(producerId);

    public ProducerAppendInfo PrepareUpdate(long producerId, AppendOrigin origin) =>
        new(_topicPartition, producerId, LastEntry(producerId) ?? new ProducerStateEntry(producerId), origin);

    /// <summary>
    /// The <see cref="ProducerAppendInfo"/> of <paramref name="producerId"/> among the ones one append
    /// (or one rebuild) collects in <paramref name="pending"/>, made and added on first use.
    /// </summary>
    internal ProducerAppendInfo PendingUpdate(ref List<ProducerAppendInfo>? pending, long producerId, AppendOrigin origin)
    {
        pending ??= [];
        foreach (var info in pending)
        {
            if (info.ProducerId == producerId)
            {
                return info;
            }
        }

        var created = PrepareUpdate(producerId, origin);
        pending.Add(created);
        return created;
    }

    /// <summary>Applies the changes <see cref="PendingUpdate"/> collected (after the batches were written), then moves the map end to <paramref name="nextOffset"/>.</summary>
    internal void Update(List<ProducerAppendInfo>? pending, long nextOffset)
    {
        if (pending is not null)
        {
            foreach (var info in pending)
            {
                Update(info);
            }
        }

        UpdateMapEndOffset(nextOffset);
    }

    /// <summary>Applies an append's changes (after its batches were written).</summary>
    public void Update(ProducerAppendInfo appendInfo)
    {
        ArgumentNullException.ThrowIfNull(appendInfo);
        if (appendInfo.ProducerId == RecordBatch.NoProducerId)
        {
            throw new ArgumentException($"Invalid producer id {appendInfo.ProducerId} for {_topicPartition}.", nameof(appendInfo));
        }

        if (_producers.TryGetValue(appendInfo.ProducerId, out var current))
        {
            current.Update(appendInfo.UpdatedEntry);
        }
        else
        {
            _producers[appendInfo.ProducerId] = appendInfo.UpdatedEntry;
        }
    }

    public void UpdateMapEndOffset(long offset) => _lastMapOffset = offset;

    /// <summary>
    /// Writes a snapshot at <see cref="MapEndOffset"/> unless the latest one is already there
    /// (temp file, rename). With <paramref name="sync"/> the file and the directory are fsynced
    /// first; without, the caller fsyncs the returned file later (a torn one fails its CRC at
    /// load and is rebuilt). Returns the path written, or null.
    /// </summary>
    public string? TakeSnapshot(bool sync = true)
    {
        if (_lastMapOffset <= _lastSnapOffset)
        {
            return null;
        }

        string path = SnapshotPath(_lastMapOffset);
        FileUtil.WriteFileAtomically(path, Serialize(_producers.Values), sync);
        _snapshots.Add(_lastMapOffset);
        _lastSnapOffset = _lastMapOffset;
        _logger.Log(StorageLogLevel.Debug, string.Create(CultureInfo.InvariantCulture,
            $"Wrote producer snapshot of {_topicPartition} at offset {_lastMapOffset} with {_producers.Count} producer ids."));
        return path;
    }

    /// <summary>
    /// Kafka's truncateAndReload: deletes the snapshots above <paramref name="logEndOffset"/>;
    /// unless the state is already at it, clears the state and loads the newest valid snapshot
    /// (corrupt ones are deleted). The caller then reads the batches from <see cref="MapEndOffset"/>
    /// to <paramref name="logEndOffset"/>.
    /// </summary>
    public void TruncateAndReload(long logStartOffset, long logEndOffset, long nowMs)
    {
        foreach (long offset in _snapshots.Where(o => o > logEndOffset).ToList())
        {
            RemoveAndDeleteSnapshot(offset);
        }

        if (logEndOffset != _lastMapOffset)
        {
            _producers.Clear();
            LoadFromSnapshot(logStartOffset, nowMs);
        }
        else
        {
            OnLogStartOffsetIncremented(logStartOffset);
        }
    }

    /// <summary>Forgets every producer and deletes every snapshot (the log restarts empty at <paramref name="offset"/>).</summary>
    public void TruncateFullyAndStartAt(long offset)
    {
        _producers.Clear();
        foreach (long snapshot in _snapshots.ToList())
        {
            RemoveAndDeleteSnapshot(snapshot);
        }

        _lastSnapOffset = 0;
        _lastMapOffset = offset;
    }

    /// <summary>
    /// The log start offset moved (retention, DeleteRecords): producers whose last batch is below
    /// it are gone from the log and are evicted (their next append may start at any sequence).
    /// </summary>
    public void OnLogStartOffsetIncremented(long logStartOffset)
    {
        List<long>? evicted = null;
        foreach (var (producerId, entry) in _producers)
        {
            if (entry.LastDataOffset < logStartOffset)
            {
                (evicted ??= []).Add(producerId);
            }
        }

        if (evicted is not null)
        {
            foreach (long producerId in evicted)
            {
                _producers.Remove(producerId);
            }
        }

        if (_lastMapOffset < logStartOffset)
        {
            _lastMapOffset = logStartOffset;
        }

        _lastSnapOffset = LatestSnapshotOffset ?? logStartOffset;
    }

    /// <summary>Removes the producers idle for producer.id.expiration.ms or longer; returns how many.</summary>
    public int RemoveExpiredProducers(long nowMs)
    {
        var expired = _producers.Where(p => IsProducerExpired(nowMs, p.Value)).Select(p => p.Key).ToList();
        foreach (long producerId in expired)
        {
            _producers.Remove(producerId);
        }

        return expired.Count;
    }

    /// <summary>Deletes the snapshot files below <paramref name="offset"/> now.</summary>
    public void DeleteSnapshotsBefore(long offset)
    {
        foreach (long snapshot in _snapshots.Where(o => o < offset).ToList())
        {
            RemoveAndDeleteSnapshot(snapshot);
        }
    }

    /// <summary>
    /// Forgets the snapshots below <paramref name="offset"/> and renames their files to
    /// <c>.deleted</c> (removed later with the segments they belonged to); returns the new paths.
    /// </summary>
    public IReadOnlyList<string> RemoveAndMarkSnapshotsForDeletion(long offset)
    {
        var marked = new List<string>();
        foreach (long snapshot in _snapshots.Where(o => o < offset).ToList())
        {
            _snapshots.Remove(snapshot);
            string path = SnapshotPath(snapshot);
            try
            {
                File.Move(path, path + LogSegment.DeletedFileSuffix, overwrite: true);
                marked.Add(path + LogSegment.DeletedFileSuffix);
            }
            catch (FileNotFoundException)
            {
                // Already gone.
            }
        }

        return marked;
    }

    /// <summary>Reads a snapshot file (Kafka's format).</summary>
    /// <exception cref="CorruptSnapshotException">unknown version, bad CRC or length.</exception>
    public static List<ProducerStateEntry> ReadSnapshot(string path) => Deserialize(File.ReadAllBytes(path), path);

    /// <summary>Kafka's snapshot layout, big-endian: version, CRC-32C, entry count, entries (ordered by producer id here).</summary>
    public static byte[] Serialize(IEnumerable<ProducerStateEntry> entries)
    {
        var list = entries.OrderBy(e => e.ProducerId).ToList();
        var bytes = new byte[HeaderSize + (list.Count * EntrySize)];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteInt16BigEndian(span, SnapshotVersion);
        BinaryPrimitives.WriteInt32BigEndian(span[EntriesOffset..], list.Count);
        int position = HeaderSize;
        foreach (var entry in list)
        {
            var e = span[position..];
            BinaryPrimitives.WriteInt64BigEndian(e, entry.ProducerId);
            BinaryPrimitives.WriteInt16BigEndian(e[8..], entry.ProducerEpoch);
            BinaryPrimitives.WriteInt32BigEndian(e[10..], entry.LastSeq);
            BinaryPrimitives.WriteInt64BigEndian(e[14..], entry.LastDataOffset);
            BinaryPrimitives.WriteInt32BigEndian(e[22..], entry.LastOffsetDelta);
            BinaryPrimitives.WriteInt64BigEndian(e[26..], entry.LastTimestamp);
            BinaryPrimitives.WriteInt32BigEndian(e[34..], entry.CoordinatorEpoch);
            BinaryPrimitives.WriteInt64BigEndian(e[38..], entry.CurrentTxnFirstOffset);
            position += EntrySize;
        }

        BinaryPrimitives.WriteUInt32BigEndian(span[CrcOffset..], Crc32C.Compute(span[EntriesOffset..]));
        return bytes;
    }

    public static List<ProducerStateEntry> Deserialize(ReadOnlySpan<byte> bytes, string source = "snapshot")
    {
        if (bytes.Length < HeaderSize)
        {
            throw new CorruptSnapshotException($"Producer snapshot {source} is {bytes.Length} bytes, shorter than its {HeaderSize}-byte header.");
        }

        short version = BinaryPrimitives.ReadInt16BigEndian(bytes);
        if (version != SnapshotVersion)
        {
            throw new CorruptSnapshotException($"Producer snapshot {source} contained an unknown file version {version}.");
        }

        uint stored = BinaryPrimitives.ReadUInt32BigEndian(bytes[CrcOffset..]);
        uint computed = Crc32C.Compute(bytes[EntriesOffset..]);
        if (stored != computed)
        {
            throw new CorruptSnapshotException($"Producer snapshot {source} is corrupt (CRC is no longer valid). Stored crc: {stored}. Computed crc: {computed}.");
        }

        int count = BinaryPrimitives.ReadInt32BigEndian(bytes[EntriesOffset..]);
        if (count < 0 || bytes.Length != HeaderSize + ((long)count * EntrySize))
        {
            throw new CorruptSnapshotException($"Producer snapshot {source} claims {count} entries but is {bytes.Length} bytes.");
        }

        var entries = new List<ProducerStateEntry>(count);
        for (int i = 0; i < count; i++)
        {
            var e = bytes[(HeaderSize + (i * EntrySize))..];
            long producerId = BinaryPrimitives.ReadInt64BigEndian(e);
            short epoch = BinaryPrimitives.ReadInt16BigEndian(e[8..]);
            int lastSeq = BinaryPrimitives.ReadInt32BigEndian(e[10..]);
            long lastOffset = BinaryPrimitives.ReadInt64BigEndian(e[14..]);
            int offsetDelta = BinaryPrimitives.ReadInt32BigEndian(e[22..]);
            long timestamp = BinaryPrimitives.ReadInt64BigEndian(e[26..]);
            int coordinatorEpoch = BinaryPrimitives.ReadInt32BigEndian(e[34..]);
            long txnFirstOffset = BinaryPrimitives.ReadInt64BigEndian(e[38..]);
            BatchMetadata? batch = lastOffset >= 0 ? new BatchMetadata(lastSeq, lastOffset, offsetDelta, timestamp) : null;
            entries.Add(new ProducerStateEntry(producerId, epoch, coordinatorEpoch, timestamp, txnFirstOffset < 0 ? -1 : txnFirstOffset, batch));
        }

        return entries;
    }

    private bool IsProducerExpired(long nowMs, ProducerStateEntry entry) =>
        entry.CurrentTxnFirstOffset < 0 && nowMs - entry.LastTimestamp >= ProducerIdExpirationMs;

    private void LoadFromSnapshot(long logStartOffset, long nowMs)
    {
        while (LatestSnapshotOffset is { } offset)
        {
            string path = SnapshotPath(offset);
            try
            {
                foreach (var entry in ReadSnapshot(path))
                {
                    // Producers whose last batch is below the log start are gone from the log (evicted).
                    if (!IsProducerExpired(nowMs, entry) && entry.LastDataOffset >= logStartOffset)
                    {
                        _producers[entry.ProducerId] = entry;
                    }
                }

                _logger.Log(StorageLogLevel.Information, string.Create(CultureInfo.InvariantCulture,
                    $"Loaded producer state of {_topicPartition} from snapshot {path}: {_producers.Count} producer ids."));
                _lastSnapOffset = offset;
                _lastMapOffset = offset;
                return;
            }
            catch (Exception e) when (e is CorruptSnapshotException or IOException)
            {
                _logger.Log(StorageLogLevel.Warning, $"Failed to load producer snapshot from {path}: {e.Message} Deleting it; the state is rebuilt from an older snapshot or the log.");
                _producers.Clear();
                RemoveAndDeleteSnapshot(offset);
            }
        }

        _lastSnapOffset = logStartOffset;
        _lastMapOffset = logStartOffset;
    }

    private void RemoveAndDeleteSnapshot(long offset)
    {
        _snapshots.Remove(offset);
        File.Delete(SnapshotPath(offset));
    }
}
