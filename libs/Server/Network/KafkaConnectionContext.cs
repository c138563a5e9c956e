using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;

namespace Aspire.Kafka.Server;

/// <summary>What a request handler knows about the connection a request came on.</summary>
public sealed class KafkaConnectionContext
{
    public KafkaConnectionContext(string connectionId, string listenerName, EndPoint? remoteEndPoint, EndPoint? localEndPoint)
    {
        ConnectionId = connectionId;
        ListenerName = listenerName;
        RemoteEndPoint = remoteEndPoint;
        LocalEndPoint = localEndPoint;
    }

    public string ConnectionId { get; }

    /// <summary>The listener name from <c>listeners</c> (PLAINTEXT, CONTROLLER…).</summary>
    public string ListenerName { get; }

    public EndPoint? RemoteEndPoint { get; }

    public EndPoint? LocalEndPoint { get; }

    /// <summary>
    /// The "kafka.request" span of the request being handled, when a listener records it (its tags
    /// are wanted); null otherwise, so a handler adds tags, links or events only when someone
    /// collects them. Requests on a connection are handled one at a time, so this is the current one.
    /// </summary>
    public Activity? RequestActivity { get; internal set; }

    /// <summary>Per-connection state a handler keeps between requests (e.g. the negotiated ApiVersions).</summary>
    public ConcurrentDictionary<object, object?> Items { get; } = new();
}
