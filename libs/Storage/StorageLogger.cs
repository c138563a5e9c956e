namespace Aspire.Kafka.Storage;

public enum StorageLogLevel
{
    Debug,
    Information,
    Warning,
    Error,
}

/// <summary>
/// Where the storage engine reports what it did (recovery truncations, deletions, cleaning).
/// The service layer adapts it to its ILogger; the default writes nothing.
/// </summary>
public interface IStorageLogger
{
    void Log(StorageLogLevel level, string message, Exception? exception = null);
}

public sealed class NullStorageLogger : IStorageLogger
{
    public static readonly NullStorageLogger Instance = new();

    public void Log(StorageLogLevel level, string message, Exception? exception = null)
    {
    }
}
