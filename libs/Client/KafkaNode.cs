namespace Aspire.Kafka.Client;

/// <summary>
/// A node of the cluster (Kafka's Node): broker, controller or coordinator. Bootstrap servers
/// have negative ids until Metadata names them.
/// </summary>
public sealed record KafkaNode(int Id, string Host, int Port, string? Rack = null)
{
    /// <summary>host:port, the key connections are pooled by.</summary>
    public string Endpoint => $"{Host}:{Port}";

    public override string ToString() => Id >= 0 ? $"{Endpoint} (id: {Id})" : $"{Endpoint} (bootstrap)";

    /// <summary>Parses "host:port" (IPv6 as "[::1]:9092").</summary>
    public static KafkaNode Parse(string hostPort, int id = -1)
    {
        int colon = hostPort.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(hostPort.AsSpan(colon + 1), out int port) || port is <= 0 or > 65535)
        {
            throw new ArgumentException($"'{hostPort}' is not host:port.", nameof(hostPort));
        }

        string host = hostPort[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        return new KafkaNode(id, host, port);
    }

    /// <summary>Parses controller.quorum.voters entries "id@host:port".</summary>
    public static KafkaNode ParseVoter(string voter)
    {
        int at = voter.IndexOf('@');
        if (at <= 0 || !int.TryParse(voter.AsSpan(0, at), out int id))
        {
            throw new ArgumentException($"'{voter}' is not id@host:port.", nameof(voter));
        }

        return Parse(voter[(at + 1)..], id);
    }
}
