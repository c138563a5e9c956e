namespace Aspire.Kafka.Config;

/// <summary>
/// A configuration problem, stated in one sentence that names the key, the value and the
/// reason (Kafka's <c>ConfigException</c> wording: "Invalid value V for configuration K: reason").
/// </summary>
public sealed class ConfigException : Exception
{
    public ConfigException(string message) : base(message)
    {
    }

    public ConfigException(string message, Exception innerException) : base(message, innerException)
    {
    }

    public ConfigException(string key, object? value, string reason, string? source = null)
        : base($"Invalid value {Show(value)} for configuration {key}{(source is null ? "" : $" (from {source})")}: {reason}.")
    {
        Key = key;
        Reason = reason;
    }

    public ConfigException()
    {
    }

    /// <summary>The key at fault, when there is one.</summary>
    public string? Key { get; init; }

    /// <summary>Why the value was refused, when the exception is about one value.</summary>
    public string? Reason { get; }

    internal static string Show(object? value) => ConfigDef.Format(value) ?? "null";
}
