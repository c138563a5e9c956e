using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Client;

/// <summary>
/// The versions a node advertised in ApiVersions, and the ones usable with it: per API,
/// [max(our min, their min), min(our max, their max)] (Kafka's NodeApiVersions).
/// </summary>
public sealed class NodeApiVersions
{
    private readonly Dictionary<short, VersionRange> _node;
    private readonly Dictionary<short, VersionRange> _usable;

    public NodeApiVersions(IEnumerable<ApiVersionsResponse.ApiVersion> advertised)
    {
        _node = [];
        _usable = [];
        foreach (ApiVersionsResponse.ApiVersion v in advertised)
        {
            var theirs = new VersionRange(v.MinVersion, v.MaxVersion);
            _node[v.ApiKey] = theirs;
            if (ApiMessageTypes.Find(v.ApiKey) is { } type)
            {
                var usable = new VersionRange(Math.Max(type.ValidVersions.Lowest, theirs.Lowest), Math.Min(type.ValidVersions.Highest, theirs.Highest));
                if (!usable.IsEmpty)
                {
                    _usable[v.ApiKey] = usable;
                }
            }
        }
    }

    /// <summary>What the node advertised, per API key (including APIs this client does not know).</summary>
    public IReadOnlyDictionary<short, VersionRange> NodeVersions => _node;

    /// <summary>The negotiated table: versions both sides support, per API key.</summary>
    public IReadOnlyDictionary<short, VersionRange> Usable => _usable;

    public bool TryGetUsable(short apiKey, out VersionRange range) => _usable.TryGetValue(apiKey, out range);

    /// <summary>The highest version both support, or throws <see cref="UnsupportedApiVersionException"/>.</summary>
    public short LatestUsableVersion(short apiKey, string endpoint = "node") =>
        LatestUsableVersion(apiKey, ApiMessageTypes.Find(apiKey)?.ValidVersions ?? VersionRange.None, endpoint);

    /// <summary>The highest version in both the node's range and <paramref name="wanted"/> (e.g. Produce v3+ for v2 record batches).</summary>
    public short LatestUsableVersion(short apiKey, VersionRange wanted, string endpoint = "node")
    {
        VersionRange? theirs = _node.TryGetValue(apiKey, out VersionRange t) ? t : null;
        if (theirs is { } r)
        {
            short high = Math.Min(r.Highest, wanted.Highest);
            if (high >= Math.Max(r.Lowest, wanted.Lowest))
            {
                return high;
            }
        }

        throw new UnsupportedApiVersionException(endpoint, apiKey, wanted, theirs);
    }

    /// <summary>Throws <see cref="UnsupportedApiVersionException"/> unless both sides support the version.</summary>
    public void EnsureUsable(short apiKey, short version, string endpoint = "node")
    {
        if (!_usable.TryGetValue(apiKey, out VersionRange usable) || !usable.Contains(version))
        {
            throw new UnsupportedApiVersionException(endpoint, apiKey, ApiMessageTypes.Find(apiKey)?.ValidVersions ?? VersionRange.None,
                _node.TryGetValue(apiKey, out VersionRange t) ? t : null, version);
        }
    }

    public override string ToString() =>
        string.Join(", ", _usable.OrderBy(p => p.Key).Select(p => $"{ApiMessageTypes.Find(p.Key)?.Name ?? p.Key.ToString()}({p.Value})"));
}
