using System.Globalization;
using Aspire.Kafka.Config;
using Range = Aspire.Kafka.Config.Range;

namespace Aspire.Kafka.Client;

/// <summary>
/// Client configuration. Property names are .NET's; <see cref="FromProperties"/> reads Kafka's
/// names (client.id, request.timeout.ms, …) through <see cref="ConfigDef"/>, which declares
/// each with its default (the README lists them).
/// </summary>
public sealed class KafkaClientOptions
{
    /// <summary>The Kafka-named client keys, with type, default and validator.</summary>
    public static ConfigDef ConfigDef { get; } = new ConfigDef()
        .Define("bootstrap.servers", ConfigType.List, "", Importance.High, "host:port pairs used to find the cluster.")
        .Define("client.id", ConfigType.String, "aspire-kafka", Importance.Medium, "Sent in every request header.")
        .Define("client.software.name", ConfigType.String, "aspire-kafka-client", Importance.Low, "KIP-511 software name (ApiVersions v3+).")
        .Define("client.software.version", ConfigType.String, "1.0.0", Importance.Low, "KIP-511 software version (ApiVersions v3+).")
        .Define("request.timeout.ms", ConfigType.Long, 30000L, Range.AtLeast(1), Importance.Medium, "How long a request may wait for its response.")
        .Define("socket.connection.setup.timeout.ms", ConfigType.Long, 10000L, Range.AtLeast(1), Importance.Medium, "How long a TCP connect may take.")
        .Define("reconnect.backoff.ms", ConfigType.Long, 50L, Range.AtLeast(0), Importance.Low, "The first wait before reconnecting to a node that failed.")
        .Define("reconnect.backoff.max.ms", ConfigType.Long, 1000L, Range.AtLeast(0), Importance.Low, "The cap of the exponential reconnect backoff.")
        .Define("max.in.flight.requests.per.connection", ConfigType.Int, 5, Range.AtLeast(1), Importance.Low, "Requests written but not yet answered, per connection.")
        .Define("metadata.max.age.ms", ConfigType.Long, 300000L, Range.AtLeast(0), Importance.Low, "Cached metadata older than this is refreshed before use.")
        .Define("retries", ConfigType.Int, 5, Range.AtLeast(0), Importance.High, "How often KafkaClient retries an operation that failed with a retriable error.")
        .Define("retry.backoff.ms", ConfigType.Long, 100L, Range.AtLeast(0), Importance.Low, "The first wait before a retry (exponential, KIP-580).")
        .Define("retry.backoff.max.ms", ConfigType.Long, 1000L, Range.AtLeast(0), Importance.Low, "The cap of the retry backoff.")
        .Define("allow.auto.create.topics", ConfigType.Boolean, false, Importance.Medium,
            "Sent in Metadata requests. Kafka's consumer defaults to true; this client defaults to false so a service never creates a topic by looking it up.");

    /// <summary>bootstrap.servers: host:port pairs used to find the cluster.</summary>
    public IReadOnlyList<string> BootstrapServers { get; set; } = [];

    /// <summary>client.id: sent in every request header.</summary>
    public string ClientId { get; set; } = (string)ConfigDef["client.id"].DefaultValue!;

    /// <summary>client.software.name (KIP-511, ApiVersions v3+).</summary>
    public string ClientSoftwareName { get; set; } = (string)ConfigDef["client.software.name"].DefaultValue!;

    /// <summary>client.software.version (KIP-511, ApiVersions v3+).</summary>
    public string ClientSoftwareVersion { get; set; } = (string)ConfigDef["client.software.version"].DefaultValue!;

    /// <summary>request.timeout.ms: how long a request may wait for its response.</summary>
    public TimeSpan RequestTimeout { get; set; } = DefaultMillis("request.timeout.ms");

    /// <summary>socket.connection.setup.timeout.ms: how long a TCP connect may take.</summary>
    public TimeSpan SocketConnectionSetupTimeout { get; set; } = DefaultMillis("socket.connection.setup.timeout.ms");

    /// <summary>reconnect.backoff.ms: the first wait before reconnecting to a node that failed.</summary>
    public TimeSpan ReconnectBackoff { get; set; } = DefaultMillis("reconnect.backoff.ms");

    /// <summary>reconnect.backoff.max.ms: the cap of the exponential reconnect backoff.</summary>
    public TimeSpan ReconnectBackoffMax { get; set; } = DefaultMillis("reconnect.backoff.max.ms");

    /// <summary>max.in.flight.requests.per.connection: requests written but not yet answered, per connection.</summary>
    public int MaxInFlightRequestsPerConnection { get; set; } = (int)ConfigDef["max.in.flight.requests.per.connection"].DefaultValue!;

    /// <summary>metadata.max.age.ms: cached metadata older than this is refreshed before use.</summary>
    public TimeSpan MetadataMaxAge { get; set; } = DefaultMillis("metadata.max.age.ms");

    /// <summary>retries: how often KafkaClient retries an operation that failed with a retriable error.</summary>
    public int Retries { get; set; } = (int)ConfigDef["retries"].DefaultValue!;

    /// <summary>retry.backoff.ms: the first wait before a retry (exponential, KIP-580).</summary>
    public TimeSpan RetryBackoff { get; set; } = DefaultMillis("retry.backoff.ms");

    /// <summary>retry.backoff.max.ms: the cap of the retry backoff.</summary>
    public TimeSpan RetryBackoffMax { get; set; } = DefaultMillis("retry.backoff.max.ms");

    /// <summary>
    /// allow.auto.create.topics: sent in Metadata requests. Kafka's consumer defaults to true;
    /// this client defaults to false so a service never creates a topic by looking it up.
    /// </summary>
    public bool AllowAutoTopicCreation { get; set; } = (bool)ConfigDef["allow.auto.create.topics"].DefaultValue!;

    /// <summary>
    /// Send ApiVersions when a connection opens and pick versions from the answer (always on
    /// for Kafka clients; off only for tests that talk to a node that lacks ApiVersions).
    /// </summary>
    public bool NegotiateApiVersions { get; set; } = true;

    /// <summary>Largest response frame accepted (a larger size prefix is a protocol error).</summary>
    public int MaxResponseSize { get; set; } = 512 * 1024 * 1024;

    /// <summary>The Kafka names <see cref="FromProperties"/> understands.</summary>
    public static IReadOnlyList<string> KnownProperties { get; } = [.. ConfigDef.Keys.Select(k => k.Name)];

    /// <summary>
    /// Options from Kafka-named properties. An unknown name or a bad value throws
    /// <see cref="ArgumentException"/> naming it (never silently ignored).
    /// </summary>
    public static KafkaClientOptions FromProperties(IEnumerable<KeyValuePair<string, string>> properties)
    {
        ArgumentNullException.ThrowIfNull(properties);
        var options = new KafkaClientOptions();
        foreach ((string key, string raw) in properties)
        {
            if (!ConfigDef.TryGetKey(key, out ConfigKey def))
            {
                throw new ArgumentException($"Unknown client config '{key}'. Known: {string.Join(", ", KnownProperties)}.", nameof(properties));
            }

            object value;
            try
            {
                value = Config.ConfigDef.Parse(def, raw)!;
            }
            catch (ConfigException e)
            {
                throw new ArgumentException($"Invalid value '{raw}' for client config '{key}': {e.Reason}.", nameof(properties), e);
            }

            switch (key)
            {
                case "bootstrap.servers": options.BootstrapServers = (string[])value; break;
                case "client.id": options.ClientId = (string)value; break;
                case "client.software.name": options.ClientSoftwareName = (string)value; break;
                case "client.software.version": options.ClientSoftwareVersion = (string)value; break;
                case "request.timeout.ms": options.RequestTimeout = Millis(value); break;
                case "socket.connection.setup.timeout.ms": options.SocketConnectionSetupTimeout = Millis(value); break;
                case "reconnect.backoff.ms": options.ReconnectBackoff = Millis(value); break;
                case "reconnect.backoff.max.ms": options.ReconnectBackoffMax = Millis(value); break;
                case "max.in.flight.requests.per.connection": options.MaxInFlightRequestsPerConnection = (int)value; break;
                case "metadata.max.age.ms": options.MetadataMaxAge = Millis(value); break;
                case "retries": options.Retries = (int)value; break;
                case "retry.backoff.ms": options.RetryBackoff = Millis(value); break;
                case "retry.backoff.max.ms": options.RetryBackoffMax = Millis(value); break;
                case "allow.auto.create.topics": options.AllowAutoTopicCreation = (bool)value; break;
                default: throw new InvalidOperationException($"Client config {key} is declared but not applied."); // unreachable: every declared key has a case
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

    private static TimeSpan Millis(object value) => TimeSpan.FromMilliseconds((long)value);

    private static TimeSpan DefaultMillis(string key) => Millis(ConfigDef[key].DefaultValue!);
}
