using System.Net;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;
using Microsoft.Extensions.DependencyInjection;

namespace Aspire.Kafka.Server.Tests;

public sealed class KafkaApiDispatcherTests
{
    /// <summary>A produce handler that answers nothing when acks=0, like the broker will.</summary>
    private sealed class SilentProduceApi : KafkaApi<ProduceRequest, ProduceResponse>
    {
        public override VersionRange SupportedVersions => new(3, 9);

        public override VersionRange AdvertisedVersions => new(0, 9);

        protected override ValueTask<ProduceResponse?> HandleAsync(RequestContext context, ProduceRequest request, CancellationToken cancellationToken) =>
            ValueTask.FromResult<ProduceResponse?>(request.Acks == 0 ? null : new ProduceResponse());
    }

    /// <summary>Records when it was disposed: how many response bytes had been written by then.</summary>
    private sealed class WrittenProbe(KafkaWriter response) : IDisposable
    {
        public int? WrittenWhenDisposed { get; private set; }

        public void Dispose() => WrittenWhenDisposed = response.Position;
    }

    /// <summary>A produce handler that hands the dispatcher a resource to keep until its response is written.</summary>
    private sealed class ProbingProduceApi(WrittenProbe probe) : KafkaApi<ProduceRequest, ProduceResponse>
    {
        protected override ValueTask<ProduceResponse?> HandleAsync(RequestContext context, ProduceRequest request, CancellationToken cancellationToken)
        {
            context.KeepUntilWritten(probe);
            return request.TimeoutMs < 0
                ? throw new InvalidOperationException("handler failed")
                : ValueTask.FromResult<ProduceResponse?>(request.Acks == 0 ? null : new ProduceResponse());
        }
    }

    private static readonly KafkaConnectionContext Connection = new("c1", "PLAINTEXT", new IPEndPoint(IPAddress.Loopback, 5000), null);

    private static KafkaApiDispatcher NewDispatcher()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddKafkaApiDispatcher();
        services.AddSingleton<IKafkaApi, SilentProduceApi>();
        ServiceProvider provider = services.BuildServiceProvider();
        Assert.Same(provider.GetRequiredService<KafkaApiDispatcher>(), provider.GetRequiredService<IKafkaRequestHandler>());
        return provider.GetRequiredService<KafkaApiDispatcher>();
    }

    private static byte[] Request(IApiMessage body, short version, int correlationId = 42, string? clientId = "test-client")
    {
        ApiMessageType type = ApiMessageTypes.Find(body.ApiKey)!;
        using var writer = new KafkaWriter();
        new RequestHeader { RequestApiKey = body.ApiKey, RequestApiVersion = version, CorrelationId = correlationId, ClientId = clientId }
            .Write(writer, type.RequestHeaderVersion(version));
        body.Write(writer, version);
        return writer.ToArray();
    }

    private static (ResponseHeader Header, T Body) Response<T>(KafkaWriter response, short headerVersion, short version)
        where T : IKafkaMessage<T>
    {
        var reader = new KafkaReader(response.ToArray());
        ResponseHeader header = ResponseHeader.Read(ref reader, headerVersion);
        T body = T.Read(ref reader, version);
        Assert.True(reader.End);
        return (header, body);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task ApiVersions_lists_what_is_registered_with_advertised_ranges(short version)
    {
        KafkaApiDispatcher dispatcher = NewDispatcher();
        using var response = new KafkaWriter();
        var request = new ApiVersionsRequest { ClientSoftwareName = "librdkafka", ClientSoftwareVersion = "2.0.2" };
        Assert.True(await dispatcher.HandleAsync(Connection, Request(request, version), response, default));

        var (header, body) = Response<ApiVersionsResponse>(response, 0, version);
        Assert.Equal(42, header.CorrelationId);
        Assert.Equal(0, body.ErrorCode);
        Assert.Collection(body.ApiKeys.OrderBy(k => k.ApiKey),
            produce => Assert.Equal((ApiKeys.Produce, 0, 9), (produce.ApiKey, produce.MinVersion, produce.MaxVersion)),
            apiVersions => Assert.Equal((ApiKeys.ApiVersions, 0, 4), (apiVersions.ApiKey, apiVersions.MinVersion, apiVersions.MaxVersion)));
    }

    [Fact]
    public async Task ApiVersions_at_an_unknown_version_gets_UNSUPPORTED_VERSION_in_v0()
    {
        KafkaApiDispatcher dispatcher = NewDispatcher();
        using var writer = new KafkaWriter();
        // A future ApiVersions v9 whose body we cannot know: header v2 then arbitrary bytes.
        new RequestHeader { RequestApiKey = ApiKeys.ApiVersions, RequestApiVersion = 9, CorrelationId = 7, ClientId = "future" }.Write(writer, 2);
        writer.WriteRaw([1, 2, 3]);
        using var response = new KafkaWriter();
        Assert.True(await dispatcher.HandleAsync(Connection, writer.ToArray(), response, default));
        var (header, body) = Response<ApiVersionsResponse>(response, 0, 0);
        Assert.Equal(7, header.CorrelationId);
        Assert.Equal((short)ErrorCode.UnsupportedVersion, body.ErrorCode);
        Assert.Contains(body.ApiKeys, k => k.ApiKey == ApiKeys.ApiVersions && k.MaxVersion == 4);
    }

    [Fact]
    public async Task Invalid_client_software_name_is_INVALID_REQUEST()
    {
        KafkaApiDispatcher dispatcher = NewDispatcher();
        using var response = new KafkaWriter();
        var request = new ApiVersionsRequest { ClientSoftwareName = "bad name!", ClientSoftwareVersion = "1" };
        await dispatcher.HandleAsync(Connection, Request(request, 3), response, default);
        Assert.Equal((short)ErrorCode.InvalidRequest, Response<ApiVersionsResponse>(response, 0, 3).Body.ErrorCode);
    }

    [Fact]
    public async Task Response_header_follows_the_flexible_versions_of_the_api()
    {
        KafkaApiDispatcher dispatcher = NewDispatcher();
        using var response = new KafkaWriter();
        var produce = new ProduceRequest { Acks = 1, TimeoutMs = 1000 };
        Assert.True(await dispatcher.HandleAsync(Connection, Request(produce, 9), response, default));
        Assert.Equal(42, Response<ProduceResponse>(response, 1, 9).Header.CorrelationId);
    }

    [Fact]
    public async Task Resources_kept_for_a_response_are_released_after_it_is_written_or_the_request_ends()
    {
        foreach ((short acks, int timeout, bool answered) in new[] { ((short)1, 1000, true), ((short)0, 1000, false), ((short)1, -1, false) })
        {
            using var response = new KafkaWriter();
            var probe = new WrittenProbe(response);
            var services = new ServiceCollection();
            services.AddLogging();
            services.AddKafkaApiDispatcher();
            services.AddSingleton<IKafkaApi>(new ProbingProduceApi(probe));
            KafkaApiDispatcher dispatcher = services.BuildServiceProvider().GetRequiredService<KafkaApiDispatcher>();
            byte[] request = Request(new ProduceRequest { Acks = acks, TimeoutMs = timeout }, 9);
            if (timeout < 0)
            {
                await Assert.ThrowsAsync<InvalidOperationException>(async () => await dispatcher.HandleAsync(Connection, request, response, default));
            }
            else
            {
                Assert.Equal(answered, await dispatcher.HandleAsync(Connection, request, response, default));
            }

            Assert.NotNull(probe.WrittenWhenDisposed);
            Assert.Equal(answered ? response.Position : 0, probe.WrittenWhenDisposed);
            Assert.True(!answered || probe.WrittenWhenDisposed > 0);
        }
    }

    [Fact]
    public async Task Acks_zero_produce_sends_no_response()
    {
        KafkaApiDispatcher dispatcher = NewDispatcher();
        using var response = new KafkaWriter();
        Assert.False(await dispatcher.HandleAsync(Connection, Request(new ProduceRequest { Acks = 0 }, 7), response, default));
        Assert.Equal(0, response.Position);
    }

    [Fact]
    public async Task Unserved_api_unsupported_version_and_garbage_close_the_connection()
    {
        KafkaApiDispatcher dispatcher = NewDispatcher();
        using var response = new KafkaWriter();
        await Assert.ThrowsAsync<UnsupportedVersionException>(async () =>
            await dispatcher.HandleAsync(Connection, Request(new MetadataRequest(), 1), response, default));
        await Assert.ThrowsAsync<UnsupportedVersionException>(async () =>
            await dispatcher.HandleAsync(Connection, Request(new ProduceRequest { Acks = 1 }, 2), response, default));
        byte[] truncated = Request(new ProduceRequest { Acks = 1, TopicData = [new ProduceRequest.TopicProduceData { Name = "t" }] }, 7)[..^3];
        await Assert.ThrowsAsync<KafkaProtocolException>(async () => await dispatcher.HandleAsync(Connection, truncated, response, default));
        await Assert.ThrowsAsync<KafkaProtocolException>(async () => await dispatcher.HandleAsync(Connection, new byte[] { 0, 18 }, response, default));
        Assert.Equal(0, response.Position);
    }
}
