using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Server;

/// <summary>What a handler knows about the request it is answering.</summary>
public sealed class RequestContext
{
    public RequestContext(RequestHeader header, KafkaConnectionContext connection)
    {
        Header = header;
        Connection = connection;
    }

    public RequestHeader Header { get; }

    public short ApiVersion => Header.RequestApiVersion;

    public string? ClientId => Header.ClientId;

    public KafkaConnectionContext Connection { get; }

    /// <summary>The request's "kafka.request" span when a listener records it, else null (add links, tags or events only then).</summary>
    public System.Diagnostics.Activity? Activity => Connection.RequestActivity;

    private List<IDisposable>? _untilWritten;

    /// <summary>
    /// Keeps <paramref name="resource"/> (e.g. a pooled buffer the response's bytes live in) until
    /// the response has been written to the connection's output, then disposes it; also disposed
    /// when the request fails or sends no response.
    /// </summary>
    public void KeepUntilWritten(IDisposable resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        (_untilWritten ??= []).Add(resource);
    }

    internal void ReleaseResources()
    {
        if (_untilWritten is null)
        {
            return;
        }

        foreach (IDisposable resource in _untilWritten)
        {
            resource.Dispose();
        }

        _untilWritten = null;
    }
}

/// <summary>One Kafka API a service serves: its key, the versions it accepts, and how to answer.</summary>
public interface IKafkaApi
{
    short ApiKey { get; }

    /// <summary>Versions this service parses and answers.</summary>
    VersionRange SupportedVersions { get; }

    /// <summary>
    /// Versions ApiVersions advertises. Usually <see cref="SupportedVersions"/>; Produce is
    /// advertised from v0 although only v3+ is served, because librdkafka turns compression off
    /// otherwise (KAFKA-18659).
    /// </summary>
    VersionRange AdvertisedVersions { get; }

    /// <summary>Parses the request body (after the header) at <paramref name="version"/>.</summary>
    IApiMessage Parse(ReadOnlyMemory<byte> body, short version);

    /// <summary>Answers; null means "send no response" (Produce with acks=0).</summary>
    ValueTask<IApiMessage?> HandleAsync(RequestContext context, IApiMessage request, CancellationToken cancellationToken);
}

/// <summary>
/// Base class of the per-API handler files (<c>Api00Produce.cs</c>, <c>Api18ApiVersions.cs</c>…):
/// typed request and response, versions from the generated message unless narrowed.
/// </summary>
public abstract class KafkaApi<TRequest, TResponse> : IKafkaApi
    where TRequest : class, IApiMessage<TRequest>
    where TResponse : class, IApiMessage<TResponse>
{
    public short ApiKey => TRequest.MessageApiKey;

    public virtual VersionRange SupportedVersions => TRequest.ValidVersions;

    public virtual VersionRange AdvertisedVersions => SupportedVersions;

    public IApiMessage Parse(ReadOnlyMemory<byte> body, short version)
    {
        var reader = new KafkaReader(body);
        TRequest request = TRequest.Read(ref reader, version);
        if (!reader.End)
        {
            throw new KafkaProtocolException($"{typeof(TRequest).Name} v{version} left {reader.Remaining} unread bytes.");
        }

        return request;
    }

    public async ValueTask<IApiMessage?> HandleAsync(RequestContext context, IApiMessage request, CancellationToken cancellationToken) =>
        await HandleAsync(context, (TRequest)request, cancellationToken).ConfigureAwait(false);

    protected abstract ValueTask<TResponse?> HandleAsync(RequestContext context, TRequest request, CancellationToken cancellationToken);
}
