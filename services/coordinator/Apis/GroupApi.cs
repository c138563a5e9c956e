using System.Net;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.Coordinator.Apis;

/// <summary>What the group APIs share: the clock and the client's identity as Kafka reports it.</summary>
internal static class GroupApi
{
    public static long Now(TimeProvider time) => time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>The client host as Kafka prints it ("/127.0.0.1").</summary>
    public static string ClientHost(RequestContext context) =>
        context.Connection.RemoteEndPoint is IPEndPoint ip ? $"/{ip.Address}" : context.Connection.RemoteEndPoint?.ToString() ?? "";

    public static string ClientId(RequestContext context) => context.ClientId ?? "";
}
