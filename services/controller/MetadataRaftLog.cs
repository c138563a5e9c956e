using System.Globalization;
using Aspire.Kafka.Raft;
using Aspire.Kafka.Storage;

namespace Aspire.Kafka.ControllerService;

/// <summary>
/// The Raft log of the controller on the storage engine: <c>__cluster_metadata-0</c> as a
/// <see cref="UnifiedLog"/> in Kafka's format. Each <see cref="Append"/> writes the entries as
/// record batches (one per run of one epoch and kind; the LeaderChange entry as a control batch)
/// whose partition leader epoch is the Raft epoch, so the leader-epoch cache
/// (<c>leader-epoch-checkpoint</c>) gives each epoch's end offset. Snapshots are
/// <c>&lt;endOffset:20&gt;-&lt;epoch:10&gt;.checkpoint</c> files next to the segments, as Kafka names them.
/// </summary>
public sealed class MetadataRaftLog : IRaftLog, IDisposable
{
    public const string DirectoryName = "__cluster_metadata-0";
    private const string SnapshotSuffix = ".checkpoint";

    private readonly UnifiedLog _log;
    private readonly string _logDir;
    private SnapshotId? _snapshotId;
    private bool _disposed;

    private MetadataRaftLog(string logDir, string dir, UnifiedLog log, SnapshotId? snapshotId, bool hadCleanShutdown)
    {
        _logDir = logDir;
        Dir = dir;
        _log = log;
        _snapshotId = snapshotId;
        HadCleanShutdown = hadCleanShutdown;
    }

    /// <summary>True when the log dir held a <c>.kafka_cleanshutdown</c> marker at open: the recovery scan was skipped.</summary>
    public bool HadCleanShutdown { get; }

    /// <summary>What loading the segments found (segments recovered, bytes truncated).</summary>
    public LogLoadResult LoadResult => _log.LoadResult;

    /// <summary>The partition directory (holds the segments, leader-epoch-checkpoint, quorum-state and snapshots).</summary>
    public string Dir { get; }

    public long StartOffset => _log.LogStartOffset;

    public long EndOffset => _log.LogEndOffset;

    public int LastFetchedEpoch => _log.LogEndOffset > _log.LogStartOffset
        ? _log.LeaderEpochCache.LatestEpoch ?? 0
        : _snapshotId?.Epoch ?? 0;

    public SnapshotId? LatestSnapshotId => _snapshotId;

    /// <summary>
    /// Opens (recovering if needed) or creates the metadata log under <paramref name="metadataLogDir"/>.
    /// Segments roll at <paramref name="segmentBytes"/> / <paramref name="segmentMs"/>
    /// (metadata.log.segment.bytes / .ms); only segments wholly below the latest snapshot are
    /// deleted (no time or size retention: the snapshot is what allows deletion). A
    /// <c>.kafka_cleanshutdown</c> marker in <paramref name="metadataLogDir"/> (written by
    /// <see cref="Dispose"/>) skips the recovery scan and is deleted once the log is loaded.
    /// </summary>
    public static MetadataRaftLog Open(string metadataLogDir, int segmentBytes = 1024 * 1024 * 1024, long segmentMs = 7L * 24 * 60 * 60 * 1000)
    {
        string dir = Path.Combine(metadataLogDir, DirectoryName);
        Directory.CreateDirectory(dir);
        bool clean = CleanShutdownFile.Exists(metadataLogDir);
        SnapshotId? snapshot = Directory.EnumerateFiles(dir, "*" + SnapshotSuffix)
            .Select(f => TryParseSnapshotName(Path.GetFileName(f)))
            .Where(s => s is not null)
            .OrderBy(s => s!.Value.EndOffset)
            .LastOrDefault();
        var config = new LogConfig
        {
            SegmentBytes = segmentBytes,
            SegmentMs = segmentMs,
            RetentionMs = LogConfig.Unlimited,
            RetentionBytes = LogConfig.Unlimited,
            MaxIndexSize = 1024 * 1024,
            // A proposal of many records is one batch: do not refuse what the leader wrote.
            MaxMessageBytes = int.MaxValue,
        };
        UnifiedLog log = UnifiedLog.Open(dir, config, new UnifiedLogOptions { HadCleanShutdown = clean });
        if (clean)
        {
            // From here on a crash must scan again.
            CleanShutdownFile.Delete(metadataLogDir);
        }

        if (snapshot is { } id && log.LogStartOffset < id.EndOffset)
        {
            if (log.LogEndOffset <= id.EndOffset)
            {
                log.TruncateFullyAndStartAt(id.EndOffset);
            }
            else
            {
                log.UpdateHighWatermark(id.EndOffset);
                log.MaybeIncrementLogStartOffset(id.EndOffset);
            }
        }

        return new MetadataRaftLog(metadataLogDir, dir, log, snapshot, clean);
    }

    public OffsetAndEpoch? EndOffsetForEpoch(int epoch)
    {
        IReadOnlyList<EpochEntry> epochs = _log.LeaderEpochCache.Epochs;
        for (int i = epochs.Count - 1; i >= 0; i--)
        {
            if (epochs[i].Epoch <= epoch)
            {
                long end = i + 1 < epochs.Count ? epochs[i + 1].StartOffset : EndOffset;
                return new OffsetAndEpoch(end, epochs[i].Epoch);
            }
        }

        if (_snapshotId is { } snapshot && snapshot.Epoch <= epoch)
        {
            return new OffsetAndEpoch(StartOffset, snapshot.Epoch);
        }

        return null;
    }

    public int? EpochAt(long offset)
    {
        if (offset >= StartOffset && offset < EndOffset)
        {
            return _log.LeaderEpochCache.EpochForOffset(offset);
        }

        if (_snapshotId is { } snapshot && offset == snapshot.EndOffset - 1)
        {
            return snapshot.Epoch;
        }

        return null;
    }

    public void Append(IReadOnlyList<RaftEntry> entries)
    {
        if (entries.Count == 0)
        {
            return;
        }

        if (entries[0].Offset != EndOffset)
        {
            throw new InvalidOperationException($"Append at offset {entries[0].Offset} but the metadata log ends at {EndOffset}.");
        }

        // Offsets and epochs are the Raft core's: written as they are (a follower's append).
        _log.AppendAsFollower(RaftMessageCodec.EncodeEntries(entries));
    }

    public void TruncateTo(long offset)
    {
        if (offset >= EndOffset)
        {
            return;
        }

        if (offset < StartOffset)
        {
            throw new InvalidOperationException($"Truncation to {offset} is below the log start {StartOffset}.");
        }

        // The storage engine truncates whole batches: when `offset` falls inside a batch, cut
        // at that batch's base and write its entries below `offset` back as one batch.
        List<RaftEntry> batch = ReadBatchesFrom(offset, 1);
        if (batch.Count == 0 || batch[0].Offset >= offset)
        {
            _log.TruncateTo(offset);
            return;
        }

        int epoch = batch[0].Epoch;
        RaftEntryKind kind = batch[0].Kind;
        var kept = batch.TakeWhile(e => e.Offset < offset && e.Epoch == epoch && e.Kind == kind).ToList();
        _log.TruncateTo(kept[0].Offset);
        if (_log.LogEndOffset != kept[0].Offset)
        {
            throw new InvalidOperationException($"Truncation left the metadata log at {_log.LogEndOffset}, expected {kept[0].Offset}.");
        }

        _log.AppendAsFollower(RaftMessageCodec.EncodeEntries(kept));
    }

    public IReadOnlyList<RaftEntry> Read(long fromOffset, int maxBytes)
    {
        if (fromOffset < StartOffset || fromOffset > EndOffset)
        {
            throw new ArgumentOutOfRangeException(nameof(fromOffset), $"Read at {fromOffset} outside [{StartOffset}, {EndOffset}].");
        }

        return ReadBatchesFrom(fromOffset, maxBytes).Where(e => e.Offset >= fromOffset).ToList();
    }

    public void Flush() => _log.Flush();

    public void StoreSnapshot(SnapshotId id, ReadOnlyMemory<byte> data)
    {
        if (id.EndOffset > EndOffset || id.EndOffset <= StartOffset)
        {
            throw new InvalidOperationException($"Snapshot {id} is outside the log ({StartOffset}, {EndOffset}].");
        }

        Flush();
        WriteSnapshotFile(id, data);
        _snapshotId = id;
        _log.UpdateHighWatermark(id.EndOffset);
        _log.MaybeIncrementLogStartOffset(id.EndOffset);
        _log.DeleteOldSegments();
        DeleteOlderSnapshots(id);
    }

    public void InstallSnapshot(SnapshotId id, ReadOnlyMemory<byte> data)
    {
        WriteSnapshotFile(id, data);
        _snapshotId = id;
        _log.TruncateFullyAndStartAt(id.EndOffset);
        DeleteOlderSnapshots(id);
    }

    public bool TryReadSnapshot(SnapshotId id, long position, int maxBytes, out ReadOnlyMemory<byte> chunk, out long size)
    {
        string path = SnapshotPath(id);
        if (_snapshotId != id || !File.Exists(path))
        {
            chunk = default;
            size = -1;
            return false;
        }

        using FileStream file = File.OpenRead(path);
        size = file.Length;
        if (position < 0 || position > size)
        {
            chunk = default;
            return false;
        }

        var buffer = new byte[(int)Math.Min(maxBytes, size - position)];
        file.Position = position;
        file.ReadExactly(buffer);
        chunk = buffer;
        return true;
    }

    /// <summary>Flushes and closes the log, then writes the <c>.kafka_cleanshutdown</c> marker (a clean stop).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _log.Flush();
        _log.Close();
        CleanShutdownFile.Write(_logDir);
    }

    /// <summary>Closes the log without the clean-shutdown marker (the loop failed: the next start scans).</summary>
    public void Abandon()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _log.Close();
    }

    private List<RaftEntry> ReadBatchesFrom(long offset, int maxBytes)
    {
        if (offset >= EndOffset)
        {
            return [];
        }

        FetchDataInfo info = _log.Read(offset, Math.Max(maxBytes, 1), maxOffset: null, minOneMessage: true);
        return [.. RaftMessageCodec.DecodeEntries(info.Records.ToArray())];
    }

    private string SnapshotPath(SnapshotId id) =>
        Path.Combine(Dir, string.Create(CultureInfo.InvariantCulture, $"{id.EndOffset:D20}-{id.Epoch:D10}{SnapshotSuffix}"));

    private void WriteSnapshotFile(SnapshotId id, ReadOnlyMemory<byte> data)
    {
        string path = SnapshotPath(id);
        string temp = path + ".part";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write))
        {
            file.Write(data.Span);
            file.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }

    private void DeleteOlderSnapshots(SnapshotId keep)
    {
        foreach (string file in Directory.EnumerateFiles(Dir, "*" + SnapshotSuffix))
        {
            if (TryParseSnapshotName(Path.GetFileName(file)) is { } id && id != keep)
            {
                File.Delete(file);
            }
        }
    }

    private static SnapshotId? TryParseSnapshotName(string name)
    {
        if (!name.EndsWith(SnapshotSuffix, StringComparison.Ordinal))
        {
            return null;
        }

        string[] parts = name[..^SnapshotSuffix.Length].Split('-');
        return parts.Length == 2
            && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long end)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int epoch)
            ? new SnapshotId(end, epoch)
            : null;
    }
}
