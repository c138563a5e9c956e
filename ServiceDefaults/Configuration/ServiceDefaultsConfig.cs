using Aspire.Kafka.Config;
using Range = Aspire.Kafka.Config.Range;

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
    public const string NumNetworkThreads = "num.network.threads";
    public const string NumIoThreads = "num.io.threads";
    public const string SocketSendBufferBytes = "socket.send.buffer.bytes";
    public const string SocketReceiveBufferBytes = "socket.receive.buffer.bytes";

    /// <summary>Kafka's default map: each security protocol is also a listener name.</summary>
    public const string DefaultSecurityProtocolMap = "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL";

    /// <summary>
    /// listener.security.protocol.map as it applies: when it is not set, the names in
    /// controller.listener.names (if the service defines that key) map to PLAINTEXT, as in Kafka,
    /// so a controller's sample file with only a CONTROLLER listener starts.
    /// </summary>
    public static string EffectiveSecurityProtocolMap(KafkaConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        string map = config.GetString(ListenerSecurityProtocolMap) ?? DefaultSecurityProtocolMap;
        if (config.SourceOf(ListenerSecurityProtocolMap) != ConfigSource.Default || !config.Definition.Contains(ControllerListenerNamesKey))
        {
            return map;
        }

        IEnumerable<string> named = map.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(e => e.Split(':')[0]);
        IEnumerable<string> extra = config.GetList(ControllerListenerNamesKey).Where(n => !named.Contains(n, StringComparer.OrdinalIgnoreCase)).Select(n => $"{n}:PLAINTEXT");
        return string.Join(',', new[] { map }.Concat(extra));
    }

    private const string ControllerListenerNamesKey = "controller.listener.names";

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
            "How long a graceful shutdown (SIGTERM, SIGINT) may drain before the process exits anyway.")
        // The socket server (KafkaSocketServerOptions applies them).
        .Define(NumNetworkThreads, ConfigType.Int, 3, Range.AtLeast(1), Importance.High,
            "The socket I/O loops that accept connections and move bytes between the sockets and the request pipelines (Kestrel's socket transport IOQueueCount).")
        .Define(NumIoThreads, ConfigType.Int, 8, Range.AtLeast(1), Importance.High,
            "How many requests, over all connections, are processed at once; a request waiting for something (a long-poll fetch, acks=all) does not hold a slot.")
        .Define(SocketSendBufferBytes, ConfigType.Int, -1, Range.AtLeast(-1), Importance.High,
            "SO_SNDBUF of accepted Kafka connections; -1 keeps the OS default (Kafka's default is 102400; here the OS's autotuning is kept unless asked).")
        .Define(SocketReceiveBufferBytes, ConfigType.Int, -1, Range.AtLeast(-1), Importance.High,
            "SO_RCVBUF of accepted Kafka connections; -1 keeps the OS default (Kafka's default is 102400; here the OS's autotuning is kept unless asked).");
}
