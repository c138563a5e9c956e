using System.Buffers.Binary;
using System.Diagnostics;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Server;

/// <summary>
/// Turns request frames into handler calls: reads the request header at the version the API
/// dictates, checks the version, parses the body, calls the API's handler and writes response
/// header + body at the same version. Requests the service cannot serve get Kafka's answer:
/// ApiVersions at an unsupported version gets a v0 response with UNSUPPORTED_VERSION and our
/// ranges (so the client can retry lower); any other unknown API or version closes the
/// connection with one log line, as Kafka does.
/// </summary>
public sealed partial class KafkaApiDispatcher : IKafkaRequestHandler
{
    private readonly Dictionary<short, IKafkaApi> _apis;
    private readonly ILogger<KafkaApiDispatcher> _logger;

    public KafkaApiDispatcher(IEnumerable<IKafkaApi> apis, ILogger<KafkaApiDispatcher> logger)
    {
        _apis = [];
        foreach (IKafkaApi api in apis)
        {
            if (!_apis.TryAdd(api.ApiKey, api))
            {
                throw new InvalidOperationException($"Two handlers registered for API key {api.ApiKey}.");
            }
        }

        _logger = logger;
    }

    public IReadOnlyCollection<IKafkaApi> Apis => _apis.Values;

    /// <summary>The ApiVersions table this service advertises.</summary>
    public List<ApiVersionsResponse.ApiVersion> AdvertisedVersions() =>
        _apis.Values
            .OrderBy(a => a.ApiKey)
            .Select(a => new ApiVersionsResponse.ApiVersion { ApiKey = a.ApiKey, MinVersion = a.AdvertisedVersions.Lowest, MaxVersion = a.AdvertisedVersions.Highest })
            .ToList();

    public async ValueTask<bool> HandleAsync(KafkaConnectionContext connection, ReadOnlyMemory<byte> request, KafkaWriter response, CancellationToken cancellationToken)
    {
        if (request.Length < 8)
        {
            throw new KafkaProtocolException($"A request of {request.Length} bytes is too short for a request header.");
        }

        short apiKey = BinaryPrimitives.ReadInt16BigEndian(request.Span);
        short apiVersion = BinaryPrimitives.ReadInt16BigEndian(request.Span[2..]);
        ApiMessageType? type = ApiMessageTypes.Find(apiKey);
        if (type is null || !_apis.TryGetValue(apiKey, out IKafkaApi? api))
        {
            LogUnknownApi(connection.RemoteEndPoint, apiKey, apiVersion);
            throw new UnsupportedVersionException($"API key {apiKey} is not served here.");
        }

        if (!api.SupportedVersions.Contains(apiVersion) || !type.ValidVersions.Contains(apiVersion))
        {
            if (apiKey == ApiKeys.ApiVersions)
            {
                // KIP-511: answer with v0 framing so any client can read it, then it retries lower.
                int correlationId = BinaryPrimitives.ReadInt32BigEndian(request.Span[4..]);
                new ResponseHeader { CorrelationId = correlationId }.Write(response, 0);
                new ApiVersionsResponse { ErrorCode = (short)ErrorCode.UnsupportedVersion, ApiKeys = AdvertisedVersions() }.Write(response, 0);
                return true;
            }

            LogUnsupportedVersion(connection.RemoteEndPoint, type.Name, apiVersion, api.SupportedVersions.ToString());
            throw new UnsupportedVersionException($"{type.Name} v{apiVersion} is not served here (supported: {api.SupportedVersions}).");
        }

        var reader = new KafkaReader(request);
        RequestHeader header = RequestHeader.Read(ref reader, type.RequestHeaderVersion(apiVersion));
        Activity? span = connection.RequestActivity;
        if (span is not null)
        {
            RequestSpan.OnRequest(span, type, header, connection);
        }

        IApiMessage body;
        try
        {
            body = api.Parse(reader.RemainingMemory, apiVersion);
        }
        catch (KafkaProtocolException e)
        {
            LogMalformed(connection.RemoteEndPoint, type.Name, apiVersion, header.ClientId, e.Message);
            throw;
        }

        if (span is not null)
        {
            RequestSpan.OnParsed(span, body);
        }

        var context = new RequestContext(header, connection);
        try
        {
            IApiMessage? answer = await api.HandleAsync(context, body, cancellationToken).ConfigureAwait(false);
            if (span is not null)
            {
                RequestSpan.OnResponse(span, answer);
            }

            if (answer is null)
            {
                return false;
            }

            new ResponseHeader { CorrelationId = header.CorrelationId }.Write(response, type.ResponseHeaderVersion(apiVersion));
            answer.Write(response, apiVersion);
            return true;
        }
        finally
        {
            context.ReleaseResources();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Closing connection from {Remote}: API key {ApiKey} (version {ApiVersion}) is not served here.")]
    private partial void LogUnknownApi(System.Net.EndPoint? remote, short apiKey, short apiVersion);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Closing connection from {Remote}: {Api} version {ApiVersion} is not supported (supported: {Supported}).")]
    private partial void LogUnsupportedVersion(System.Net.EndPoint? remote, string api, short apiVersion, string supported);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Closing connection from {Remote}: malformed {Api} v{ApiVersion} request from client '{ClientId}': {Reason}")]
    private partial void LogMalformed(System.Net.EndPoint? remote, string api, short apiVersion, string? clientId, string reason);
}
