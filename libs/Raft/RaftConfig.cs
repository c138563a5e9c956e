using System.Globalization;

namespace Aspire.Kafka.Raft;

/// <summary>One entry of <c>controller.quorum.voters</c>: <c>id@host:port</c>.</summary>
public sealed record VoterEndpoint(int Id, string Host, int Port)
{
    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"{Id}@[{Host}]:{Port}" : $"{Id}@{Host}:{Port}";
}

/// <summary>Parses the static voter set of <c>controller.quorum.voters</c>.</summary>
public static class QuorumVoters
{
    /// <summary>Parses <c>id@host:port,id@host:port,…</c> (IPv6 hosts in brackets). Throws <see cref="FormatException"/> with one clear sentence on bad input.</summary>
    public static IReadOnlyList<VoterEndpoint> Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var result = new List<VoterEndpoint>();
        var ids = new HashSet<int>();
        foreach (string raw in value.Split(','))
        {
            string entry = raw.Trim();
            if (entry.Length == 0)
            {
                continue;
            }

            int at = entry.IndexOf('@', StringComparison.Ordinal);
            if (at <= 0)
            {
                throw new FormatException($"controller.quorum.voters: '{entry}' is not of the form id@host:port.");
            }

            if (!int.TryParse(entry.AsSpan(0, at), NumberStyles.None, CultureInfo.InvariantCulture, out int id) || id < 0)
            {
                throw new FormatException($"controller.quorum.voters: '{entry}' has an invalid node id '{entry[..at]}'.");
            }

            string address = entry[(at + 1)..];
            string host;
            string portText;
            if (address.StartsWith('['))
            {
                int close = address.IndexOf(']', StringComparison.Ordinal);
                if (close < 0 || close + 1 >= address.Length || address[close + 1] != ':')
                {
                    throw new FormatException($"controller.quorum.voters: '{entry}' has an invalid IPv6 address (expected [host]:port).");
                }

                host = address[1..close];
                portText = address[(close + 2)..];
            }
            else
            {
                int colon = address.LastIndexOf(':');
                if (colon <= 0)
                {
                    throw new FormatException($"controller.quorum.voters: '{entry}' has no port (expected id@host:port).");
                }

                host = address[..colon];
                portText = address[(colon + 1)..];
            }

            if (host.Length == 0)
            {
                throw new FormatException($"controller.quorum.voters: '{entry}' has an empty host.");
            }

            if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port < 1 || port > 65535)
            {
                throw new FormatException($"controller.quorum.voters: '{entry}' has an invalid port '{portText}'.");
            }

            if (!ids.Add(id))
            {
                throw new FormatException($"controller.quorum.voters: node id {id} appears more than once.");
            }

            result.Add(new VoterEndpoint(id, host, port));
        }

        if (result.Count == 0)
        {
            throw new FormatException("controller.quorum.voters is empty: give at least one id@host:port.");
        }

        return result;
    }
}

/// <summary>
/// Configuration of one Raft node. Timeouts carry Kafka's names and defaults
/// (<c>controller.quorum.*</c>).
/// </summary>
public sealed record RaftConfig
{
    /// <summary>Metadata topic (KRaft's <c>__cluster_metadata</c>, partition 0).</summary>
    public const string MetadataTopicName = "__cluster_metadata";

    public required int NodeId { get; init; }

    /// <summary>The static voter ids (<c>controller.quorum.voters</c>). A node not in this set is an observer.</summary>
    public required IReadOnlyList<int> Voters { get; init; }

    /// <summary><c>controller.quorum.election.timeout.ms</c>.</summary>
    public int ElectionTimeoutMs { get; init; } = 1000;

    /// <summary><c>controller.quorum.fetch.timeout.ms</c>.</summary>
    public int FetchTimeoutMs { get; init; } = 2000;

    /// <summary>
    /// Randomized fetch timeout (0: Kafka's fixed one): a voter's fetch timeout is drawn from
    /// (<see cref="FetchTimeoutMs"/> − this, <see cref="FetchTimeoutMs"/>] each time its timer
    /// restarts. A leader's append answers every parked follower Fetch at once, so with a fixed
    /// timeout the followers of a crashed leader stand in the same epoch at the same instant,
    /// split the vote and lose a whole election timeout; as Raft randomizes election timeouts,
    /// drawing the fetch timeout makes one of them stand first.
    /// </summary>
    public int FetchTimeoutJitterMs { get; init; }

    /// <summary><c>controller.quorum.election.backoff.max.ms</c>.</summary>
    public int ElectionBackoffMaxMs { get; init; } = 1000;

    /// <summary><c>controller.quorum.request.timeout.ms</c>: an unanswered request is given up after this.</summary>
    public int RequestTimeoutMs { get; init; } = 2000;

    /// <summary><c>controller.quorum.retry.backoff.ms</c>.</summary>
    public int RetryBackoffMs { get; init; } = 20;

    /// <summary>MaxWaitMs followers put in their Fetch (Kafka's raft client uses 500).</summary>
    public int FetchMaxWaitMs { get; init; } = 500;

    /// <summary>Maximum bytes of entries in one Fetch response.</summary>
    public int FetchMaxBytes { get; init; } = 8 * 1024 * 1024;

    /// <summary>Maximum bytes of one FetchSnapshot chunk.</summary>
    public int SnapshotChunkBytes { get; init; } = 1024 * 1024;

    public bool IsVoter => Voters.Contains(NodeId);

    public int Majority => Voters.Count / 2 + 1;

    /// <summary>Builds a config from <c>node.id</c> and <c>controller.quorum.voters</c>.</summary>
    public static RaftConfig FromVoters(int nodeId, string quorumVoters) =>
        new() { NodeId = nodeId, Voters = QuorumVoters.Parse(quorumVoters).Select(v => v.Id).ToArray() };

    public void Validate()
    {
        if (Voters.Count == 0)
        {
            throw new ArgumentException("The voter set is empty.");
        }

        if (Voters.Distinct().Count() != Voters.Count)
        {
            throw new ArgumentException("The voter set has duplicate ids.");
        }

        if (ElectionTimeoutMs <= 0 || FetchTimeoutMs <= 0 || RequestTimeoutMs <= 0 || ElectionBackoffMaxMs <= 0 || RetryBackoffMs <= 0)
        {
            throw new ArgumentException("Raft timeouts must be positive.");
        }

        if (FetchTimeoutJitterMs < 0 || FetchTimeoutJitterMs >= FetchTimeoutMs)
        {
            throw new ArgumentException("FetchTimeoutJitterMs must be at least 0 and below FetchTimeoutMs.");
        }

        if (FetchMaxWaitMs >= RequestTimeoutMs)
        {
            throw new ArgumentException("FetchMaxWaitMs must be below RequestTimeoutMs, or every long poll times out.");
        }
    }
}
