using FsCheck;
using FsCheck.Fluent;

namespace Aspire.Kafka.Storage.Tests;

/// <summary>
/// Any sequence of appends, rolls, truncations, retention runs and reopenings keeps the log equal
/// to a list of (offset, value) records. Seeded: a failure prints its seed; set
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
        long logStart = 0;
        long leo = 0;
        var log = UnifiedLog.Open(path, config);
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
                            var batch = Batches.Make(op.Count, 1000 + step, $"{step}", padding: op.Size);
                            var info = log.AppendAsLeader(batch, 0);
                            Assert.Equal(leo, info.FirstOffset);
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
                            });
                            break;
                        }
                }

                model.RemoveAll(r => r.Offset < logStart);
                Assert.Equal(leo, log.LogEndOffset);
                Assert.Equal(logStart, log.LogStartOffset);
                var actual = Batches.ReadAll(log).Select(r => (r.Offset, Batches.Text(r.Value))).ToList();
                Assert.Equal(model, actual);
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
}
