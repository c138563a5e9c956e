using System.Collections.Concurrent;
using Aspire.Kafka.Storage;

namespace Aspire.Kafka.Broker;

/// <summary>
/// An operation that waits for a condition or a timeout (Kafka's DelayedOperation): completed
/// exactly once, either when <see cref="TryComplete"/> finds its condition met or when it expires.
/// </summary>
internal abstract class DelayedOperation
{
    private int _completed;
    private ITimer? _timer;

    public bool IsCompleted => Volatile.Read(ref _completed) != 0;

    /// <summary>Checks the condition; calls <see cref="ForceComplete"/> and returns true when met.</summary>
    public abstract bool TryComplete();

    /// <summary>Completes now (condition met or timed out); false when it was already completed.</summary>
    public bool ForceComplete()
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return false;
        }

        _timer?.Dispose();
        OnComplete();
        return true;
    }

    /// <summary>Builds the result: runs once, on the thread that completed the operation.</summary>
    protected abstract void OnComplete();

    internal void StartTimer(TimeProvider time, TimeSpan delay)
    {
        var timer = time.CreateTimer(static state => ((DelayedOperation)state!).ForceComplete(), this, delay, Timeout.InfiniteTimeSpan);
        _timer = timer;
        if (IsCompleted)
        {
            timer.Dispose();
        }
    }
}

/// <summary>
/// Operations waiting on partitions (Kafka's DelayedOperationPurgatory): an operation is checked
/// when it is added and again whenever something happens to one of its keys (an append, a high
/// watermark move, a leadership change), and expires after its timeout.
/// </summary>
internal sealed class DelayedOperationPurgatory<T>(string name, TimeProvider time)
    where T : DelayedOperation
{
    private readonly ConcurrentDictionary<TopicPartition, List<T>> _watchers = new();

    public string Name { get; } = name;

    /// <summary>Operations currently watched (completed ones are purged lazily).</summary>
    public int Watched => _watchers.Values.Sum(l => { lock (l) { return l.Count(o => !o.IsCompleted); } });

    /// <summary>Completes the operation at once if it can, else watches it on <paramref name="keys"/> until done or <paramref name="timeout"/>.</summary>
    public bool TryCompleteElseWatch(T operation, IReadOnlyCollection<TopicPartition> keys, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(operation);
        ArgumentNullException.ThrowIfNull(keys);
        if (operation.TryComplete())
        {
            return true;
        }

        foreach (TopicPartition key in keys)
        {
            List<T> list = _watchers.GetOrAdd(key, _ => []);
            lock (list)
            {
                list.RemoveAll(o => o.IsCompleted);
                list.Add(operation);
            }
        }

        // Something may have happened between the first check and the watch.
        if (operation.TryComplete())
        {
            return true;
        }

        operation.StartTimer(time, timeout <= TimeSpan.Zero ? TimeSpan.FromMilliseconds(1) : timeout);
        return false;
    }

    /// <summary>Checks the operations watching <paramref name="key"/>; returns how many completed.</summary>
    public int CheckAndComplete(TopicPartition key)
    {
        if (!_watchers.TryGetValue(key, out List<T>? list))
        {
            return 0;
        }

        T[] snapshot;
        lock (list)
        {
            list.RemoveAll(o => o.IsCompleted);
            snapshot = [.. list];
        }

        int completed = 0;
        foreach (T operation in snapshot)
        {
            if (!operation.IsCompleted && operation.TryComplete())
            {
                completed++;
            }
        }

        return completed;
    }

    /// <summary>Completes every operation now (shutdown).</summary>
    public void CompleteAll()
    {
        foreach (List<T> list in _watchers.Values)
        {
            T[] snapshot;
            lock (list)
            {
                snapshot = [.. list];
                list.Clear();
            }

            foreach (T operation in snapshot)
            {
                operation.ForceComplete();
            }
        }
    }
}
