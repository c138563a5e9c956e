namespace Aspire.Kafka.ServiceDefaults.Configuration;

/// <summary>The keys every service understands, declared by ServiceDefaults itself.</summary>
public static class ServiceDefaultsConfig
{
    public const string NodeId = "node.id";
    public const string Listeners = "listeners";
    public const string ListenerSecurityProtocolMap = "listener.security.protocol.map";
    public const string SocketRequestMaxBytes = "socket.request.max.bytes";
    public const string HttpListener = "http.listener";
    public const string LogLevel = "log.level";
    public const string LogFormat = "log.format";
    public const string ShutdownTimeoutMs = "shutdown.timeout.ms";

    /// <summary>Kafka's default map: each security protocol is also a listener name.</summary>
    public const string DefaultSecurityProtocolMap = "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL";

    /// <summary>A fresh definition with the shared keys; the service's own keys are merged into it.</summary>
    public static ConfigDef Create() => new ConfigDef()
        .Define(NodeId, ConfigType.Int, -1, Range.AtLeast(-1), Importance.High,
            "The node id of this server; -1 when the service has none. Shown in every log line.")
        .Define(Listeners, ConfigType.List, "", Importance.High,
            "Kafka-protocol listeners, NAME://host:port separated by commas; an empty host binds every interface. Only PLAINTEXT listeners are supported.")
        .Define(ListenerSecurityProtocolMap, ConfigType.String, DefaultSecurityProtocolMap, Importance.Low,
            "Map between listener names and security protocols, NAME:PROTOCOL separated by commas.")
        .Define(SocketRequestMaxBytes, ConfigType.Int, 104857600, Range.AtLeast(1), Importance.High,
            "The maximum number of bytes in a socket request; a larger size prefix closes the connection.")
        .Define(HttpListener, ConfigType.String, "localhost:8080", NonEmptyString.Instance, Importance.Medium,
            "host:port (or http://host:port) of the HTTP listener serving /health, /alive and /metrics.")
        .Define(LogLevel, ConfigType.String, "INFO", ValidString.InIgnoreCase("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF"), Importance.Low,
            "Minimum console log level (log4j names). Logging:LogLevel:<category> settings refine it per category.")
        .Define(LogFormat, ConfigType.String, "text", ValidString.InIgnoreCase("text", "json"), Importance.Low,
            "Console log format: one text line per event, or one JSON object per event.")
        .Define(ShutdownTimeoutMs, ConfigType.Long, 10000L, Range.AtLeast(0), Importance.Low,
            "How long a graceful shutdown (SIGTERM, SIGINT) may drain before the process exits anyway.");
}
