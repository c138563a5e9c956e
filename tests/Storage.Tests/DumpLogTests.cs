using Aspire.Kafka.Tools.DumpLog;

namespace Aspire.Kafka.Storage.Tests;

public sealed class DumpLogTests
{
    [Fact]
    public void Dump_prints_batches_records_and_index_entries_like_kafka_dump_log()
    {
        using var dir = new TempDir();
        string path = dir.Sub("t-0");
        using (var log = UnifiedLog.Open(path, Batches.SmallConfig(segmentBytes: 1 << 20, indexInterval: 100)))
        {
            for (int i = 0; i < 5; i++)
            {
                log.AppendAsLeader(Batches.Make(2, 1000 + (i * 10), $"{i}", key: j => $"key{j}", padding: 50), 3);
            }

            log.Close();
        }

        var output = new StringWriter();
        var error = new StringWriter();
        string logFile = Path.Combine(path, "00000000000000000000.log");
        int status = SegmentDumper.Run([logFile, Path.Combine(path, "00000000000000000000.index"), Path.Combine(path, "00000000000000000000.timeindex")], output, error);
        Assert.Equal(0, status);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"Dumping {logFile}", lines[0]);
        Assert.Equal("Log starting offset: 0", lines[1]);
        Assert.StartsWith("baseOffset: 0 lastOffset: 1 count: 2 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: 3 isTransactional: false isControl: false", lines[2], StringComparison.Ordinal);
        Assert.Contains("position: 0 CreateTime: 1001 size:", lines[2], StringComparison.Ordinal);
        Assert.Contains("compresscodec: none crc:", lines[2], StringComparison.Ordinal);
        Assert.EndsWith("isvalid: true", lines[2], StringComparison.Ordinal);
        Assert.StartsWith("| offset: 0 CreateTime: 1000 keySize: 4 valueSize: 54 sequence: -1 headerKeys: [] key: key0 payload: v0-0", lines[3], StringComparison.Ordinal);
        Assert.Equal(5, lines.Count(l => l.StartsWith("baseOffset:", StringComparison.Ordinal)));
        Assert.Equal(10, lines.Count(l => l.StartsWith("| offset:", StringComparison.Ordinal)));
        Assert.Contains(lines, l => l.StartsWith("offset: 3 position: ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l == "timestamp: 1041 offset: 9");
    }
}
