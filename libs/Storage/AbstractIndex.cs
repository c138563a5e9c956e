using Microsoft.Win32.SafeHandles;

namespace Aspire.Kafka.Storage;

/// <summary>
/// What OffsetIndex and TimeIndex share: fixed-size big-endian entries kept in memory exactly as
/// they are laid out in the file (loaded lazily on first use), a file preallocated to the
/// maximum index size (sparse) and trimmed to its entries when the segment stops being active.
/// New entries are written to the file in bulk (every <see cref="WriteBehindEntries"/> entries,
/// on flush, trim and close): an index is rebuilt from the log after an unclean shutdown anyway.
/// </summary>
public abstract class AbstractIndex : IDisposable
{
    private const int WriteBehindEntries = 512;

    private readonly Lock _lock = new();
    private byte[] _data = [];
    private int _entries;
    private int _persisted;
    private bool _loaded;
    private bool _disposed;

    protected AbstractIndex(string path, long baseOffset, int maxIndexSize, int entrySize, bool preallocate)
    {
        FilePath = path;
        BaseOffset = baseOffset;
        EntrySize = entrySize;
        MaxEntries = Math.Max(2, maxIndexSize / entrySize);
        if (!File.Exists(path) || new FileInfo(path).Length == 0)
        {
            using (var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete))
            {
                if (preallocate)
                {
                    stream.SetLength((long)MaxEntries * EntrySize);
                }
            }

            _loaded = true;
        }
    }

    public string FilePath { get; private set; }

    public long BaseOffset { get; }

    public int MaxEntries { get; }

    protected int EntrySize { get; }

    /// <summary>Entries that make the index full (Kafka keeps one slot of the time index for the roll entry).</summary>
    protected virtual int FullAt => MaxEntries;

    public int Entries
    {
        get
        {
            lock (_lock)
            {
                EnsureLoaded();
                return _entries;
            }
        }
    }

    public bool IsFull
    {
        get
        {
            lock (_lock)
            {
                EnsureLoaded();
                return _entries >= FullAt;
            }
        }
    }

    /// <summary>Bytes in memory for the entries (0 until loaded).</summary>
    public long MemoryBytes
    {
        get
        {
            lock (_lock)
            {
                return _data.Length;
            }
        }
    }

    public bool IsLoaded
    {
        get
        {
            lock (_lock)
            {
                return _loaded;
            }
        }
    }

    /// <summary>
    /// Cheap check at open without loading the entries: whole entries only, and the last one
    /// within the log. Throws <see cref="CorruptIndexException"/>.
    /// </summary>
    public void SanityCheckFile(long logSize)
    {
        lock (_lock)
        {
            if (_loaded)
            {
                Validate(_data.AsSpan(0, _entries * EntrySize), logSize);
                return;
            }

            long length = new FileInfo(FilePath).Length;
            if (length % EntrySize != 0)
            {
                throw new CorruptIndexException($"Index file {FilePath} is {length} bytes, not a multiple of its entry size {EntrySize}.");
            }

            if (length == 0)
            {
                return;
            }

            Span<byte> last = stackalloc byte[EntrySize];
            using var handle = File.OpenHandle(FilePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (RandomAccess.Read(handle, last, length - EntrySize) != EntrySize)
            {
                throw new CorruptIndexException($"Index file {FilePath}: cannot read its last entry.");
            }

            ValidateLastEntry(last, logSize);
        }
    }

    /// <summary>Loads and fully validates the entries; throws <see cref="CorruptIndexException"/>.</summary>
    public void Load(long logSize)
    {
        lock (_lock)
        {
            EnsureLoaded();
            Validate(_data.AsSpan(0, _entries * EntrySize), logSize);
        }
    }

    /// <summary>Releases the in-memory entries when all of them are in the file; they load again on next use.</summary>
    public void Unload()
    {
        lock (_lock)
        {
            if (_loaded && _persisted == _entries && !_disposed)
            {
                long length = new FileInfo(FilePath).Length;
                if (length == (long)_entries * EntrySize)
                {
                    _data = [];
                    _entries = 0;
                    _persisted = 0;
                    _loaded = false;
                }
            }
        }
    }

    /// <summary>Drops every entry (before a rebuild).</summary>
    public void Reset()
    {
        lock (_lock)
        {
            _loaded = true;
            _entries = 0;
            _persisted = 0;
            _data = [];
            using var stream = new FileStream(FilePath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            stream.SetLength(0);
            stream.SetLength((long)MaxEntries * EntrySize);
        }
    }

    /// <summary>The last entry without loading the whole index (read from the end of a trimmed file), or false when empty.</summary>
    protected bool TryPeekLast(Span<byte> entry)
    {
        lock (_lock)
        {
            if (_loaded)
            {
                if (_entries == 0)
                {
                    return false;
                }

                _data.AsSpan((_entries - 1) * EntrySize, EntrySize).CopyTo(entry);
                return true;
            }

            using var handle = File.OpenHandle(FilePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            long length = RandomAccess.GetLength(handle);
            if (length < EntrySize || length % EntrySize != 0)
            {
                EnsureLoaded();
                return false;
            }

            return RandomAccess.Read(handle, entry, length - EntrySize) == EntrySize;
        }
    }

    public void Flush()
    {
        lock (_lock)
        {
            WritePending(fsync: true);
        }
    }

    /// <summary>Cuts the file to its entries (the segment stopped being active, or the log closes).</summary>
    public void TrimToValidSize()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            EnsureLoaded();
            WritePending(fsync: false);
            using var stream = new FileStream(FilePath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            stream.SetLength((long)_entries * EntrySize);
            stream.Flush(flushToDisk: true);
        }
    }

    /// <summary>Grows the file back to the maximum size (a trimmed segment becoming active again).</summary>
    public void ResizeToMax()
    {
        lock (_lock)
        {
            EnsureLoaded();
            WritePending(fsync: false);
            using var stream = new FileStream(FilePath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            stream.SetLength((long)MaxEntries * EntrySize);
        }
    }

    public void RenameTo(string newPath)
    {
        lock (_lock)
        {
            if (File.Exists(FilePath))
            {
                File.Move(FilePath, newPath, overwrite: true);
            }

            FilePath = newPath;
        }
    }

    public void DeleteFile()
    {
        lock (_lock)
        {
            _disposed = true;
            File.Delete(FilePath);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            if (_loaded && File.Exists(FilePath))
            {
                WritePending(fsync: false);
            }

            _disposed = true;
            _data = [];
        }

        GC.SuppressFinalize(this);
    }

    // --- for the derived indexes (all called under the lock through WithEntries / AppendEntry) ---

    /// <summary>The lock guarding the entries; hot lookups take it directly to avoid delegates.</summary>
    protected Lock SyncRoot => _lock;

    /// <summary>The loaded entries (call with <see cref="SyncRoot"/> held).</summary>
    protected ReadOnlySpan<byte> LoadedEntriesLocked(out int entries)
    {
        EnsureLoaded();
        entries = _entries;
        return _data.AsSpan(0, _entries * EntrySize);
    }

    /// <summary>Runs <paramref name="func"/> over the loaded entries.</summary>
    protected T WithEntries<T>(Func<ReadOnlySpan<byte>, int, T> func)
    {
        lock (_lock)
        {
            EnsureLoaded();
            return func(_data.AsSpan(0, _entries * EntrySize), _entries);
        }
    }

    /// <summary>Checks <paramref name="accept"/> against the current entries, then appends <paramref name="entry"/>.</summary>
    protected void AppendEntry(ReadOnlySpan<byte> entry, bool skipFullCheck, Func<ReadOnlySpan<byte>, int, bool> accept)
    {
        lock (_lock)
        {
            var data = PrepareAppendLocked(skipFullCheck, out int entries);
            if (accept(data, entries))
            {
                AddEntryLocked(entry);
            }
        }
    }

    /// <summary>
    /// First half of an append without a delegate (call with <see cref="SyncRoot"/> held): throws
    /// when disposed or full, and returns the loaded entries for the caller's ordering checks.
    /// </summary>
    protected ReadOnlySpan<byte> PrepareAppendLocked(bool skipFullCheck, out int entries)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        EnsureLoaded();
        if (!skipFullCheck && _entries >= FullAt)
        {
            throw new InvalidOperationException($"Index {FilePath} is full ({_entries} entries).");
        }

        if (_entries >= MaxEntries)
        {
            throw new InvalidOperationException($"Index {FilePath} has no room for another entry.");
        }

        entries = _entries;
        return _data.AsSpan(0, _entries * EntrySize);
    }

    /// <summary>Second half: stores the entry (written to the file with the next batch of entries).</summary>
    protected void AddEntryLocked(ReadOnlySpan<byte> entry)
    {
        int needed = (_entries + 1) * EntrySize;
        if (needed > _data.Length)
        {
            Array.Resize(ref _data, Math.Min(Math.Max(needed, Math.Max(256, _data.Length * 2)), MaxEntries * EntrySize));
        }

        entry.CopyTo(_data.AsSpan(_entries * EntrySize));
        _entries++;
        if (_entries - _persisted >= WriteBehindEntries)
        {
            WritePending(fsync: false);
        }
    }

    /// <summary>Keeps the first <paramref name="entries"/> entries.</summary>
    protected void TruncateToEntries(int entries)
    {
        lock (_lock)
        {
            EnsureLoaded();
            if (entries >= _entries)
            {
                return;
            }

            _entries = entries;
            if (_persisted > entries)
            {
                _persisted = entries;

                // Zero the stale tail so that a crash cannot resurrect truncated entries.
                long from = (long)entries * EntrySize;
                long length = new FileInfo(FilePath).Length;
                if (length > from)
                {
                    using var stream = new FileStream(FilePath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
                    stream.SetLength(from);
                    stream.SetLength(Math.Max(length, (long)MaxEntries * EntrySize));
                }
            }
        }
    }

    /// <summary>The smallest slot whose key is &gt;= <paramref name="target"/>, or entries.</summary>
    protected static int CeilingSlot(ReadOnlySpan<byte> data, int entries, long target, Func<ReadOnlySpan<byte>, int, long> keyAt)
    {
        int lo = 0;
        int hi = entries;
        while (lo < hi)
        {
            int mid = (int)(((long)lo + hi) >> 1);
            if (keyAt(data, mid) < target)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>Throws <see cref="CorruptIndexException"/> when the entries are out of order or outside the log.</summary>
    protected abstract void Validate(ReadOnlySpan<byte> entries, long logSize);

    protected abstract void ValidateLastEntry(ReadOnlySpan<byte> entry, long logSize);

    private void EnsureLoaded()
    {
        if (_loaded)
        {
            return;
        }

        ObjectDisposedException.ThrowIf(_disposed, this);
        using var handle = File.OpenHandle(FilePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        long length = RandomAccess.GetLength(handle);
        if (length % EntrySize != 0)
        {
            throw new CorruptIndexException($"Index file {FilePath} is {length} bytes, not a multiple of its entry size {EntrySize}.");
        }

        if (length > (long)MaxEntries * EntrySize)
        {
            length = (long)MaxEntries * EntrySize;
        }

        var data = new byte[length];
        int read = 0;
        while (read < data.Length)
        {
            int n = RandomAccess.Read(handle, data.AsSpan(read), read);
            if (n <= 0)
            {
                break;
            }

            read += n;
        }

        _data = data;
        _entries = read / EntrySize;
        _persisted = _entries;
        _loaded = true;
    }

    private void WritePending(bool fsync)
    {
        if (!_loaded || _disposed)
        {
            return;
        }

        if (_persisted == _entries && !fsync)
        {
            return;
        }

        using var handle = File.OpenHandle(FilePath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        if (_persisted < _entries)
        {
            RandomAccess.Write(handle, _data.AsSpan(_persisted * EntrySize, (_entries - _persisted) * EntrySize), (long)_persisted * EntrySize);
            _persisted = _entries;
        }

        if (fsync)
        {
            using var stream = new FileStream(handle, FileAccess.ReadWrite, 0);
            stream.Flush(flushToDisk: true);
        }
    }
}
