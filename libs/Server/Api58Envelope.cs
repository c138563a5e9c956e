using System.Buffers.Binary;
using System.Net;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Server;

/// <summary>
/// Envelope (key 58, v0; KIP-590): a request a broker received from a client and forwards here
/// as it was — header (the client's id and correlation id) and body at the client's version — with
/// the client's address. This service handles the embedded request through its own dispatcher as
/// if the client had sent it on a connection from that address, and returns the embedded response
/// (header and body) in <c>ResponseData</c>. The coordinator tier serves the group APIs this way,
/// so the groups it describes name each member's own client id and host, not the broker's.
/// <para>
/// Errors of the envelope itself (the embedded request is malformed, of an API or version not
/// served here, or an envelope again) are the envelope's <c>ErrorCode</c> (INVALID_REQUEST,
/// UNSUPPORTED_VERSION) with one log line; the connection stays open. The embedded request is
/// counted in the request metrics under its own name (OffsetCommit, JoinGroup…), next to the
/// Envelope that carried it. Who may send an envelope is
/// not checked yet: the listeners have no authentication (the security issue adds it, with
/// Kafka's CLUSTER_ACTION rule).
/// </para>
/// </summary>
public sealed partial class EnvelopeApi(IServiceProvider services, KafkaNetworkMetrics metrics, ILogger<EnvelopeApi> logger) : KafkaApi<EnvelopeRequest, EnvelopeResponse>
{
    protected override async ValueTask<EnvelopeResponse?> HandleAsync(RequestContext context, EnvelopeRequest request, CancellationToken cancellationToken)
    {
        ReadOnlyMemory<byte> embedded = request.RequestData;
        if (embedded.Length < 8)
        {
            return Refuse(context, ErrorCode.InvalidRequest, $"an embedded request of {embedded.Length} bytes has no header");
        }

        if (BinaryPrimitives.ReadInt16BigEndian(embedded.Span) == ApiKeys.Envelope)
        {
            return Refuse(context, ErrorCode.InvalidRequest, "an envelope inside an envelope");
        }

        IPAddress? address = request.ClientHostAddress.Length is 4 or 16 ? new IPAddress(request.ClientHostAddress) : null;
        var client = new KafkaConnectionContext(
            $"{context.Connection.ConnectionId}/envelope",
            context.Connection.ListenerName,
            address is null ? context.Connection.RemoteEndPoint : new IPEndPoint(address, 0),
            context.Connection.LocalEndPoint);

        // Resolved lazily: the dispatcher is built from the APIs, this API among them.
        var dispatcher = services.GetRequiredService<KafkaApiDispatcher>();
        using var response = new KafkaWriter(512);
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            bool answered = await dispatcher.HandleAsync(client, embedded, response, cancellationToken).ConfigureAwait(false);
            metrics.Request(context.Connection.ListenerName, BinaryPrimitives.ReadInt16BigEndian(embedded.Span), embedded.Length, response.Length, started);
            return answered
                ? new EnvelopeResponse { ResponseData = response.WrittenMemory.ToArray() }
                : Refuse(context, ErrorCode.InvalidRequest, "the embedded request expects no response");
        }
        catch (UnsupportedVersionException e)
        {
            return Refuse(context, ErrorCode.UnsupportedVersion, e.Message);
        }
        catch (KafkaProtocolException e)
        {
            return Refuse(context, ErrorCode.InvalidRequest, e.Message);
        }
    }

    private EnvelopeResponse Refuse(RequestContext context, ErrorCode error, string reason)
    {
        LogRefused(context.Connection.RemoteEndPoint, error, reason);
        return new EnvelopeResponse { ErrorCode = (short)error };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Envelope from {Remote} refused with {Error}: {Reason}.")]
    private partial void LogRefused(EndPoint? remote, ErrorCode error, string reason);
}
