using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Aspire.Kafka.Records;
using Aspire.Kafka.Storage;

namespace Aspire.Kafka.Tools.DumpLog;

/// <summary>
/// kafka-dump-log.sh for this project: <c>dump-log [--files] f1[,f2…] [--no-data] [--max-bytes N]</c>.
/// .log files print every batch (and record, with key and payload unless --no-data), .index
/// files their offset/position entries, .timeindex files their timestamp/offset entries,
/// .snapshot files (producer state) their producer entries.
/// </summary>
public static class SegmentDumper
{
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var files = new List<string>();
        bool printData = true;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--files":
                    if (i + 1 < args.Length)
                    {
                        files.AddRange(args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries));
                    }

                    break;
                case "--print-data-log":
                    printData = true;
                    break;
                case "--no-data":
                    printData = false;
                    break;
                case "-h":
                case "--help":
                    output.WriteLine("usage: dump-log [--files] <file>[,<file>…] [--print-data-log | --no-data]");
                    output.WriteLine("  .log: batches and records; .index: offset → position; .timeindex: timestamp → offset; .snapshot: producer state");
                    return 0;
                default:
                    files.AddRange(args[i].Split(',', StringSplitOptions.RemoveEmptyEntries));
                    break;
            }
        }

        if (files.Count == 0)
        {
            error.WriteLine("dump-log: name at least one .log, .index, .timeindex or .snapshot file (--help for usage).");
            return 2;
        }

        int status = 0;
        foreach (var file in files)
        {
            if (!File.Exists(file))
            {
                error.WriteLine($"dump-log: {file} does not exist.");
                status = 1;
                continue;
            }

            output.WriteLine($"Dumping {file}");
            long baseOffset = BaseOffsetOf(file);
            if (file.EndsWith(LogSegment.LogFileSuffix, StringComparison.Ordinal))
            {
                DumpLog(file, baseOffset, printData, output);
            }
            else if (file.EndsWith(LogSegment.IndexFileSuffix, StringComparison.Ordinal))
            {
                DumpIndex(file, baseOffset, output);
            }
            else if (file.EndsWith(LogSegment.TimeIndexFileSuffix, StringComparison.Ordinal))
            {
                DumpTimeIndex(file, baseOffset, output);
            }
            else if (file.EndsWith(ProducerStateManager.SnapshotFileSuffix, StringComparison.Ordinal))
            {
                if (!DumpProducerSnapshot(file, output, error))
                {
                    status = 1;
                }
            }
            else
            {
                error.WriteLine($"dump-log: {file} is not a .log, .index, .timeindex or .snapshot file.");
                status = 1;
            }
        }

        return status;
    }

    private static long BaseOffsetOf(string file)
    {
        string name = Path.GetFileName(file);
        int dot = name.IndexOf('.', StringComparison.Ordinal);
        return long.TryParse(dot > 0 ? name[..dot] : name, NumberStyles.None, CultureInfo.InvariantCulture, out long o) ? o : 0;
    }

    private static void DumpLog(string file, long baseOffset, bool printData, TextWriter output)
    {
        var bytes = File.ReadAllBytes(file);
        output.WriteLine($"Log starting offset: {baseOffset}");
        int position = 0;
        while (position < bytes.Length)
        {
            var rest = bytes.AsMemory(position);
            var status = RecordSet.TryReadBatch(rest.Span, out int size);
            if (status != RecordSetStatus.Complete || rest.Span[RecordBatch.MagicOffset] != RecordBatch.CurrentMagic)
            {
                break;
            }

            var batch = rest[..size];
            var h = RecordBatchHeader.Read(batch.Span);
            bool valid = RecordBatch.IsCrcValid(batch.Span);
            string timestampType = h.TimestampType == TimestampType.LogAppendTime ? "LogAppendTime" : "CreateTime";
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"baseOffset: {h.BaseOffset} lastOffset: {h.LastOffset} count: {h.RecordCount} baseSequence: {h.BaseSequence} lastSequence: {h.LastSequence} " +
                $"producerId: {h.ProducerId} producerEpoch: {h.ProducerEpoch} partitionLeaderEpoch: {h.PartitionLeaderEpoch} " +
                $"isTransactional: {Lower(h.IsTransactional)} isControl: {Lower(h.IsControl)} " +
                $"deleteHorizonMs: {(h.HasDeleteHorizon ? "OptionalLong[" + h.BaseTimestamp.ToString(CultureInfo.InvariantCulture) + "]" : "OptionalLong.empty")} " +
                $"position: {position} {timestampType}: {h.MaxTimestamp} size: {size} magic: {h.Magic} " +
                $"compresscodec: {h.CompressionType.ToString().ToLowerInvariant()} crc: {h.Crc} isvalid: {Lower(valid)}"));
            if (valid)
            {
                try
                {
                    foreach (var r in RecordBatchReader.ReadRecords(batch, verifyCrc: false))
                    {
                        var line = new StringBuilder();
                        line.Append(CultureInfo.InvariantCulture, $"| offset: {r.Offset} {timestampType}: {(h.TimestampType == TimestampType.LogAppendTime ? h.MaxTimestamp : r.Timestamp)} ");
                        line.Append(CultureInfo.InvariantCulture, $"keySize: {r.Key?.Length ?? -1} valueSize: {r.Value?.Length ?? -1} ");
                        line.Append(CultureInfo.InvariantCulture, $"sequence: {(h.BaseSequence < 0 ? -1 : h.BaseSequence + (int)(r.Offset - h.BaseOffset))} ");
                        line.Append("headerKeys: [").Append(string.Join(",", r.Headers.Select(x => x.Key))).Append(']');
                        if (printData)
                        {
                            if (r.Key is { } key)
                            {
                                line.Append(" key: ").Append(Encoding.UTF8.GetString(key.Span));
                            }

                            line.Append(" payload: ").Append(r.Value is { } value ? Encoding.UTF8.GetString(value.Span) : "null");
                        }

                        output.WriteLine(line.ToString());
                    }
                }
                catch (CorruptRecordException e)
                {
                    output.WriteLine($"| records could not be read: {e.Message}");
                }
            }

            position += size;
        }

        if (position < bytes.Length)
        {
            output.WriteLine(bytes.AsSpan(position).ContainsAnyExcept((byte)0)
                ? $"Found {bytes.Length - position} invalid bytes at the end of {Path.GetFileName(file)}"
                : $"Found {bytes.Length - position} zero bytes after the last batch of {Path.GetFileName(file)}: space written ahead of an active segment's end (log.preallocate), not data");
        }
    }

    private static void DumpIndex(string file, long baseOffset, TextWriter output)
    {
        var bytes = File.ReadAllBytes(file);
        int entries = bytes.Length / OffsetIndex.EntrySizeBytes;
        for (int i = 0; i < entries; i++)
        {
            int relative = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(i * 8));
            int position = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan((i * 8) + 4));
            if (i > 0 && relative == 0 && position == 0)
            {
                output.WriteLine($"(the remaining {entries - i} slots are preallocated and empty)");
                break;
            }

            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"offset: {baseOffset + relative} position: {position}"));
        }
    }

    private static void DumpTimeIndex(string file, long baseOffset, TextWriter output)
    {
        var bytes = File.ReadAllBytes(file);
        int entries = bytes.Length / TimeIndex.EntrySizeBytes;
        for (int i = 0; i < entries; i++)
        {
            long timestamp = BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(i * 12));
            int relative = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan((i * 12) + 8));
            if (i > 0 && timestamp == 0 && relative == 0)
            {
                output.WriteLine($"(the remaining {entries - i} slots are preallocated and empty)");
                break;
            }

            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"timestamp: {timestamp} offset: {baseOffset + relative}"));
        }
    }

    /// <summary>One line per producer, as kafka-dump-log.sh prints a producer snapshot.</summary>
    private static bool DumpProducerSnapshot(string file, TextWriter output, TextWriter error)
    {
        List<ProducerStateEntry> entries;
        try
        {
            entries = ProducerStateManager.ReadSnapshot(file);
        }
        catch (CorruptSnapshotException e)
        {
            error.WriteLine(e.Message);
            return false;
        }

        foreach (var entry in entries)
        {
            var line = new StringBuilder();
            line.Append(CultureInfo.InvariantCulture,
                $"producerId: {entry.ProducerId} producerEpoch: {entry.ProducerEpoch} coordinatorEpoch: {entry.CoordinatorEpoch} " +
                $"currentTxnFirstOffset: {(entry.CurrentTxnFirstOffset < 0 ? "OptionalLong.empty" : "OptionalLong[" + entry.CurrentTxnFirstOffset.ToString(CultureInfo.InvariantCulture) + "]")} " +
                $"lastTimestamp: {entry.LastTimestamp} ");
            if (entry.BatchMetadata is [var batch, ..])
            {
                line.Append(CultureInfo.InvariantCulture,
                    $"firstSequence: {batch.FirstSeq} lastSequence: {batch.LastSeq} lastOffset: {batch.LastOffset} offsetDelta: {batch.OffsetDelta} timestamp: {batch.Timestamp}");
            }

            output.WriteLine(line.ToString().TrimEnd());
        }

        return true;
    }

    private static string Lower(bool value) => value ? "true" : "false";
}
