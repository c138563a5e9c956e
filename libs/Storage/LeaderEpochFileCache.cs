namespace Aspire.Kafka.Storage;

/// <summary>
/// Leader epoch → first offset of that epoch, as Kafka's LeaderEpochFileCache, persisted in the
/// partition's <c>leader-epoch-checkpoint</c> on every change. Answers OffsetForLeaderEpoch
/// (<see cref="EndOffsetFor"/>) and follows truncations of the log at either end.
/// </summary>
public sealed class LeaderEpochFileCache
{
    public const int UndefinedEpoch = -1;
    public const long UndefinedEpochOffset = -1;

    private readonly Lock _lock = new();
    private readonly List<EpochEntry> _epochs;
    private readonly LeaderEpochCheckpointFile _checkpoint;

    public LeaderEpochFileCache(string path)
    {
        _checkpoint = new LeaderEpochCheckpointFile(path);
        _epochs = _checkpoint.Read();
        for (int i = 1; i < _epochs.Count; i++)
        {
            if (_epochs[i].Epoch <= _epochs[i - 1].Epoch || _epochs[i].StartOffset < _epochs[i - 1].StartOffset)
            {
                throw new IOException($"Leader epoch checkpoint {path} is out of order at {_epochs[i]}.");
            }
        }
    }

    public string Path => _checkpoint.Path;

    public IReadOnlyList<EpochEntry> Epochs
    {
        get
        {
            lock (_lock)
            {
                return [.. _epochs];
            }
        }
    }

    /// <summary>The latest epoch, or null when none is known.</summary>
    public int? LatestEpoch
    {
        get
        {
            lock (_lock)
            {
                return _epochs.Count == 0 ? null : _epochs[^1].Epoch;
            }
        }
    }

    public EpochEntry? LatestEntry
    {
        get
        {
            lock (_lock)
            {
                return _epochs.Count == 0 ? null : _epochs[^1];
            }
        }
    }

    /// <summary>
    /// Records that <paramref name="epoch"/> starts at <paramref name="startOffset"/>. Ignored
    /// unless the epoch is newer than the latest one (entries whose offsets would be at or after
    /// this one with a lower epoch are replaced, as Kafka does).
    /// </summary>
    public void Assign(int epoch, long startOffset)
    {
        if (epoch < 0)
        {
            return;
        }

        lock (_lock)
        {
            if (_epochs.Count > 0)
            {
                var latest = _epochs[^1];
                if (epoch <= latest.Epoch)
                {
                    return;
                }

                // A newer epoch starting at or before an older one's start removes the older entries.
                _epochs.RemoveAll(e => e.StartOffset >= startOffset);
            }

            _epochs.Add(new EpochEntry(epoch, startOffset));
            Persist();
        }
    }

    /// <summary>
    /// For OffsetForLeaderEpoch: the largest epoch &lt;= <paramref name="requestedEpoch"/> and the
    /// offset where the next epoch starts (the log end offset for the latest epoch); (-1, -1)
    /// for an undefined or unknown newer epoch; (requested, first start) below the first epoch.
    /// </summary>
    public (int Epoch, long EndOffset) EndOffsetFor(int requestedEpoch, long logEndOffset)
    {
        lock (_lock)
        {
            if (requestedEpoch == UndefinedEpoch || _epochs.Count == 0)
            {
                return (UndefinedEpoch, UndefinedEpochOffset);
            }

            if (requestedEpoch == _epochs[^1].Epoch)
            {
                return (requestedEpoch, logEndOffset);
            }

            int higher = _epochs.FindIndex(e => e.Epoch > requestedEpoch);
            if (higher < 0)
            {
                // Newer than anything this log has seen.
                return (UndefinedEpoch, UndefinedEpochOffset);
            }

            if (higher == 0)
            {
                return (requestedEpoch, _epochs[0].StartOffset);
            }

            return (_epochs[higher - 1].Epoch, _epochs[higher].StartOffset);
        }
    }

    /// <summary>The epoch that wrote <paramref name="offset"/>, or null.</summary>
    public int? EpochForOffset(long offset)
    {
        lock (_lock)
        {
            int? result = null;
            foreach (var e in _epochs)
            {
                if (e.StartOffset <= offset)
                {
                    result = e.Epoch;
                }
                else
                {
                    break;
                }
            }

            return result;
        }
    }

    /// <summary>Drops entries starting at or after <paramref name="endOffset"/> (the log was truncated to it).</summary>
    public void TruncateFromEnd(long endOffset)
    {
        lock (_lock)
        {
            if (_epochs.RemoveAll(e => e.StartOffset >= endOffset) > 0)
            {
                Persist();
            }
        }
    }

    /// <summary>
    /// The log now starts at <paramref name="startOffset"/>: entries wholly before it go, the
    /// one covering it is moved to start there.
    /// </summary>
    public void TruncateFromStart(long startOffset)
    {
        lock (_lock)
        {
            int covering = _epochs.FindLastIndex(e => e.StartOffset <= startOffset);
            if (covering < 0 || (covering == 0 && _epochs[0].StartOffset == startOffset))
            {
                return;
            }

            var moved = _epochs[covering] with { StartOffset = startOffset };
            _epochs.RemoveRange(0, covering + 1);
            _epochs.Insert(0, moved);
            Persist();
        }
    }

    /// <summary>Removes every entry (the log was truncated fully).</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _epochs.Clear();
            Persist();
        }
    }

    internal void ChangePath(string path)
    {
        lock (_lock)
        {
            _checkpoint.Path = path;
        }
    }

    private void Persist() => _checkpoint.Write(_epochs);
}
