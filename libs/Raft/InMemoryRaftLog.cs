namespace Aspire.Kafka.Raft;

/// <summary>
/// An <see cref="IRaftLog"/> in memory, for tests and simulations. It keeps a durable copy
/// that <see cref="Flush"/> updates, so <see cref="Crash"/> can drop whatever was not flushed,
/// as a process crash would. Snapshots are durable when stored.
/// </summary>
public sealed class InMemoryRaftLog : IRaftLog
{
    private readonly List<RaftEntry> _entries = [];
    private readonly List<(int Epoch, long StartOffset)> _epochs = [];
    private long _startOffset;
    private SnapshotId? _snapshotId;
    private ReadOnlyMemory<byte> _snapshotData;

    private readonly List<RaftEntry> _durable = [];
    private long _durableStart;
    private long _dirtyFrom = long.MaxValue;

    /// <summary>The lowest offset truncated to since <see cref="ResetTruncationMark"/> (long.MaxValue when none).</summary>
    public long LowestTruncation { get; private set; } = long.MaxValue;

    public long StartOffset => _startOffset;

    public long EndOffset => _startOffset + _entries.Count;

    public int LastFetchedEpoch => _entries.Count > 0 ? _entries[^1].Epoch : _snapshotId?.Epoch ?? 0;

    public SnapshotId? LatestSnapshotId => _snapshotId;

    public ReadOnlyMemory<byte> SnapshotData => _snapshotData;

    /// <summary>Entries currently in the log (flushed or not).</summary>
    public IReadOnlyList<RaftEntry> Entries => _entries;

    /// <summary>Entries a crash would keep (from <see cref="DurableStartOffset"/>).</summary>
    public IReadOnlyList<RaftEntry> DurableEntries => _durable;

    public long DurableStartOffset => _durableStart;

    /// <summary>Offset up to which the log is durable.</summary>
    public long DurableEndOffset => _durableStart + _durable.Count;

    public int FlushCount { get; private set; }

    public OffsetAndEpoch? EndOffsetForEpoch(int epoch)
    {
        for (int i = _epochs.Count - 1; i >= 0; i--)
        {
            if (_epochs[i].Epoch <= epoch)
            {
                long end = i + 1 < _epochs.Count ? _epochs[i + 1].StartOffset : EndOffset;
                return new OffsetAndEpoch(end, _epochs[i].Epoch);
            }
        }

        if (_snapshotId is { } snapshot && snapshot.Epoch <= epoch)
        {
            return new OffsetAndEpoch(_startOffset, snapshot.Epoch);
        }

        return null;
    }

    public int? EpochAt(long offset)
    {
        if (offset >= _startOffset && offset < EndOffset)
        {
            return _entries[(int)(offset - _startOffset)].Epoch;
        }

        if (_snapshotId is { } snapshot && offset == snapshot.EndOffset - 1)
        {
            return snapshot.Epoch;
        }

        return null;
    }

    public void Append(IReadOnlyList<RaftEntry> entries)
    {
        foreach (RaftEntry entry in entries)
        {
            if (entry.Offset != EndOffset)
            {
                throw new InvalidOperationException($"Append at offset {entry.Offset} but the log ends at {EndOffset}.");
            }

            if (entry.Epoch < LastFetchedEpoch)
            {
                throw new InvalidOperationException($"Append of epoch {entry.Epoch} after epoch {LastFetchedEpoch}.");
            }

            if (_epochs.Count == 0 || _epochs[^1].Epoch != entry.Epoch)
            {
                _epochs.Add((entry.Epoch, entry.Offset));
            }

            _dirtyFrom = Math.Min(_dirtyFrom, entry.Offset);
            _entries.Add(entry);
        }
    }

    public void TruncateTo(long offset)
    {
        if (offset >= EndOffset)
        {
            return;
        }

        if (offset < _startOffset)
        {
            throw new InvalidOperationException($"Truncation to {offset} is below the log start {_startOffset}.");
        }

        _entries.RemoveRange((int)(offset - _startOffset), (int)(EndOffset - offset));
        while (_epochs.Count > 0 && _epochs[^1].StartOffset >= offset)
        {
            _epochs.RemoveAt(_epochs.Count - 1);
        }

        _dirtyFrom = Math.Min(_dirtyFrom, offset);
        LowestTruncation = Math.Min(LowestTruncation, offset);
    }

    public IReadOnlyList<RaftEntry> Read(long fromOffset, int maxBytes)
    {
        if (fromOffset < _startOffset || fromOffset > EndOffset)
        {
            throw new ArgumentOutOfRangeException(nameof(fromOffset), $"Read at {fromOffset} outside [{_startOffset}, {EndOffset}].");
        }

        var result = new List<RaftEntry>();
        int bytes = 0;
        for (long offset = fromOffset; offset < EndOffset; offset++)
        {
            RaftEntry entry = _entries[(int)(offset - _startOffset)];
            if (result.Count > 0 && bytes + entry.SizeInBytes > maxBytes)
            {
                break;
            }

            bytes += entry.SizeInBytes;
            result.Add(entry);
        }

        return result;
    }

    public void Flush()
    {
        FlushCount++;
        if (_dirtyFrom == long.MaxValue)
        {
            return;
        }

        long keep = Math.Max(_dirtyFrom, _durableStart) - _durableStart;
        if (keep < _durable.Count)
        {
            _durable.RemoveRange((int)keep, _durable.Count - (int)keep);
        }

        for (long offset = _durableStart + _durable.Count; offset < EndOffset; offset++)
        {
            _durable.Add(_entries[(int)(offset - _startOffset)]);
        }

        _dirtyFrom = long.MaxValue;
    }

    public void StoreSnapshot(SnapshotId id, ReadOnlyMemory<byte> data)
    {
        if (id.EndOffset > EndOffset || id.EndOffset <= _startOffset)
        {
            throw new InvalidOperationException($"Snapshot {id} is outside the log ({_startOffset}, {EndOffset}].");
        }

        if (EpochAt(id.EndOffset - 1) != id.Epoch)
        {
            throw new InvalidOperationException($"Snapshot {id} does not match the epoch of entry {id.EndOffset - 1}.");
        }

        Flush();
        _snapshotId = id;
        _snapshotData = data.ToArray();
        int removed = (int)(id.EndOffset - _startOffset);
        _entries.RemoveRange(0, removed);
        _durable.RemoveRange(0, Math.Min(removed, _durable.Count));
        _startOffset = id.EndOffset;
        _durableStart = id.EndOffset;
        RebuildEpochs();
    }

    public void InstallSnapshot(SnapshotId id, ReadOnlyMemory<byte> data)
    {
        _snapshotId = id;
        _snapshotData = data.ToArray();
        _entries.Clear();
        _epochs.Clear();
        _durable.Clear();
        _startOffset = id.EndOffset;
        _durableStart = id.EndOffset;
        _dirtyFrom = long.MaxValue;
        LowestTruncation = Math.Min(LowestTruncation, id.EndOffset);
    }

    public bool TryReadSnapshot(SnapshotId id, long position, int maxBytes, out ReadOnlyMemory<byte> chunk, out long size)
    {
        if (_snapshotId != id || position < 0 || position > _snapshotData.Length)
        {
            chunk = default;
            size = _snapshotId == id ? _snapshotData.Length : -1;
            return false;
        }

        size = _snapshotData.Length;
        chunk = _snapshotData.Slice((int)position, (int)Math.Min(maxBytes, _snapshotData.Length - position));
        return true;
    }

    public void ResetTruncationMark() => LowestTruncation = long.MaxValue;

    /// <summary>Drops everything not flushed, as a crash of the process would.</summary>
    public void Crash()
    {
        _entries.Clear();
        _entries.AddRange(_durable);
        _startOffset = _durableStart;
        RebuildEpochs();
        _dirtyFrom = long.MaxValue;
        LowestTruncation = long.MaxValue;
    }

    private void RebuildEpochs()
    {
        _epochs.Clear();
        foreach (RaftEntry entry in _entries)
        {
            if (_epochs.Count == 0 || _epochs[^1].Epoch != entry.Epoch)
            {
                _epochs.Add((entry.Epoch, entry.Offset));
            }
        }
    }
}
