using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Aspire.Kafka.Records;
using Aspire.Kafka.Storage;

// The storage benchmark of issue 4, all in one run on one disk so the ratios are fair:
//   1. dd buffered sequential write (bs=16k, same byte count) — the baseline of the target
//   2. UnifiedLog.AppendAsLeader of 16 KiB batches of 1 KiB records, one partition (CRC checked,
//      and again with the batch validated once by LogValidator.ValidateProduce, as the broker appends it)
//   3. references: dd with bs = the batch size (the same unaligned write sizes the log makes) and
//      an in-process pwrite loop of the same batches
//   4. 1,000 partitions appended round-robin, and memory per idle partition
//   5. warm sequential read of the one-partition log through Read + FileRecords.ReadInto
//   6. OffsetIndex / TimeIndex lookups with 10^4 and 10^6 entries
// Every write test runs once per round; the order alternates (forwards, backwards) from round to
// round; `sync` runs (untimed) before each test so that no test pays for another's writeback;
// each ratio is taken within a round and the median over the rounds is reported with its spread.
// Usage: dotnet run -c Release --project bench/Storage.Benchmarks -- [--dir DIR] [--mib N] [--rounds N]
string root = Path.Combine(Path.GetTempPath(), "storage-bench-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
long mib = 256;
int rounds = 15;
string? only = null; // --only NAME: run one write test `rounds` times (for perf/strace)
for (int i = 0; i < args.Length - 1; i++)
{
    if (args[i] == "--dir") root = args[i + 1];
    if (args[i] == "--mib") mib = long.Parse(args[i + 1], CultureInfo.InvariantCulture);
    if (args[i] == "--rounds") rounds = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
    if (args[i] == "--only") only = args[i + 1];
}

Directory.CreateDirectory(root);
long totalBytes = mib * 1024 * 1024;
Console.WriteLine($"storage benchmark: {mib} MiB per write test in {root}, {rounds} rounds, {Environment.ProcessorCount} cores, .NET {Environment.Version}");
try
{
    var batch = MakeBatch();
    int appends = (int)(totalBytes / batch.Length);
    long bytes = appends * (long)batch.Length;
    Console.WriteLine($"batch: {batch.Length} bytes, 16 records of 1 KiB values; {appends} appends = {bytes} bytes per write test");
    for (int i = 0; i < 1_000; i++)
    {
        _ = RecordSet.Validate(batch);
    }

    var validateWatch = Stopwatch.StartNew();
    for (int i = 0; i < 10_000; i++)
    {
        _ = RecordSet.Validate(batch);
    }

    Console.WriteLine($"RecordSet.Validate (CRC-32C) per batch: {validateWatch.Elapsed.TotalMicroseconds / 10_000:F2} us (hardware CRC: {Crc32C.IsHardwareAccelerated})");

    // Warm-up (JIT, file system metadata), not counted.
    AppendOne(root, batch, Math.Min(appends, 4096), validated: false, read: false);
    PWrite(root, batch, Math.Min(appends, 4096));

    var tests = new (string Name, Func<double> Run)[]
    {
        ("dd bs=16k", () => Dd(root, bytes, 16384)),
        ("dd bs=" + batch.Length.ToString(CultureInfo.InvariantCulture), () => Dd(root, bytes, batch.Length)),
        ("pwrite loop", () => PWrite(root, batch, appends)),
        ("append", () => AppendOne(root, batch, appends, validated: false, read: false)),
        ("append pre-validated", () => AppendOne(root, batch, appends, validated: true, read: false)),
        ("append preallocate=false", () => AppendOne(root, batch, appends, validated: false, read: false, preallocate: false)),
        ("append preallocate=false pre-validated", () => AppendOne(root, batch, appends, validated: true, read: false, preallocate: false)),
        ("1000 partitions", () => Partitions(root, batch, appends, out _)),
        ("pwrite loop 1000 files", () => PWriteFiles(root, batch, appends, 1000)),
        ("pwrite loop 1000 files bs=16k", () => PWriteFiles(root, new byte[16384], (int)(bytes / 16384), 1000)),
        ("pwrite+zeros loop 1000 files", () => PWriteFiles(root, batch, appends, 1000, zerosToAlignment: 65536)),
    };
    if (only is not null)
    {
        var test = tests.First(t => t.Name == only);
        for (int round = 0; round < rounds; round++)
        {
            Sync();
            Console.WriteLine($"  {test.Name}: {test.Run():F0} MB/s");
        }

        return;
    }

    var results = new double[rounds, tests.Length];
    for (int round = 0; round < rounds; round++)
    {
        for (int k = 0; k < tests.Length; k++)
        {
            int t = round % 2 == 0 ? k : tests.Length - 1 - k;
            Sync();
            results[round, t] = tests[t].Run();
        }

        Console.WriteLine($"  round {round + 1}: " + string.Join(", ", Enumerable.Range(0, tests.Length).Select(t => $"{tests[t].Name} {results[round, t]:F0}")) + " MB/s");
    }

    double[] Column(int t) => Enumerable.Range(0, rounds).Select(r => results[r, t]).ToArray();
    double[] Ratio(int a, int b) => Enumerable.Range(0, rounds).Select(r => results[r, a] / results[r, b]).ToArray();
    Console.WriteLine();
    Console.WriteLine($"| test ({rounds} rounds, MB/s) | median | min | max |");
    Console.WriteLine("|---|---:|---:|---:|");
    for (int t = 0; t < tests.Length; t++)
    {
        var c = Column(t);
        Console.WriteLine($"| {tests[t].Name} | {Median(c):F0} | {c.Min():F0} | {c.Max():F0} |");
    }

    Console.WriteLine();
    Console.WriteLine("| ratio (per round, then median) | median | min | max | target |");
    Console.WriteLine("|---|---:|---:|---:|---|");
    void PrintRatio(string name, double[] r, string target) =>
        Console.WriteLine($"| {name} | {Median(r):P0} | {r.Min():P0} | {r.Max():P0} | {target} |");
    PrintRatio("append (default config) / dd bs=16k", Ratio(3, 0), ">= 70%");
    PrintRatio("append pre-validated / dd bs=16k", Ratio(4, 0), "");
    PrintRatio("append preallocate=false (Kafka's default) / dd bs=16k", Ratio(5, 0), "");
    PrintRatio("append preallocate=false pre-validated / dd bs=16k", Ratio(6, 0), "");
    PrintRatio("append / dd bs=batch size", Ratio(3, 1), "");
    PrintRatio("append / pwrite loop", Ratio(3, 2), "");
    PrintRatio("pwrite loop / dd bs=16k", Ratio(2, 0), "");
    PrintRatio("dd bs=batch size / dd bs=16k", Ratio(1, 0), "");
    PrintRatio("append preallocate=false / dd bs=batch size", Ratio(5, 1), "");
    PrintRatio("1000 partitions / append", Ratio(7, 3), ">= 70%");
    PrintRatio("1000 partitions / dd bs=16k", Ratio(7, 0), "");
    PrintRatio("1000 partitions / pwrite loop 1000 files", Ratio(7, 8), "");
    PrintRatio("pwrite loop 1000 files / pwrite loop", Ratio(8, 2), "");
    PrintRatio("pwrite loop 1000 files bs=16k / dd bs=16k", Ratio(9, 0), "");
    PrintRatio("1000 partitions / pwrite+zeros loop 1000 files", Ratio(7, 10), "");
    PrintRatio("pwrite+zeros loop 1000 files / append", Ratio(10, 3), "");
    Console.WriteLine();

    Sync();
    Partitions(root, batch, 1000, out double bytesPerIdlePartition);
    Console.WriteLine($"memory per idle partition (managed heap): {bytesPerIdlePartition / 1024:F1} KiB");
    Sync();
    AppendOne(root, batch, appends, validated: false, read: true);
    Lookups(root);
}
finally
{
    Directory.Delete(root, true);
}

static double Median(double[] values)
{
    var sorted = values.Order().ToArray();
    int n = sorted.Length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2;
}

static void Sync()
{
    using var process = Process.Start("sync")!;
    process.WaitForExit();
}

static double AppendOne(string root, byte[] batch, int appends, bool validated, bool read, bool preallocate = true)
{
    string dir = Path.Combine(root, "one");
    double result;
    var sw = Stopwatch.StartNew(); // the open counts, as dd's open(O_CREAT|O_TRUNC) does
    using (var log = UnifiedLog.Open(Path.Combine(dir, "bench-0"), new LogConfig { RetentionMs = -1, Preallocate = preallocate }))
    {
        if (validated)
        {
            // The broker validates before it appends: the same bytes every time, so validate them once.
            ValidatedRecords records = LogValidator.ValidateProduce(batch, log.Config);
            for (int i = 0; i < appends; i++)
            {
                log.AppendAsLeader(records, 0);
            }
        }
        else
        {
            for (int i = 0; i < appends; i++)
            {
                log.AppendAsLeader(batch, 0);
            }
        }

        sw.Stop();
        result = appends * (double)batch.Length / sw.Elapsed.TotalSeconds / 1e6;
        if (read)
        {
            Read(log);
        }
    }

    Directory.Delete(dir, true);
    return result;
}

static byte[] MakeBatch()
{
    var value = new byte[1024];
    new Random(1).NextBytes(value);
    using var builder = new RecordBatchBuilder(CompressionType.None);
    for (int i = 0; i < 16; i++)
    {
        builder.Append(1_700_000_000_000 + i, null, value);
    }

    return builder.Build();
}

static double PWrite(string root, byte[] batch, int appends)
{
    string file = Path.Combine(root, "pwrite.bin");
    var sw = Stopwatch.StartNew();
    using (var handle = File.OpenHandle(file, FileMode.Create, FileAccess.ReadWrite))
    {
        long position = 0;
        for (int i = 0; i < appends; i++)
        {
            RandomAccess.Write(handle, batch, position);
            position += batch.Length;
        }

        sw.Stop();
        File.Delete(file);
        return position / sw.Elapsed.TotalSeconds / 1e6;
    }
}

// The pwrite loop over `files` files round-robin, opened and written once each before the clock
// starts (as the 1000-partition test does): the kernel's own cost of spreading writes over files.
// With zerosToAlignment, a write that passes the file's end carries zeros up to the next multiple
// of it in the same pwritev, as the log does with log.preallocate=true (libs/Storage/README.md):
// the technique without the engine.
static double PWriteFiles(string root, byte[] batch, int appends, int files, int zerosToAlignment = 0)
{
    byte[] zeros = new byte[Math.Max(zerosToAlignment, 1)];
    var filled = new long[files];
    string dir = Path.Combine(root, "pwrite-files");
    Directory.CreateDirectory(dir);
    var handles = new Microsoft.Win32.SafeHandles.SafeFileHandle[files];
    var positions = new long[files];
    try
    {
        for (int f = 0; f < files; f++)
        {
            handles[f] = File.OpenHandle(Path.Combine(dir, f.ToString(CultureInfo.InvariantCulture)), FileMode.Create, FileAccess.ReadWrite);
            RandomAccess.Write(handles[f], batch, 0);
            positions[f] = batch.Length;
        }

        var sw = Stopwatch.StartNew();
        for (int i = 0; i < appends; i++)
        {
            int f = i % files;
            long end = positions[f] + batch.Length;
            if (zerosToAlignment > 0 && end > filled[f])
            {
                long alignedEnd = (end + zerosToAlignment - 1) / zerosToAlignment * zerosToAlignment;
                RandomAccess.Write(handles[f], [batch, zeros.AsMemory(0, (int)(alignedEnd - end))], positions[f]);
                filled[f] = alignedEnd;
            }
            else
            {
                RandomAccess.Write(handles[f], batch, positions[f]);
            }

            positions[f] = end;
        }

        sw.Stop();
        return appends * (double)batch.Length / sw.Elapsed.TotalSeconds / 1e6;
    }
    finally
    {
        foreach (var handle in handles)
        {
            handle?.Dispose();
        }

        Directory.Delete(dir, recursive: true);
    }
}

static double Dd(string root, long bytes, int blockSize)
{
    string file = Path.Combine(root, "dd.bin");
    var start = new ProcessStartInfo("dd", ["if=/dev/zero", $"of={file}", $"bs={blockSize}", $"count={bytes / blockSize}"])
    {
        RedirectStandardError = true,
        RedirectStandardOutput = true,
    };
    using var process = Process.Start(start)!;
    string output = process.StandardError.ReadToEnd();
    process.WaitForExit();
    File.Delete(file);

    // "1073741824 bytes (1.1 GB, 1.0 GiB) copied, 0.912 s, 1.2 GB/s"
    var m = Regex.Match(output, @"(\d+) bytes .* copied, ([\d.,]+) s");
    if (!m.Success)
    {
        throw new InvalidOperationException("dd did not report its throughput: " + output);
    }

    return long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) / double.Parse(m.Groups[2].Value.Replace(',', '.'), CultureInfo.InvariantCulture) / 1e6;
}

static void Read(UnifiedLog log)
{
    var buffer = new byte[1024 * 1024 + 65536];
    for (int pass = 0; pass < 3; pass++)
    {
        var sw = Stopwatch.StartNew();
        long offset = log.LogStartOffset;
        long bytes = 0;
        while (offset < log.LogEndOffset)
        {
            var info = log.Read(offset, 1024 * 1024);
            int n = info.Records.ReadInto(buffer);
            bytes += n;
            int position = 0;
            long last = offset;
            while (position < n)
            {
                var header = RecordBatchHeader.Read(buffer.AsSpan(position));
                last = header.LastOffset;
                position += header.SizeInBytes;
            }

            offset = last + 1;
        }

        sw.Stop();
        Console.WriteLine($"warm sequential read (pass {pass + 1}):          {bytes / sw.Elapsed.TotalSeconds / 1e9,8:F2} GB/s (target >= 1 GB/s)");
    }
}

static double Partitions(string root, byte[] batch, int appends, out double bytesPerIdlePartition)
{
    string dir = Path.Combine(root, "many");
    GC.Collect();
    GC.WaitForPendingFinalizers();
    long before = GC.GetTotalMemory(true);
    var logs = new List<UnifiedLog>();
    for (int p = 0; p < 1000; p++)
    {
        logs.Add(UnifiedLog.Open(Path.Combine(dir, $"bench-{p}"), new LogConfig { RetentionMs = -1 }));
    }

    long after = GC.GetTotalMemory(true);
    bytesPerIdlePartition = (after - before) / 1000.0;

    // Warm-up round, then the measured rounds.
    for (int p = 0; p < logs.Count; p++)
    {
        logs[p].AppendAsLeader(batch, 0);
    }

    var sw = Stopwatch.StartNew();
    for (int i = 0; i < appends; i++)
    {
        logs[i % logs.Count].AppendAsLeader(batch, 0);
    }

    sw.Stop();
    foreach (var log in logs)
    {
        log.Dispose();
    }

    Directory.Delete(dir, true);
    return appends * (double)batch.Length / sw.Elapsed.TotalSeconds / 1e6;
}

static void Lookups(string root)
{
    foreach (int entries in new[] { 10_000, 1_000_000 })
    {
        string dir = Path.Combine(root, $"index-{entries}");
        Directory.CreateDirectory(dir);
        using var offsets = new OffsetIndex(Path.Combine(dir, "0.index"), 0, 16 * 1024 * 1024);
        using var times = new TimeIndex(Path.Combine(dir, "0.timeindex"), 0, 16 * 1024 * 1024);
        for (int i = 0; i < entries; i++)
        {
            offsets.Append((i * 4L) + 3, i * 4096);
            times.MaybeAppend(1_700_000_000_000 + (i * 10L), (i * 4L) + 3);
        }

        var random = new Random(7);
        const int probes = 1_000_000;
        var targets = new long[probes];
        for (int i = 0; i < probes; i++)
        {
            targets[i] = random.NextInt64(0, entries * 4L);
        }

        long sink = 0;
        var sw = Stopwatch.StartNew();
        foreach (long t in targets)
        {
            sink += offsets.Lookup(t).Position;
        }

        double offsetNs = sw.Elapsed.TotalNanoseconds / probes;
        sw.Restart();
        foreach (long t in targets)
        {
            sink += times.Lookup(1_700_000_000_000 + (t * 2)).Offset;
        }

        double timeNs = sw.Elapsed.TotalNanoseconds / probes;
        Console.WriteLine($"index lookups, {entries,9:N0} entries: offset {offsetNs,6:F0} ns, time {timeNs,6:F0} ns (log2 n = {Math.Log2(entries):F1}; checksum {sink % 10})");
    }
}
