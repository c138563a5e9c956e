using System.Globalization;

namespace Aspire.Kafka.Client;

/// <summary>
/// Client configuration. Property names are .NET's; <see cref="FromProperties"/> reads Kafka's
/// names (client.id, request.timeout.ms, …), which the README lists with their defaults.
/// </summary>
public sealed class KafkaClientOptions
{
    /// <summary>bootstrap.servers: host:port pairs used to find the cluster.</summary>
    public IReadOnlyList<string> BootstrapServers { get; set; } = [];

    /// <summary>client.id: sent in every request header.</summary>
    public string ClientId { get; set; } = "aspire-kafka";

    /// <summary>client.software.name (KIP-511, ApiVersions v3+).</summary>
    public string ClientSoftwareName { get; set; } = "aspire-kafka-client";

    /// <summary>client.software.version (KIP-511, ApiVersions v3+).</summary>
    public string ClientSoftwareVersion { get; set; } = "1.0.0";

    /// <summary>request.timeout.ms (30000): how long a request may wait for its response.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMilliseconds(30000);

    /// <summary>socket.connection.setup.timeout.ms (10000): how long a TCP connect may take.</summary>
    public TimeSpan SocketConnectionSetupTimeout { get; set; } = TimeSpan.FromMilliseconds(10000);

    /// <summary>reconnect.backoff.ms (50): the first wait before reconnecting to a node that failed.</summary>
    public TimeSpan ReconnectBackoff { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>reconnect.backoff.max.ms (1000): the cap of the exponential reconnect backoff.</summary>
    public TimeSpan ReconnectBackoffMax { get; set; } = TimeSpan.FromMilliseconds(1000);

    /// <summary>max.in.flight.requests.per.connection (5): requests written but not yet answered, per connection.</summary>
    public int MaxInFlightRequestsPerConnection { get; set; } = 5;

    /// <summary>metadata.max.age.ms (300000): cached metadata older than this is refreshed before use.</summary>
    public TimeSpan MetadataMaxAge { get; set; } = TimeSpan.FromMilliseconds(300000);

    /// <summary>retries (5): how often KafkaClient retries an operation that failed with a retriable error.</summary>
    public int Retries { get; set; } = 5;

    /// <summary>retry.backoff.ms (100): the first wait before a retry (exponential, KIP-580).</summary>
    public TimeSpan RetryBackoff { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>retry.backoff.max.ms (1000): the cap of the retry backoff.</summary>
    public TimeSpan RetryBackoffMax { get; set; } = TimeSpan.FromMilliseconds(1000);

    /// <summary>
    /// allow.auto.create.topics: sent in Metadata requests. Kafka's consumer defaults to true;
    /// this client defaults to false so a service never creates a topic by looking it up.
    /// </summary>
    public bool AllowAutoTopicCreation { get; set; }

    /// <summary>
    /// Send ApiVersions when a connection opens and pick versions from the answer (always on
    /// for Kafka clients; off only for tests that talk to a node that lacks ApiVersions).
    /// </summary>
    public bool NegotiateApiVersions { get; set; } = true;

    /// <summary>Largest response frame accepted (a larger size prefix is a protocol error).</summary>
    public int MaxResponseSize { get; set; } = 512 * 1024 * 1024;

    /// <summary>The Kafka names <see cref="FromProperties"/> understands.</summary>
    public static IReadOnlyList<string> KnownProperties { get; } =
    [
        "bootstrap.servers", "client.id", "client.software.name", "client.software.version", "request.timeout.ms",
        "socket.connection.setup.timeout.ms", "reconnect.backoff.ms", "reconnect.backoff.max.ms",
        "max.in.flight.requests.per.connection", "metadata.max.age.ms", "retries", "retry.backoff.ms",
        "retry.backoff.max.ms", "allow.auto.create.topics",
    ];

    /// <summary>
    /// Options from Kafka-named properties. An unknown name or a bad value throws
    /// <see cref="ArgumentException"/> naming it (never silently ignored).
    /// </summary>
    public static KafkaClientOptions FromProperties(IEnumerable<KeyValuePair<string, string>> properties)
    {
        var options = new KafkaClientOptions();
        foreach ((string key, string value) in properties)
        {
            switch (key)
            {
                case "bootstrap.servers":
                    options.BootstrapServers = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    break;
                case "client.id": options.ClientId = value; break;
                case "client.software.name": options.ClientSoftwareName = value; break;
                case "client.software.version": options.ClientSoftwareVersion = value; break;
                case "request.timeout.ms": options.RequestTimeout = Millis(key, value); break;
                case "socket.connection.setup.timeout.ms": options.SocketConnectionSetupTimeout = Millis(key, value); break;
                case "reconnect.backoff.ms": options.ReconnectBackoff = Millis(key, value); break;
                case "reconnect.backoff.max.ms": options.ReconnectBackoffMax = Millis(key, value); break;
                case "max.in.flight.requests.per.connection": options.MaxInFlightRequestsPerConnection = Int(key, value, 1); break;
                case "metadata.max.age.ms": options.MetadataMaxAge = Millis(key, value); break;
                case "retries": options.Retries = Int(key, value, 0); break;
                case "retry.backoff.ms": options.RetryBackoff = Millis(key, value); break;
                case "retry.backoff.max.ms": options.RetryBackoffMax = Millis(key, value); break;
                case "allow.auto.create.topics":
                    options.AllowAutoTopicCreation = bool.TryParse(value, out bool b) ? b : throw Bad(key, value, "true or false");
                    break;
                default:
                    throw new ArgumentException($"Unknown client config '{key}'. Known: {string.Join(", ", KnownProperties)}.", nameof(properties));
            }
        }

        options.Validate();
        return options;
    }

    /// <summary>Throws <see cref="ArgumentException"/> for values that cannot work.</summary>
    public void Validate()
    {
        if (MaxInFlightRequestsPerConnection < 1)
        {
            throw new ArgumentException($"max.in.flight.requests.per.connection must be at least 1, not {MaxInFlightRequestsPerConnection}.");
        }

        if (RequestTimeout <= TimeSpan.Zero || SocketConnectionSetupTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("request.timeout.ms and socket.connection.setup.timeout.ms must be positive.");
        }

        if (ReconnectBackoff < TimeSpan.Zero || ReconnectBackoffMax < TimeSpan.Zero || RetryBackoff < TimeSpan.Zero || RetryBackoffMax < TimeSpan.Zero)
        {
            throw new ArgumentException("Backoffs must not be negative.");
        }

        if (Retries < 0)
        {
            throw new ArgumentException($"retries must not be negative, not {Retries}.");
        }
    }

    private static TimeSpan Millis(string key, string value) =>
        long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long ms) && ms >= 0
            ? TimeSpan.FromMilliseconds(ms)
            : throw Bad(key, value, "a non-negative number of milliseconds");

    private static int Int(string key, string value, int min) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n >= min
            ? n
            : throw Bad(key, value, $"an integer of at least {min}");

    private static ArgumentException Bad(string key, string value, string expected) =>
        new($"Invalid value '{value}' for client config '{key}': expected {expected}.");
}
