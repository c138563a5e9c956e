namespace Aspire.Kafka.Records;

/// <summary>The compression codec id in bits 0-2 of a batch's (or legacy message's) attributes.</summary>
public enum CompressionType : byte
{
    None = 0,
    Gzip = 1,
    Snappy = 2,
    Lz4 = 3,
    Zstd = 4,
}

/// <summary>Bit 3 of the attributes: who set the timestamps.</summary>
public enum TimestampType
{
    NoTimestamp = -1,
    CreateTime = 0,
    LogAppendTime = 1,
}
