using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace Aspire.Kafka.ServiceDefaults.Logging;

/// <summary>Options of <see cref="ServiceConsoleFormatter"/>: who is logging, and how.</summary>
public sealed class ServiceConsoleFormatterOptions : ConsoleFormatterOptions
{
    public string ServiceName { get; set; } = "service";

    public int NodeId { get; set; } = -1;

    /// <summary>One JSON object per line instead of text.</summary>
    public bool Json { get; set; }
}

/// <summary>
/// One line per event carrying the service name and node id:
/// <c>2026-01-01T12:00:00.000Z INFO  [broker node=1] Category: message</c>, or the same
/// fields (plus the structured state) as one JSON object when <c>log.format=json</c>.
/// </summary>
public sealed class ServiceConsoleFormatter : ConsoleFormatter
{
    public const string FormatterName = "aspire-kafka";

    private readonly IOptionsMonitor<ServiceConsoleFormatterOptions> _options;

    public ServiceConsoleFormatter(IOptionsMonitor<ServiceConsoleFormatterOptions> options)
        : base(FormatterName)
    {
        _options = options;
    }

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        string message = logEntry.Formatter(logEntry.State, logEntry.Exception);
        if (string.IsNullOrEmpty(message) && logEntry.Exception is null)
        {
            return;
        }

        ServiceConsoleFormatterOptions options = _options.CurrentValue;
        string timestamp = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        if (options.Json)
        {
            WriteJson(logEntry, message, timestamp, options, scopeProvider, textWriter);
            return;
        }

        var line = new StringBuilder(128 + message.Length);
        line.Append(timestamp).Append(' ').Append(Level(logEntry.LogLevel).PadRight(5)).Append(" [").Append(options.ServiceName);
        if (options.NodeId >= 0)
        {
            line.Append(" node=").Append(options.NodeId);
        }

        line.Append("] ").Append(logEntry.Category).Append(": ").Append(message.ReplaceLineEndings(" "));
        if (options.IncludeScopes && scopeProvider is not null)
        {
            scopeProvider.ForEachScope((scope, builder) => builder.Append(" => ").Append(scope), line);
        }

        if (logEntry.Exception is not null)
        {
            line.Append('\n').Append(logEntry.Exception);
        }

        textWriter.Write(line.Append('\n').ToString());
    }

    private static void WriteJson<TState>(in LogEntry<TState> logEntry, string message, string timestamp, ServiceConsoleFormatterOptions options,
        IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteString("timestamp", timestamp);
            json.WriteString("level", Level(logEntry.LogLevel));
            json.WriteString("service", options.ServiceName);
            if (options.NodeId >= 0)
            {
                json.WriteNumber("node", options.NodeId);
            }

            json.WriteString("category", logEntry.Category);
            json.WriteString("message", message);
            if (logEntry.EventId.Id != 0)
            {
                json.WriteNumber("eventId", logEntry.EventId.Id);
            }

            if (logEntry.State is IReadOnlyList<KeyValuePair<string, object?>> state)
            {
                json.WriteStartObject("state");
                foreach (KeyValuePair<string, object?> pair in state)
                {
                    if (pair.Key != "{OriginalFormat}")
                    {
                        json.WriteString(pair.Key, Convert.ToString(pair.Value, System.Globalization.CultureInfo.InvariantCulture));
                    }
                }

                json.WriteEndObject();
            }

            if (options.IncludeScopes && scopeProvider is not null)
            {
                json.WriteStartArray("scopes");
                scopeProvider.ForEachScope((scope, writer) => writer.WriteStringValue(Convert.ToString(scope, System.Globalization.CultureInfo.InvariantCulture)), json);
                json.WriteEndArray();
            }

            if (logEntry.Exception is not null)
            {
                json.WriteString("exception", logEntry.Exception.ToString());
            }

            json.WriteEndObject();
        }

        textWriter.Write(Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length));
        textWriter.Write('\n');
    }

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Trace => "TRACE",
        LogLevel.Debug => "DEBUG",
        LogLevel.Information => "INFO",
        LogLevel.Warning => "WARN",
        LogLevel.Error => "ERROR",
        LogLevel.Critical => "FATAL",
        _ => "NONE",
    };

    internal static LogLevel FromKafkaLevel(string level) => level.ToUpperInvariant() switch
    {
        "TRACE" => LogLevel.Trace,
        "DEBUG" => LogLevel.Debug,
        "INFO" => LogLevel.Information,
        "WARN" => LogLevel.Warning,
        "ERROR" => LogLevel.Error,
        _ => LogLevel.None,
    };
}
