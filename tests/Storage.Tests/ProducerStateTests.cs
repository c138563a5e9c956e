using System.Buffers.Binary;
using System.Text;
using Aspire.Kafka.Records;

namespace Aspire.Kafka.Storage.Tests;

/// <summary>Idempotent producers: Kafka's sequence and epoch rules on the leader, and the producer state's life in the log.</summary>
public sealed class ProducerStateTests
{
    private const long Pid = 1000;

    /// <summary>A batch of an idempotent producer: <paramref name="count"/> records from sequence <paramref name="seq"/>.</summary>
    internal static byte[] P(long producerId, short epoch, int seq, int count = 1, long timestamp = 1_700_000_000_000, bool transactional = false,
        Func<int, string?>? key = null, int padding = 0)
    {
        using var builder = new RecordBatchBuilder(CompressionType.None, 0, producerId, epoch, seq, isTransactional: transactional);
        for (int i = 0; i < count; i++)
        {
            string? k = key?.Invoke(i);
            builder.Append(timestamp + i, k is null ? null : Encoding.UTF8.GetBytes(k), Encoding.UTF8.GetBytes($"p{producerId}-{seq}-{i}" + new string('.', padding)));
        }

        return builder.Build();
    }

    private static (UnifiedLog Log, ManualTime Time) Open(TempDir dir, LogConfig? config = null, bool clean = true, ListLogger? logger = null, ManualTime? time = null)
    {
        time ??= new ManualTime();
        var log = UnifiedLog.Open(dir.Sub("idem-0"), config ?? Batches.SmallConfig(segmentBytes: 1 << 20), new UnifiedLogOptions
        {
            TimeProvider = time,
            HadCleanShutdown = clean,
            Logger = logger ?? new ListLogger(),
        });
        return (log, time);
    }

    private static (short Epoch, int LastSeq, long LastOffset) State(UnifiedLog log, long producerId = Pid)
    {
        var p = log.ActiveProducers[producerId];
        return (p.ProducerEpoch, p.LastSequence, p.LastOffset);
    }

    // ------------------------------------------------------------------ sequence rules

    [Fact]
    public void In_order_batches_are_appended_and_tracked()
    {
        using var dir = new TempDir();
        var (log, _) = Open(dir);
        using var _l = log;
        Assert.Equal(0, log.AppendAsLeader(P(Pid, 0, 0, count: 3), 0).FirstOffset);
        var second = log.AppendAsLeader(P(Pid, 0, 3, count: 2), 0);
        Assert.Equal((3L, 4L, false), (second.FirstOffset, second.LastOffset, second.IsDuplicate));
        Assert.Equal(((short)0, 4, 4L), State(log));
        log.AppendAsLeader(Batches.Make(2, 1), 0); // no producer id: no state
        Assert.Single(log.ActiveProducers);
    }

    [Fact]
    public void A_sequence_gap_is_rejected_and_nothing_is_written()
    {
        using var dir = new TempDir();
        var (log, _) = Open(dir);
        using var _l = log;
        log.AppendAsLeader(P(Pid, 0, 0, count: 2), 0);
        long size = log.Size;
        Assert.Throws<OutOfOrderSequenceException>(() => log.AppendAsLeader(P(Pid, 0, 3), 0));
        Assert.Throws<OutOfOrderSequenceException>(() => log.AppendAsLeader(P(Pid, 0, 1), 0)); // overlaps, not a retained batch
        Assert.Equal(2, log.LogEndOffset);
        Assert.Equal(size, log.Size);
        Assert.Equal(((short)0, 1, 1L), State(log));

        // A gap in the second batch of one append: the whole append is refused, the first batch too.
        byte[] both = [.. P(Pid, 0, 2), .. P(Pid, 0, 9)];
        Assert.Throws<OutOfOrderSequenceException>(() => log.AppendAsLeader(both, 0));
        Assert.Equal(2, log.LogEndOffset);
        Assert.Equal(size, log.Size);
    }

    [Fact]
    public void A_retry_of_any_of_the_last_five_batches_returns_the_original_offsets_and_writes_nothing()
    {
        using var dir = new TempDir();
        var (log, _) = Open(dir);
        using var _l = log;
        var originals = new List<LogAppendInfo>();
        for (int i = 0; i < 6; i++)
        {
            log.AppendAsLeader(Batches.Make(1, 1), 0); // other writers in between
            originals.Add(log.AppendAsLeader(P(Pid, 0, i * 2, count: 2), 0));
        }

        long end = log.LogEndOffset;
        long size = log.Size;
        for (int i = 1; i < 6; i++)
        {
            var retry = log.AppendAsLeader(P(Pid, 0, i * 2, count: 2), 0);
            Assert.True(retry.IsDuplicate);
            Assert.Equal((originals[i].FirstOffset, originals[i].LastOffset), (retry.FirstOffset, retry.LastOffset));
        }

        Assert.Equal(end, log.LogEndOffset);
        Assert.Equal(size, log.Size);

        // The sixth batch back is no longer retained: an out-of-order sequence, as in Kafka.
        Assert.Throws<OutOfOrderSequenceException>(() => log.AppendAsLeader(P(Pid, 0, 0, count: 2), 0));
        Assert.Equal(end, log.LogEndOffset);

        // A retry with the same first sequence but another length is not a duplicate.
        Assert.Throws<OutOfOrderSequenceException>(() => log.AppendAsLeader(P(Pid, 0, 10, count: 1), 0));
    }

    [Fact]
    public void A_lower_epoch_is_fenced_and_a_new_epoch_must_start_at_sequence_zero()
    {
        using var dir = new TempDir();
        var (log, _) = Open(dir);
        using var _l = log;
        log.AppendAsLeader(P(Pid, 2, 0, count: 3), 0);
        Assert.Throws<InvalidProducerEpochException>(() => log.AppendAsLeader(P(Pid, 1, 3), 0));
        Assert.Throws<InvalidProducerEpochException>(() => log.AppendAsLeader(P(Pid, 1, 0), 0));
        Assert.Throws<OutOfOrderSequenceException>(() => log.AppendAsLeader(P(Pid, 3, 3), 0));
        Assert.Equal(3, log.LogEndOffset);

        var bumped = log.AppendAsLeader(P(Pid, 3, 0, count: 2), 0);
        Assert.False(bumped.IsDuplicate);
        Assert.Equal(((short)3, 1, 4L), State(log));

        // The old epoch's batches are forgotten: a retry of one of them is fenced, not a duplicate.
        Assert.Throws<InvalidProducerEpochException>(() => log.AppendAsLeader(P(Pid, 2, 0, count: 3), 0));
    }

    [Fact]
    public void Sequences_wrap_from_int_max_to_zero_and_an_unknown_producer_may_start_anywhere()
    {
        using var dir = new TempDir();
        var (log, _) = Open(dir);
        using var _l = log;
        log.AppendAsLeader(P(Pid, 0, 42, count: 2), 0); // unknown producer: any sequence
        Assert.Equal(((short)0, 43, 1L), State(log));

        log.AppendAsLeader(P(Pid + 1, 0, int.MaxValue - 1, count: 2), 0);
        Assert.Equal(int.MaxValue, State(log, Pid + 1).LastSeq);
        Assert.Throws<OutOfOrderSequenceException>(() => log.AppendAsLeader(P(Pid + 1, 0, 1), 0));
        log.AppendAsLeader(P(Pid + 1, 0, 0, count: 3), 0);
        Assert.Equal(2, State(log, Pid + 1).LastSeq);

        // A batch that wraps inside itself: last sequence = (base + count - 1) mod 2^31.
        log.AppendAsLeader(P(Pid + 2, 0, int.MaxValue, count: 2), 0);
        Assert.Equal(0, State(log, Pid + 2).LastSeq);
        Assert.True(log.AppendAsLeader(P(Pid + 2, 0, int.MaxValue, count: 2), 0).IsDuplicate);
        log.AppendAsLeader(P(Pid + 2, 0, 1), 0);
    }

    [Fact]
    public void A_transactional_batch_is_refused()
    {
        using var dir = new TempDir();
        var (log, _) = Open(dir);
        using var _l = log;
        Assert.Throws<InvalidTxnStateException>(() => log.AppendAsLeader(P(Pid, 0, 0, transactional: true), 0));
        Assert.Equal(0, log.LogEndOffset);
        Assert.Empty(log.ActiveProducers);
    }

    // ------------------------------------------------------------------ snapshot files

    /// <summary>CRC-32C bit by bit (reflected, polynomial 0x82F63B78), independent of the library's implementation.</summary>
    private static uint ReferenceCrc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78 : crc >> 1;
            }
        }

        return ~crc;
    }

    [Fact]
    public void The_snapshot_file_has_kafkas_layout()
    {
        Assert.Equal(0xE3069283, ReferenceCrc32C("123456789"u8)); // the CRC-32C check value

        var a = new ProducerStateEntry(7, 3, -1, 1_700_000_000_123, -1, new BatchMetadata(9, 1234, 4, 1_700_000_000_123));
        var b = new ProducerStateEntry(0x0102030405060708, 0, -1, 99, -1, new BatchMetadata(0, 5, 0, 99));
        byte[] actual = ProducerStateManager.Serialize([b, a]);

        var expected = new List<byte>();
        void I16(short v) => expected.AddRange(new[] { (byte)(v >> 8), (byte)v });
        void I32(int v) => expected.AddRange(new[] { (byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v });
        void I64(long v)
        {
            I32((int)(v >> 32));
            I32((int)v);
        }

        I16(1);          // version
        I32(0);          // CRC, filled below
        I32(2);          // entries, by producer id
        foreach (var (pid, epoch, seq, offset, delta, ts) in new[] { (7L, (short)3, 9, 1234L, 4, 1_700_000_000_123L), (0x0102030405060708L, (short)0, 0, 5L, 0, 99L) })
        {
            I64(pid);
            I16(epoch);
            I32(seq);    // last_sequence
            I64(offset); // last_offset
            I32(delta);  // offset_delta
            I64(ts);     // timestamp
            I32(-1);     // coordinator_epoch
            I64(-1);     // current_txn_first_offset
        }

        var bytes = expected.ToArray();
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(2), ReferenceCrc32C(bytes.AsSpan(6)));
        Assert.Equal(10 + (2 * 46), bytes.Length);
        Assert.Equal(bytes, actual);

        var read = ProducerStateManager.Deserialize(actual);
        Assert.Equal(new[] { 7L, 0x0102030405060708L }, read.Select(e => e.ProducerId));
        Assert.Equal(((short)3, 9, 1234L, 4, 5, 1_700_000_000_123L), (read[0].ProducerEpoch, read[0].LastSeq, read[0].LastDataOffset, read[0].LastOffsetDelta, read[0].FirstSeq, read[0].LastTimestamp));

        bytes[20] ^= 1;
        Assert.Throws<CorruptSnapshotException>(() => ProducerStateManager.Deserialize(bytes));
        bytes[20] ^= 1;
        bytes[1] = 2;
        Assert.Throws<CorruptSnapshotException>(() => ProducerStateManager.Deserialize(bytes));
    }

    [Fact]
    public void Roll_writes_a_snapshot_at_the_new_segments_base_offset_and_dump_log_prints_it()
    {
        using var dir = new TempDir();
        var (log, time) = Open(dir);
        using var _l = log;
        log.AppendAsLeader(P(Pid, 4, 0, count: 3, timestamp: time.NowMs), 0);
        log.AppendAsLeader(P(Pid, 4, 3, count: 2, timestamp: time.NowMs), 0);
        log.Roll();
        string path = Path.Combine(log.Dir, "00000000000000000005.snapshot");
        Assert.True(File.Exists(path));
        var entry = Assert.Single(ProducerStateManager.ReadSnapshot(path));
        Assert.Equal((Pid, (short)4, 4, 4L, 1), (entry.ProducerId, entry.ProducerEpoch, entry.LastSeq, entry.LastDataOffset, entry.LastOffsetDelta));

        var output = new StringWriter();
        Assert.Equal(0, Aspire.Kafka.Tools.DumpLog.SegmentDumper.Run([path], output, new StringWriter()));
        Assert.Contains($"producerId: {Pid} producerEpoch: 4 coordinatorEpoch: -1 currentTxnFirstOffset: OptionalLong.empty lastTimestamp: {time.NowMs + 1} " +
            $"firstSequence: 3 lastSequence: 4 lastOffset: 4 offsetDelta: 1 timestamp: {time.NowMs + 1}", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_clean_close_snapshots_at_the_log_end_and_the_next_open_reads_no_batch()
    {
        using var dir = new TempDir();
        var (log, time) = Open(dir, Batches.SmallConfig(segmentBytes: 600));
        for (int i = 0; i < 20; i++)
        {
            log.AppendAsLeader(P(Pid + (i % 3), 0, i / 3 * 2, count: 2, timestamp: time.NowMs, padding: 30), 0);
        }

        Assert.True(log.NumberOfSegments > 2);
        var before = log.ActiveProducers;
        long end = log.LogEndOffset;
        log.Close();
        Assert.True(File.Exists(Path.Combine(dir.Sub("idem-0"), FileUtil.SegmentFileName(end, ".snapshot"))));

        var (reopened, _) = Open(dir, Batches.SmallConfig(segmentBytes: 600), clean: true, time: time);
        using var _r = reopened;
        Assert.Equal(0, reopened.LoadResult.ProducerStateBatchesRead);
        Assert.Equal(end, reopened.LoadResult.ProducerSnapshotOffset);
        Assert.Equal(before, reopened.ActiveProducers);
        Assert.True(reopened.AppendAsLeader(P(Pid + 1, 0, 12, count: 2, timestamp: time.NowMs, padding: 30), 0).IsDuplicate); // the last batch survives
        reopened.AppendAsLeader(P(Pid + 1, 0, 14, timestamp: time.NowMs), 0);
    }

    [Fact]
    public void An_unclean_reopen_rebuilds_the_same_state_from_the_snapshots_and_the_log()
    {
        using var dir = new TempDir();
        var config = Batches.SmallConfig(segmentBytes: 600);
        var (log, time) = Open(dir, config);
        for (int i = 0; i < 25; i++)
        {
            log.AppendAsLeader(P(Pid + (i % 2), (short)(i < 20 ? 0 : 1), i < 20 ? i / 2 : (i - 20) / 2, timestamp: time.NowMs, padding: 40), 0);
        }

        var before = log.ActiveProducers;
        long[] snapshots = [.. log.ProducerStateManager.SnapshotOffsets];
        Assert.True(snapshots.Length >= 2);
        log.Dispose(); // no snapshot at the end, no clean-shutdown marker

        var (reopened, _) = Open(dir, config, clean: false, time: time);
        using var _r = reopened;
        Assert.Equal(snapshots[^1], reopened.LoadResult.ProducerSnapshotOffset);
        Assert.True(reopened.LoadResult.ProducerStateBatchesRead > 0);
        Assert.True(reopened.LoadResult.ProducerStateBatchesRead < 25, "only the batches after the newest snapshot are read");
        Assert.Equal(before, reopened.ActiveProducers);

        // Without any snapshot, the whole log is read and the result is the same.
        reopened.Dispose();
        foreach (var file in Directory.GetFiles(dir.Sub("idem-0"), "*.snapshot"))
        {
            File.Delete(file);
        }

        var (rebuilt, _) = Open(dir, config, clean: false, time: time);
        using var _b = rebuilt;
        Assert.Null(rebuilt.LoadResult.ProducerSnapshotOffset);
        Assert.Equal(25, rebuilt.LoadResult.ProducerStateBatchesRead);
        Assert.Equal(before, rebuilt.ActiveProducers);
    }

    [Fact]
    public void A_corrupt_snapshot_is_deleted_and_the_state_rebuilt()
    {
        using var dir = new TempDir();
        var config = Batches.SmallConfig(segmentBytes: 600);
        var (log, time) = Open(dir, config);
        for (int i = 0; i < 12; i++)
        {
            log.AppendAsLeader(P(Pid, 0, i, timestamp: time.NowMs, padding: 40), 0);
        }

        var before = log.ActiveProducers;
        long end = log.LogEndOffset;
        log.Close();
        string latest = Path.Combine(dir.Sub("idem-0"), FileUtil.SegmentFileName(end, ".snapshot"));
        var bytes = File.ReadAllBytes(latest);
        bytes[^3] ^= 0x40;
        File.WriteAllBytes(latest, bytes);

        var logger = new ListLogger();
        var (reopened, _) = Open(dir, config, clean: true, logger: logger, time: time);
        using var _r = reopened;
        Assert.Contains(logger.Lines, l => l.StartsWith("Warning: Failed to load producer snapshot", StringComparison.Ordinal) && l.Contains("CRC", StringComparison.Ordinal));
        Assert.False(File.Exists(latest));
        Assert.True(reopened.LoadResult.ProducerStateBatchesRead > 0);
        Assert.Equal(before, reopened.ActiveProducers);
    }

    [Fact]
    public void Truncation_reloads_the_state_the_remaining_log_holds()
    {
        using var dir = new TempDir();
        var config = Batches.SmallConfig(segmentBytes: 500);
        var (log, time) = Open(dir, config);
        using var _l = log;
        var offsets = new List<long>();
        for (int i = 0; i < 15; i++)
        {
            offsets.Add(log.AppendAsLeader(P(Pid, 0, i * 2, count: 2, timestamp: time.NowMs, padding: 40), 0).FirstOffset);
        }

        Assert.True(log.NumberOfSegments > 3);
        long target = offsets[6]; // batches 0..5 stay: last sequence 11
        Assert.True(log.TruncateTo(target));
        Assert.Equal(((short)0, 11, target - 1), State(log));
        Assert.DoesNotContain(log.ProducerStateManager.SnapshotOffsets, o => o > target);
        Assert.Throws<OutOfOrderSequenceException>(() => log.AppendAsLeader(P(Pid, 0, 30, timestamp: time.NowMs), 0));
        Assert.True(log.AppendAsLeader(P(Pid, 0, 10, count: 2, timestamp: time.NowMs, padding: 40), 0).IsDuplicate);
        Assert.Equal(target, log.AppendAsLeader(P(Pid, 0, 12, timestamp: time.NowMs), 0).FirstOffset);

        // Truncated fully: no state, no snapshot.
        log.TruncateFullyAndStartAt(100);
        Assert.Empty(log.ActiveProducers);
        Assert.Empty(log.ProducerStateManager.SnapshotOffsets);
        Assert.Empty(Directory.GetFiles(log.Dir, "*.snapshot"));
        Assert.Equal(100, log.AppendAsLeader(P(Pid, 0, 77, timestamp: time.NowMs), 0).FirstOffset);
    }

    [Fact]
    public async Task Retention_and_delete_records_evict_producers_whose_batches_are_gone_and_delete_old_snapshots()
    {
        using var dir = new TempDir();
        var config = Batches.SmallConfig(segmentBytes: 1 << 20);
        var (log, time) = Open(dir, config);
        using var _l = log;
        log.AppendAsLeader(P(1, 0, 0, count: 2, timestamp: time.NowMs), 0);  // 0-1
        log.AppendAsLeader(P(2, 0, 0, count: 2, timestamp: time.NowMs), 0);  // 2-3
        log.Roll();                                                           // snapshot at 4
        log.AppendAsLeader(P(3, 0, 0, count: 2, timestamp: time.NowMs), 0);  // 4-5
        log.AppendAsLeader(P(2, 0, 2, timestamp: time.NowMs), 0);             // 6
        log.Roll();                                                           // snapshot at 7
        log.AppendAsLeader(Batches.Make(1, time.NowMs), 0);                   // 7
        log.UpdateHighWatermark(log.LogEndOffset);

        // DeleteRecords inside the first segment: producer 1's only batch is gone.
        Assert.True(log.MaybeIncrementLogStartOffset(2));
        Assert.Equal(new[] { 2L, 3L }, log.ActiveProducers.Keys.Order());
        Assert.Equal(8, log.AppendAsLeader(P(1, 0, 500, timestamp: time.NowMs), 0).FirstOffset); // evicted: any sequence

        // Retention deletes the first segment (below the log start of 5); producers 2 and 3 stay.
        Assert.True(log.MaybeIncrementLogStartOffset(5));
        Assert.Equal(new[] { 1L, 2L, 3L }, log.ActiveProducers.Keys.Order());
        Assert.Equal(1, log.DeleteOldSegments());
        await log.WaitForBackgroundWorkAsync();
        Assert.Equal(new[] { 4L, 7L }, log.ProducerStateManager.SnapshotOffsets);
        Assert.Empty(Directory.GetFiles(log.Dir, "*.deleted"));

        Assert.True(log.MaybeIncrementLogStartOffset(7));
        Assert.Equal(new[] { 1L }, log.ActiveProducers.Keys.Order());
        Assert.Equal(1, log.DeleteOldSegments());
        await log.WaitForBackgroundWorkAsync();
        Assert.Equal(new[] { 7L }, log.ProducerStateManager.SnapshotOffsets);
        Assert.Equal(new[] { "00000000000000000007.snapshot" }, Directory.GetFiles(log.Dir, "*.snapshot").Select(f => Path.GetFileName(f)));
        Assert.Empty(Directory.GetFiles(log.Dir, "*.deleted"));

        // Reopened (unclean), the evicted producers stay evicted.
        var expected = log.ActiveProducers;
        log.Dispose();
        var (reopened, _) = Open(dir, config, clean: false, time: time);
        using var _r = reopened;
        Assert.Equal(7, reopened.LogStartOffset);
        Assert.Equal(expected, reopened.ActiveProducers);
    }

    [Fact]
    public async Task Producers_idle_longer_than_producer_id_expiration_ms_are_removed()
    {
        using var dir = new TempDir();
        var time = new ManualTime();
        await using var manager = new LogManager(new LogManagerConfig
        {
            LogDirs = [dir.Path],
            DefaultLogConfig = Batches.SmallConfig(segmentBytes: 1 << 20),
            ProducerIdExpirationMs = 60_000,
        }, time);
        await manager.StartupAsync();
        var log = manager.GetOrCreateLog(new TopicPartition("expire", 0));
        log.AppendAsLeader(P(1, 0, 0, timestamp: time.NowMs), 0);
        time.NowMs += 30_000;
        log.AppendAsLeader(P(2, 0, 0, timestamp: time.NowMs), 0);
        time.NowMs += 30_000;
        Assert.Equal(1, manager.RemoveExpiredProducers());
        Assert.Equal(new[] { 2L }, log.ActiveProducers.Keys);
        Assert.Equal(2, log.AppendAsLeader(P(1, 0, 9, timestamp: time.NowMs), 0).FirstOffset); // forgotten: any sequence
        time.NowMs += 60_000;
        Assert.Equal(2, manager.RemoveExpiredProducers());
        Assert.Empty(log.ActiveProducers);
    }

    [Fact]
    public void Expiration_settings_come_from_the_broker_properties()
    {
        var config = LogManagerConfig.FromProperties(new Dictionary<string, string>
        {
            ["producer.id.expiration.ms"] = "1000",
            ["producer.id.expiration.check.interval.ms"] = "50",
        });
        Assert.Equal((1000L, 50L), (config.ProducerIdExpirationMs, config.ProducerIdExpirationCheckIntervalMs));
        Assert.Equal((86_400_000L, 600_000L), (new LogManagerConfig().ProducerIdExpirationMs, new LogManagerConfig().ProducerIdExpirationCheckIntervalMs));
        var e = Assert.Throws<ArgumentException>(() => LogManagerConfig.FromProperties(new Dictionary<string, string> { ["producer.id.expiration.ms"] = "0" }));
        Assert.StartsWith("Invalid value 0 for configuration producer.id.expiration.ms: Value must be at least 1.", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_follower_builds_the_same_state_as_the_leader()
    {
        using var dir = new TempDir();
        var time = new ManualTime();
        var config = Batches.SmallConfig(segmentBytes: 700);
        using var leader = UnifiedLog.Open(dir.Sub("leader-0"), config, new UnifiedLogOptions { TimeProvider = time });
        using var follower = UnifiedLog.Open(dir.Sub("follower-0"), config, new UnifiedLogOptions { TimeProvider = time });
        var next = new Dictionary<long, (short Epoch, int Seq)>();
        var lastBatch = new Dictionary<long, byte[]>();
        for (int i = 0; i < 30; i++)
        {
            if (i % 4 == 3)
            {
                leader.AppendAsLeader(Batches.Make(2, time.NowMs), 1);
                continue;
            }

            long pid = 10 + (i % 3);
            short epoch = (short)(i / 15);
            var (e, seq) = next.GetValueOrDefault(pid, (epoch, 0));
            seq = e == epoch ? seq : 0;
            var batch = P(pid, epoch, seq, count: 1 + (i % 2), timestamp: time.NowMs + i, padding: 20);
            lastBatch[pid] = [.. batch];
            leader.AppendAsLeader(batch, 1);
            next[pid] = (epoch, seq + 1 + (i % 2));
        }

        long offset = 0;
        while (offset < leader.LogEndOffset)
        {
            var bytes = leader.Read(offset, 1000).Records.ToArray();
            follower.AppendAsFollower(bytes);
            offset = follower.LogEndOffset;
        }

        Assert.Equal(3, leader.ActiveProducers.Count);
        Assert.Equal(leader.ActiveProducers, follower.ActiveProducers);

        // The follower's retained batches are the leader's: a retry after a leader change is a duplicate there too.
        Assert.True(follower.AppendAsLeader(lastBatch[12], 2).IsDuplicate);
        Assert.Equal(leader.LogEndOffset, follower.LogEndOffset);
    }

    // ------------------------------------------------------------------ compaction

    [Fact]
    public void Compaction_keeps_each_producers_last_batch_even_when_its_records_are_superseded()
    {
        using var dir = new TempDir();
        var time = new ManualTime();
        var config = Batches.SmallConfig(segmentBytes: 1 << 20) with { CleanupPolicy = CleanupPolicy.Compact, MinCleanableDirtyRatio = 0.01 };
        string path = dir.Sub("compact-0");
        var log = UnifiedLog.Open(path, config, new UnifiedLogOptions { TimeProvider = time });
        log.AppendAsLeader(P(1, 0, 0, count: 2, timestamp: time.NowMs, key: i => $"a{i}"), 0);   // 0-1: superseded below; not producer 1's last
        log.AppendAsLeader(P(1, 0, 2, count: 2, timestamp: time.NowMs, key: i => $"b{i}"), 0);   // 2-3: producer 1's last, both superseded
        log.AppendAsLeader(P(2, 3, 7, count: 3, timestamp: time.NowMs, key: i => $"c{i}"), 0);   // 4-6: producer 2's last, c0 and c2 superseded
        log.AppendAsLeader(Batches.Make(6, time.NowMs, "new", key: i => i switch { 0 => "a0", 1 => "a1", 2 => "b0", 3 => "b1", 4 => "c0", _ => "c2" }), 0); // 7-12
        log.Roll();
        log.AppendAsLeader(Batches.Make(1, time.NowMs, "active", key: _ => "z"), 0);
        log.UpdateHighWatermark(log.LogEndOffset);
        var before = log.ActiveProducers;

        Assert.NotNull(new LogCleaner(time).Clean(log, 0));
        var batches = Batches.Split(File.ReadAllBytes(log.Segments[0].LogFilePath)).ToList();
        Assert.All(batches, b => Assert.True(RecordBatch.IsCrcValid(b.Bytes)));
        Assert.DoesNotContain(batches, b => b.Header.ProducerId == 1 && b.Header.BaseOffset == 0); // an older batch goes as before

        var empty = Assert.Single(batches, b => b.Header.ProducerId == 1).Header;
        Assert.Equal((2L, 3L, 0, 2, 3, (short)0, 61), (empty.BaseOffset, empty.LastOffset, empty.RecordCount, empty.BaseSequence, empty.LastSequence, empty.ProducerEpoch, empty.SizeInBytes));

        var partial = Assert.Single(batches, b => b.Header.ProducerId == 2);
        Assert.Equal((4L, 6L, 1, 7, 9, (short)3), (partial.Header.BaseOffset, partial.Header.LastOffset, partial.Header.RecordCount, partial.Header.BaseSequence, partial.Header.LastSequence, partial.Header.ProducerEpoch));
        var kept = Assert.Single(RecordBatchReader.ReadRecords(partial.Bytes));
        Assert.Equal((5L, "c1"), (kept.Offset, Batches.Text(kept.Key)));
        Assert.Equal(new[] { "c1", "a0", "a1", "b0", "b1", "c0", "c2", "z" }, Batches.ReadAll(log).Select(r => Batches.Text(r.Key)));

        // Rebuilt from the cleaned log alone (no snapshot), the producer state is unchanged.
        log.Dispose();
        foreach (var file in Directory.GetFiles(path, "*.snapshot"))
        {
            File.Delete(file);
        }

        using var reopened = UnifiedLog.Open(path, config, new UnifiedLogOptions { TimeProvider = time, HadCleanShutdown = false });
        Assert.Equal(before, reopened.ActiveProducers);
        Assert.True(reopened.AppendAsLeader(P(1, 0, 2, count: 2, timestamp: time.NowMs, key: i => $"b{i}"), 0).IsDuplicate);
    }
}
