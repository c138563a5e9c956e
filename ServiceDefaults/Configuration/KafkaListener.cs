using System.Net;
using Aspire.Kafka.Config;

namespace Aspire.Kafka.ServiceDefaults.Configuration;

/// <summary>One entry of <c>listeners</c>: <c>NAME://host:port</c>.</summary>
public sealed record KafkaListener(string Name, string Host, int Port, string SecurityProtocol)
{
    /// <summary>
    /// Parses <c>listeners</c> with <c>listener.security.protocol.map</c>. Names must be unique,
    /// every name must map to a protocol, and only PLAINTEXT is served; anything else is a
    /// <see cref="ConfigException"/> naming the listener.
    /// </summary>
    public static IReadOnlyList<KafkaListener> Parse(IReadOnlyList<string> listeners, string securityProtocolMap)
    {
        Dictionary<string, string> map = ParseMap(securityProtocolMap);
        var result = new List<KafkaListener>();
        foreach (string entry in listeners)
        {
            int sep = entry.IndexOf("://", StringComparison.Ordinal);
            if (sep <= 0)
            {
                throw new ConfigException(ServiceDefaultsConfig.Listeners, entry, "a listener must look like NAME://host:port");
            }

            string name = entry[..sep].ToUpperInvariant();
            string hostPort = entry[(sep + 3)..];
            int colon = hostPort.LastIndexOf(':');
            if (colon < 0 || !int.TryParse(hostPort.AsSpan(colon + 1), out int port) || port is < 0 or > 65535)
            {
                throw new ConfigException(ServiceDefaultsConfig.Listeners, entry, "a listener must look like NAME://host:port with a port from 0 to 65535");
            }

            string host = hostPort[..colon];
            if (host.StartsWith('[') && host.EndsWith(']'))
            {
                host = host[1..^1];
            }

            if (!map.TryGetValue(name, out string? protocol))
            {
                throw new ConfigException(ServiceDefaultsConfig.Listeners, entry,
                    $"listener name {name} has no security protocol in {ServiceDefaultsConfig.ListenerSecurityProtocolMap}");
            }

            if (protocol != "PLAINTEXT")
            {
                throw new ConfigException(ServiceDefaultsConfig.Listeners, entry,
                    $"listener {name} uses security protocol {protocol}, but only PLAINTEXT is supported");
            }

            if (result.Any(l => l.Name == name))
            {
                throw new ConfigException(ServiceDefaultsConfig.Listeners, string.Join(',', listeners), $"listener name {name} appears twice");
            }

            result.Add(new KafkaListener(name, host, port, protocol));
        }

        return result;
    }

    private static Dictionary<string, string> ParseMap(string value)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string pair in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            int colon = pair.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new ConfigException(ServiceDefaultsConfig.ListenerSecurityProtocolMap, value, $"entry {pair} must look like NAME:PROTOCOL");
            }

            string protocol = pair[(colon + 1)..].ToUpperInvariant();
            if (protocol is not ("PLAINTEXT" or "SSL" or "SASL_PLAINTEXT" or "SASL_SSL"))
            {
                throw new ConfigException(ServiceDefaultsConfig.ListenerSecurityProtocolMap, value, $"{protocol} is not a security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)");
            }

            map[pair[..colon].ToUpperInvariant()] = protocol;
        }

        return map;
    }

    /// <summary>The addresses to bind: all interfaces for an empty host, loopback for localhost, else the parsed or resolved address.</summary>
    public IPAddress[] BindAddresses()
    {
        if (Host.Length == 0 || Host == "0.0.0.0")
        {
            return [IPAddress.Any];
        }

        if (Host == "::")
        {
            return [IPAddress.IPv6Any];
        }

        if (Host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return [IPAddress.Loopback];
        }

        return IPAddress.TryParse(Host, out IPAddress? address) ? [address] : [Dns.GetHostAddresses(Host)[0]];
    }
}
