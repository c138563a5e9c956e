using System.Globalization;
using System.Text;
using Aspire.Kafka.Records;
using Aspire.Kafka.Storage;

// Child process of the storage crash tests: opens the log dir through LogManager (recovering it
// when the last run was killed), then appends batches as fast as it can until it is killed.
// Record values are "r<offset>" so the parent can check every record it reads back. Every batch
// comes from idempotent producer 7, continuing the sequence of the recovered producer state.
// Prints "ready <log end offset>" once loaded and "progress <appends> <recovery point>" now and then.
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: Storage.CrashWriter <log dir> <seed>");
    return 2;
}

string logDir = args[0];
int seed = int.Parse(args[1], CultureInfo.InvariantCulture);
var random = new Random(seed);
var config = new LogManagerConfig
{
    LogDirs = [logDir],
    DefaultLogConfig = new LogConfig
    {
        SegmentBytes = 256 * 1024,
        IndexIntervalBytes = 1024,
        MaxIndexSize = 64 * 1024,
        FlushIntervalMessages = 2000,
        FileDeleteDelayMs = 0,
        RetentionMs = -1,
    },
    FlushRecoveryOffsetCheckpointIntervalMs = 50,
    FlushStartOffsetCheckpointIntervalMs = 50,
    RetentionCheckIntervalMs = long.MaxValue,
    CleanerEnable = false,
};

var manager = new LogManager(config);
await manager.StartupAsync();
manager.StartBackgroundJobs();
var log = manager.GetOrCreateLog(new TopicPartition("crash", 0));
Console.Out.WriteLine($"ready {log.LogEndOffset}");
Console.Out.Flush();

const long producerId = 7;
int sequence = log.ActiveProducers.TryGetValue(producerId, out var state) ? state.LastSequence + 1 : 0;
long appends = 0;
while (true)
{
    long next = log.LogEndOffset;
    int count = random.Next(1, 40);
    int padding = random.Next(0, 200);
    using (var builder = new RecordBatchBuilder(random.Next(4) == 0 ? CompressionType.Gzip : CompressionType.None, 0, producerId, 0, sequence))
    {
        for (int i = 0; i < count; i++)
        {
            builder.Append(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), null, Encoding.UTF8.GetBytes($"r{next + i}" + new string('#', padding)));
        }

        var batch = builder.Build();
        log.AppendAsLeader(batch, 1);
        sequence += count;
    }

    appends++;
    if (appends % 25 == 0)
    {
        Console.Out.WriteLine($"progress {appends} {log.RecoveryPoint}");
        Console.Out.Flush();
    }
}
