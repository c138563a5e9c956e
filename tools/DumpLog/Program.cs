using Aspire.Kafka.Tools.DumpLog;

return SegmentDumper.Run(args, Console.Out, Console.Error);
