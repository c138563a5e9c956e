using FsCheck;
using FsCheck.Fluent;

namespace Aspire.Kafka.Storage.Tests;

/// <summary>
/// Any sequence of appends, rolls, truncations, retention runs and reopenings keeps the log equal
/// to a list of (offset, value) records, and the producer state equal to the last batch of each
/// idempotent producer still in the log. Seeded: a failure prints its seed; set
/// STORAGE_PROPERTY_SEED to replay one.
/// </summary>
public sealed class LogPropertyTests
{
    private enum Kind
    {
        Append,
        Roll,
        Truncate,
        DeleteRecords,
        Retention,
        ReopenClean,
        ReopenUnclean,
    }

    private readonly record struct Op(Kind Kind, int Count, int Size, int Pick);

    private sealed record ProducerBatch(long BaseOffset, long LastOffset, long ProducerId, short Epoch, int LastSeq, byte[] Bytes);

    private static readonly Gen<Op> OpGen =
        from kind in Gen.Frequency(
            (10, Gen.Constant(Kind.Append)),
            (1, Gen.Constant(Kind.Roll)),
            (2, Gen.Constant(Kind.Truncate)),
            (1, Gen.Constant(Kind.DeleteRecords)),
            (1, Gen.Constant(Kind.Retention)),
            (1, Gen.Constant(Kind.ReopenClean)),
            (1, Gen.Constant(Kind.ReopenUnclean)))
        from count in Gen.Choose(1, 8)
        from size in Gen.Choose(0, 120)
        from pick in Gen.Choose(0, 1000)
        select new Op(kind, count, size, pick);

    [Fact]
    public void Log_matches_an_in_memory_model()
    {
        string? replay = Environment.GetEnvironmentVariable("STORAGE_PROPERTY_SEED");
        var seeds = replay is null ? Enumerable.Range(1, 40).Select(i => (ulong)(20261122 + i)) : [ulong.Parse(replay, System.Globalization.CultureInfo.InvariantCulture)];
        foreach (ulong seed in seeds)
        {
            var ops = Gen.ListOf(OpGen, 40).Sample(30, new Rnd(seed), 1)[0];
            try
            {
                Run(ops);
            }
            catch (Exception e)
            {
                throw new Xunit.Sdk.XunitException(
                    $"Property failed for seed {seed} (replay: STORAGE_PROPERTY_SEED={seed}).\nOps: {string.Join(", ", ops)}\n{e}");
            }
        }
    }

    private static void Run(IEnumerable<Op> ops)
    {
        using var dir = new TempDir();
        string path = dir.Sub("model-0");
        var config = Batches.SmallConfig(segmentBytes: 1200, indexInterval: 150);
        var model = new List<(long Offset, string Value)>();
        var batchStarts = new List<long>();
        var producerBatches = new List<ProducerBatch>();
        var clients = new Dictionary<long, (short Epoch, int NextSeq)> { [1] = (0, 0), [2] = (0, 0) };
        long logStart = 0;
        long leo = 0;
        var log = UnifiedLog.Open(path, config, new UnifiedLogOptions { ProducerIdExpirationMs = long.MaxValue });
        try
        {
            int step = 0;
            foreach (var op in ops)
            {
                step++;
                switch (op.Kind)
                {
                    case Kind.Append:
                        {
                            // A third of the appends without producer id, the others from producer 1 or 2:
                            // in sequence after what the log holds, sometimes a new epoch or a retry.
                            long producerId = op.Pick % 3;
                            var state = LastBatchInLog(producerBatches, logStart, producerId);
                            int variant = op.Pick / 3 % 8;
                            if (producerId > 0 && variant == 0 && state is not null)
                            {
                                var retry = log.AppendAsLeader(state.Bytes.ToArray(), 0);
                                Assert.True(retry.IsDuplicate);
                                Assert.Equal((state.BaseOffset, state.LastOffset), (retry.FirstOffset, retry.LastOffset));
                                break;
                            }

                            byte[] batch;
                            if (producerId > 0)
                            {
                                var (epoch, nextSeq) = clients[producerId];
                                if (variant == 1)
                                {
                                    (epoch, nextSeq) = ((short)(epoch + 1), 0);
                                }

                                int seq = state is null ? nextSeq : state.Epoch == epoch ? state.LastSeq + 1 : 0;
                                batch = Batches.Make(op.Count, 1000 + step, $"{step}", padding: op.Size, producerId: producerId, producerEpoch: epoch, baseSequence: seq);
                                clients[producerId] = (epoch, seq + op.Count);
                                producerBatches.Add(new ProducerBatch(leo, leo + op.Count - 1, producerId, epoch, seq + op.Count - 1, [.. batch]));
                            }
                            else
                            {
                                batch = Batches.Make(op.Count, 1000 + step, $"{step}", padding: op.Size);
                            }

                            var info = log.AppendAsLeader(batch, 0);
                            Assert.Equal(leo, info.FirstOffset);
                            Assert.False(info.IsDuplicate);
                            batchStarts.Add(leo);
                            for (int i = 0; i < op.Count; i++)
                            {
                                model.Add((leo + i, $"v{step}-{i}" + new string('.', op.Size)));
                            }

                            leo += op.Count;
                            break;
                        }

                    case Kind.Roll:
                        log.Roll();
                        break;

                    case Kind.Truncate:
                        {
                            var candidates = batchStarts.Where(b => b >= logStart).ToList();
                            if (candidates.Count == 0)
                            {
                                break;
                            }

                            long target = candidates[op.Pick % candidates.Count];
                            log.TruncateTo(target);
                            model.RemoveAll(r => r.Offset >= target);
                            batchStarts.RemoveAll(b => b >= target);
                            producerBatches.RemoveAll(b => b.BaseOffset >= target);
                            leo = target;
                            break;
                        }

                    case Kind.DeleteRecords:
                        {
                            log.UpdateHighWatermark(leo);
                            long target = logStart + (op.Pick % (leo - logStart + 1));
                            log.MaybeIncrementLogStartOffset(target);
                            logStart = Math.Max(logStart, target);
                            break;
                        }

                    case Kind.Retention:
                        log.UpdateHighWatermark(leo);
                        log.UpdateConfig(config with { RetentionBytes = op.Pick * 3 });
                        log.DeleteOldSegments();
                        log.UpdateConfig(config);
                        Assert.True(log.LogStartOffset >= logStart);
                        logStart = log.LogStartOffset;
                        break;

                    case Kind.ReopenClean:
                    case Kind.ReopenUnclean:
                        {
                            bool clean = op.Kind == Kind.ReopenClean;
                            long recoveryPoint = log.RecoveryPoint;
                            if (clean)
                            {
                                log.Close();
                            }
                            else
                            {
                                log.Dispose();
                            }

                            log = UnifiedLog.Open(path, config, new UnifiedLogOptions
                            {
                                HadCleanShutdown = clean,
                                RecoveryPoint = clean ? 0 : Math.Min(recoveryPoint, op.Pick),
                                LogStartOffset = logStart,
                                ProducerIdExpirationMs = long.MaxValue,
                            });
                            break;
                        }
                }

                model.RemoveAll(r => r.Offset < logStart);
                Assert.Equal(leo, log.LogEndOffset);
                Assert.Equal(logStart, log.LogStartOffset);
                var actual = Batches.ReadAll(log).Select(r => (r.Offset, Batches.Text(r.Value))).ToList();
                Assert.Equal(model, actual);
                var expectedProducers = new Dictionary<long, (short, int, long)>();
                foreach (long producerId in clients.Keys)
                {
                    if (LastBatchInLog(producerBatches, logStart, producerId) is { } last)
                    {
                        expectedProducers[producerId] = (last.Epoch, last.LastSeq, last.LastOffset);
                    }
                }

                Assert.Equal(expectedProducers, log.ActiveProducers.ToDictionary(p => p.Key, p => (p.Value.ProducerEpoch, p.Value.LastSequence, p.Value.LastOffset)));
                if (model.Count > 0)
                {
                    var probe = model[op.Pick % model.Count];
                    var read = log.Read(probe.Offset, 1);
                    var first = Batches.Split(read.Records.ToArray()).Single();
                    Assert.InRange(probe.Offset, first.Header.BaseOffset, first.Header.LastOffset);
                }
            }
        }
        finally
        {
            log.Dispose();
        }
    }

    /// <summary>The model of a producer's state: its last batch whose last offset is not below the log start.</summary>
    private static ProducerBatch? LastBatchInLog(List<ProducerBatch> batches, long logStart, long producerId) =>
        batches.LastOrDefault(b => b.ProducerId == producerId && b.LastOffset >= logStart);
}
