using Aspire.Kafka.Protocol;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Coordinator.Groups;

/// <summary>
/// The pending writes of one owned <c>__consumer_offsets</c> partition, batched as Kafka's
/// coordinator runtime batches them. A write is queued (<see cref="Enqueue"/>) under the partition's
/// lock, in the order the coordinator decided it; at most one append is in flight; everything queued
/// meanwhile is the next append: one <see cref="IGroupLog.AppendAsync"/> (one Produce, acks=all, one
/// record batch) with the records of every waiting write. When it is durable (or failed), each
/// write's continuation runs in queue order under the partition's lock, then its task completes
/// with NONE or the error its clients should see.
/// </summary>
/// <remarks>
/// No linger: an append starts as soon as the previous one ended, so a lone writer waits only for its
/// own write; under load the batch grows by itself to what arrived during one round trip.
/// </remarks>
internal sealed class PartitionAppender(GroupPartition partition, PartitionAppender.Options options)
{
    private List<PendingWrite> _queue = [];
    private bool _inFlight;

    /// <summary>What the appenders of one coordinator share: the log, the timeout, fencing, counters.</summary>
    internal sealed class Options(IGroupLog log, int commitTimeoutMs, ILogger logger, Action<GroupPartition> onFenced)
    {
        private long _appends;
        private long _writes;

        public IGroupLog Log { get; } = log;

        /// <summary>offsets.commit.timeout.ms: an append slower than this fails its writes (COORDINATOR_NOT_AVAILABLE).</summary>
        public int CommitTimeoutMs { get; } = commitTimeoutMs;

        public ILogger Logger { get; } = logger;

        /// <summary>A newer owner wrote the partition: unload it.</summary>
        public Action<GroupPartition> OnFenced { get; } = onFenced;

        /// <summary>Appends to <c>__consumer_offsets</c> that succeeded (each one Produce request).</summary>
        public long Appends => Interlocked.Read(ref _appends);

        /// <summary>Writes (commits, group records…) those appends carried.</summary>
        public long Writes => Interlocked.Read(ref _writes);

        public void Count(int writes)
        {
            Interlocked.Increment(ref _appends);
            Interlocked.Add(ref _writes, writes);
        }
    }

    private sealed record PendingWrite(IReadOnlyList<GroupLogRecord> Records, Action<ErrorCode>? OnWritten, TaskCompletionSource<ErrorCode> Done);

    /// <summary>
    /// Queues <paramref name="records"/>; call under the partition's lock, then <see cref="Flush"/>
    /// after releasing it. <paramref name="onWritten"/> runs under the partition's lock once the
    /// outcome is known (before the task completes): NONE when the records are durable.
    /// </summary>
    public Task<ErrorCode> Enqueue(IReadOnlyList<GroupLogRecord> records, Action<ErrorCode>? onWritten = null)
    {
        if (partition.Unloaded)
        {
            onWritten?.Invoke(ErrorCode.NotCoordinator);
            return Task.FromResult(ErrorCode.NotCoordinator);
        }

        var write = new PendingWrite(records, onWritten, new TaskCompletionSource<ErrorCode>(TaskCreationOptions.RunContinuationsAsynchronously));
        _queue.Add(write);
        return write.Done.Task;
    }

    /// <summary>Starts an append of everything queued unless one is in flight (its end starts the next). Call without the partition's lock.</summary>
    public void Flush()
    {
        List<PendingWrite> batch;
        lock (partition.Gate)
        {
            if (_inFlight || _queue.Count == 0)
            {
                return;
            }

            _inFlight = true;
            batch = _queue;
            _queue = [];
        }

        _ = WriteAsync(batch);
    }

    private async Task WriteAsync(List<PendingWrite> batch)
    {
        while (true)
        {
            ErrorCode error = await AppendAsync(batch).ConfigureAwait(false);
            lock (partition.Gate)
            {
                if (error == ErrorCode.None && partition.Unloaded)
                {
                    error = ErrorCode.NotCoordinator;
                }

                foreach (PendingWrite write in batch)
                {
                    Complete(write, error);
                }
            }

            foreach (PendingWrite write in batch)
            {
                write.Done.TrySetResult(error);
            }

            lock (partition.Gate)
            {
                if (_queue.Count == 0)
                {
                    _inFlight = false;
                    return;
                }

                batch = _queue;
                _queue = [];
            }
        }
    }

    private void Complete(PendingWrite write, ErrorCode error)
    {
        try
        {
            write.OnWritten?.Invoke(error);
        }
        catch (Exception e)
        {
            // A continuation is coordinator code; one that throws must not leave the others unanswered.
            options.Logger.LogError(e, "Completing a write to __consumer_offsets-{Partition} failed.", partition.Id);
        }
    }

    /// <summary>One append of the batch's records within offsets.commit.timeout.ms; NONE, or the error the clients should see.</summary>
    private async Task<ErrorCode> AppendAsync(List<PendingWrite> batch)
    {
        lock (partition.Gate)
        {
            if (partition.Unloaded)
            {
                return ErrorCode.NotCoordinator;
            }
        }

        List<GroupLogRecord> records = batch.Count == 1 ? [.. batch[0].Records] : [.. batch.SelectMany(w => w.Records)];
        using var timeout = new CancellationTokenSource(options.CommitTimeoutMs);
        try
        {
            await options.Log.AppendAsync(partition.Id, partition.Epoch, records, timeout.Token).ConfigureAwait(false);
            options.Count(batch.Count);
            return ErrorCode.None;
        }
        catch (CoordinatorFencedException e)
        {
            // A newer owner wrote the partition (the controller moved it while this node could not
            // hear it): stop serving its groups; clients look the coordinator up again.
            options.Logger.LogWarning("{Message} Unloading it.", e.Message);
            options.OnFenced(partition);
            return ErrorCode.NotCoordinator;
        }
        catch (Exception e)
        {
            options.Logger.LogWarning("Appending {Count} records to __consumer_offsets-{Partition} failed: {Message}", records.Count, partition.Id, e.Message);
            lock (partition.Gate)
            {
                return partition.Unloaded ? ErrorCode.NotCoordinator : ErrorCode.CoordinatorNotAvailable;
            }
        }
    }
}
