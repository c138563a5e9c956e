using System.Globalization;

namespace Aspire.Kafka.Storage;

/// <summary>
/// Segment deletion for one <see cref="UnifiedLog"/>: the retention rules (Kafka's
/// deleteRetentionMsBreachedSegments, deleteRetentionSizeBreachedSegments,
/// deleteLogStartOffsetBreachedSegments) and the asynchronous delete of removed segments (renamed
/// to <c>.deleted</c> at once, files removed after file.delete.delay.ms, Kafka's
/// LocalLog.deleteSegmentFiles). The log removes the segments from its list and moves its offsets
/// under its lock; this type decides which leading segments go and what happens to their files.
/// <see cref="Schedule"/>, <see cref="PendingDeletions"/> and <see cref="BeginClose"/> are called
/// under the log's lock.
/// </summary>
internal sealed class SegmentDeleter : IDisposable
{
    private readonly UnifiedLog _log;
    private readonly TimeProvider _time;
    private readonly IStorageLogger _logger;
    private readonly List<Task> _pending = [];
    private readonly CancellationTokenSource _closing = new();

    internal SegmentDeleter(UnifiedLog log, TimeProvider time, IStorageLogger logger)
    {
        _log = log;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// Applies the retention rules in Kafka's order — retention.ms, then retention.bytes (both only
    /// with cleanup.policy=delete), then the log start offset — each deleting a run of leading
    /// inactive segments. Returns the number of segments deleted.
    /// </summary>
    internal int DeleteOldSegments()
    {
        var config = _log.Config;
        int deleted = 0;
        if (config.Delete)
        {
            if (config.RetentionMs >= 0)
            {
                long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
                deleted += _log.DeleteLeadingSegments((s, _) => now - s.LargestTimestamp > config.RetentionMs,
                    $"retention time {config.RetentionMs} ms breached");
            }

            if (config.RetentionBytes >= 0)
            {
                long diff = _log.Size - config.RetentionBytes;
                deleted += _log.DeleteLeadingSegments((s, _) =>
                {
                    if (diff - s.Size >= 0)
                    {
                        diff -= s.Size;
                        return true;
                    }

                    return false;
                }, $"retention size {config.RetentionBytes} bytes breached");
            }
        }

        deleted += _log.DeleteLeadingSegments((_, next) => next.BaseOffset <= _log.LogStartOffset, "below the log start offset");
        return deleted;
    }

    /// <summary>
    /// How many leading segments of <paramref name="segments"/> may go: each must match
    /// <paramref name="predicate"/> (given the segment and the next one), the active segment never
    /// goes, and neither does a segment whose next one starts above <paramref name="highWatermark"/>.
    /// </summary>
    internal static int CountDeletable(LogSegment[] segments, long highWatermark, Func<LogSegment, LogSegment, bool> predicate)
    {
        int count = 0;
        while (count < segments.Length - 1)
        {
            var segment = segments[count];
            var next = segments[count + 1];
            if (next.BaseOffset <= highWatermark && predicate(segment, next))
            {
                count++;
            }
            else
            {
                break;
            }
        }

        return count;
    }

    /// <summary>
    /// Renames removed segments to .deleted now (unless <paramref name="alreadyRenamed"/>) and removes
    /// their files, and those of <paramref name="snapshots"/>, after file.delete.delay.ms — at once
    /// when the log closes meanwhile. Readers holding a <see cref="FileRecords"/> keep working until then.
    /// </summary>
    internal void Schedule(IReadOnlyList<LogSegment> segments, string reason, bool alreadyRenamed = false, IReadOnlyList<string>? snapshots = null)
    {
        if (segments.Count == 0)
        {
            return;
        }

        snapshots ??= [];

        foreach (var segment in segments)
        {
            if (!alreadyRenamed)
            {
                segment.ChangeFileSuffixes(string.Empty, LogSegment.DeletedFileSuffix);
            }

            _logger.Log(StorageLogLevel.Information, string.Create(CultureInfo.InvariantCulture,
                $"Deleting segment {segment.BaseOffset} of {_log.TopicPartition} ({segment.Size} bytes): {reason}."));
        }

        long delay = _log.Config.FileDeleteDelayMs;
        var token = _closing.Token;
        var task = Task.Run(async () =>
        {
            if (delay > 0)
            {
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(delay), _time, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Closing: delete now.
                }
            }

            foreach (var segment in segments)
            {
                try
                {
                    segment.DeleteFiles();
                }
                catch (IOException e)
                {
                    _logger.Log(StorageLogLevel.Warning, $"Could not delete {segment.LogFilePath}: {e.Message}", e);
                }
            }

            foreach (var snapshot in snapshots)
            {
                try
                {
                    File.Delete(snapshot);
                }
                catch (IOException e)
                {
                    _logger.Log(StorageLogLevel.Warning, $"Could not delete {snapshot}: {e.Message}", e);
                }
            }
        });
        _pending.RemoveAll(t => t.IsCompleted);
        _pending.Add(task);
    }

    /// <summary>The deletions not finished yet.</summary>
    internal Task[] PendingDeletions() => [.. _pending];

    /// <summary>Ends the delays (files go now) and returns the deletions to wait for.</summary>
    internal Task[] BeginClose()
    {
        Task[] pending = [.. _pending];
        _closing.Cancel();
        return pending;
    }

    public void Dispose() => _closing.Dispose();
}
