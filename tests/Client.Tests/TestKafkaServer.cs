using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Framing;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Client.Tests;

/// <summary>One request as a test server received it: the exact frame bytes and the decoded header.</summary>
public sealed class TestRequest
{
    public TestRequest(TestServerConnection connection, byte[] frame)
    {
        Connection = connection;
        Frame = frame;
        ApiKey = BinaryPrimitives.ReadInt16BigEndian(frame);
        ApiVersion = BinaryPrimitives.ReadInt16BigEndian(frame.AsSpan(2));
        CorrelationId = BinaryPrimitives.ReadInt32BigEndian(frame.AsSpan(4));
        Type = ApiMessageTypes.Find(ApiKey)!;
        var reader = new KafkaReader(frame);
        Header = RequestHeader.Read(ref reader, Type.RequestHeaderVersion(ApiVersion));
        Body = reader.RemainingMemory;
    }

    public TestServerConnection Connection { get; }

    /// <summary>The frame without its size prefix, exactly as received.</summary>
    public byte[] Frame { get; }

    public short ApiKey { get; }

    public short ApiVersion { get; }

    public int CorrelationId { get; }

    public ApiMessageType Type { get; }

    public RequestHeader Header { get; }

    public ReadOnlyMemory<byte> Body { get; }

    public T Read<T>()
        where T : IKafkaMessage<T>
    {
        var reader = new KafkaReader(Body);
        T message = T.Read(ref reader, ApiVersion);
        Assert.True(reader.End, $"{typeof(T).Name} v{ApiVersion} left {reader.Remaining} bytes");
        return message;
    }

    /// <summary>Answers with the response header version the API requires.</summary>
    public Task RespondAsync(IApiMessage response, int? correlationId = null) =>
        Connection.WriteResponseAsync(correlationId ?? CorrelationId, Type.ResponseHeaderVersion(ApiVersion), response, ApiVersion);
}

/// <summary>A server-side connection: writes responses (or raw bytes), can be aborted.</summary>
public sealed class TestServerConnection(Socket socket)
{
    private readonly SemaphoreSlim _write = new(1, 1);

    public Socket Socket { get; } = socket;

    public async Task WriteResponseAsync(int correlationId, short headerVersion, IApiMessage body, short version)
    {
        using var writer = new KafkaWriter();
        int size = KafkaFrame.BeginFrame(writer);
        new ResponseHeader { CorrelationId = correlationId }.Write(writer, headerVersion);
        body.Write(writer, version);
        KafkaFrame.EndFrame(writer, size);
        await WriteRawAsync(writer.ToArray());
    }

    public async Task WriteRawAsync(byte[] bytes)
    {
        await _write.WaitAsync();
        try
        {
            await Socket.SendAsync(bytes, SocketFlags.None);
        }
        finally
        {
            _write.Release();
        }
    }

    public void Abort()
    {
        try
        {
            Socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }

        Socket.Close();
    }
}

/// <summary>
/// A Kafka-protocol server on a loopback port with real sockets, for tests. Every request goes
/// to the handler; one it does not handle (returns false) is answered when it is ApiVersions
/// (from <see cref="AdvertisedVersions"/>, with KIP-511's v0 UNSUPPORTED_VERSION answer above
/// <see cref="MaxApiVersionsVersion"/>), otherwise the connection is closed.
/// </summary>
public sealed class TestKafkaServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Func<TestRequest, Task<bool>> _handler;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<TestServerConnection> _connections = [];
    private readonly Task _acceptLoop;
    private int _accepted;

    public TestKafkaServer(Func<TestRequest, Task<bool>>? handler = null, bool closeOnAccept = false)
    {
        _handler = handler ?? (_ => Task.FromResult(false));
        CloseOnAccept = closeOnAccept;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port { get; }

    public bool CloseOnAccept { get; }

    public int Accepted => Volatile.Read(ref _accepted);

    public ConcurrentQueue<TestRequest> Received { get; } = new();

    /// <summary>Highest ApiVersions version answered normally; above it: v0 UNSUPPORTED_VERSION (KIP-511).</summary>
    public short MaxApiVersionsVersion { get; set; } = 4;

    /// <summary>What ApiVersions advertises: every API at every version we know, unless replaced.</summary>
    public List<ApiVersionsResponse.ApiVersion> AdvertisedVersions { get; set; } =
        ApiMessageTypes.All.Select(t => new ApiVersionsResponse.ApiVersion { ApiKey = t.ApiKey, MinVersion = t.ValidVersions.Lowest, MaxVersion = t.ValidVersions.Highest }).ToList();

    public KafkaNode Node(int id = 1) => new(id, "127.0.0.1", Port);

    public IEnumerable<TestRequest> ReceivedOf(short apiKey) => Received.Where(r => r.ApiKey == apiKey);

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        foreach (TestServerConnection c in _connections)
        {
            c.Abort();
        }

        try
        {
            await _acceptLoop;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            Interlocked.Increment(ref _accepted);
            var connection = new TestServerConnection(socket);
            _connections.Add(connection);
            if (CloseOnAccept)
            {
                connection.Abort();
                continue;
            }

            _ = ServeAsync(connection);
        }
    }

    private async Task ServeAsync(TestServerConnection connection)
    {
        await using var stream = new NetworkStream(connection.Socket, ownsSocket: false);
        PipeReader reader = PipeReader.Create(stream);
        try
        {
            while (true)
            {
                ReadResult result = await reader.ReadAsync(_stop.Token);
                ReadOnlySequence<byte> buffer = result.Buffer;
                while (KafkaFrame.TryRead(ref buffer, KafkaFrame.DefaultMaxFrameSize, out ReadOnlySequence<byte> frame))
                {
                    var request = new TestRequest(connection, frame.ToArray());
                    Received.Enqueue(request);
                    if (!await _handler(request))
                    {
                        if (request.ApiKey == ApiKeys.ApiVersions)
                        {
                            await AnswerApiVersionsAsync(request);
                        }
                        else
                        {
                            connection.Abort();
                            return;
                        }
                    }
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            await reader.CompleteAsync();
            connection.Abort();
        }
    }

    public Task AnswerApiVersionsAsync(TestRequest request)
    {
        if (request.ApiVersion > MaxApiVersionsVersion)
        {
            var unsupported = new ApiVersionsResponse
            {
                ErrorCode = (short)ErrorCode.UnsupportedVersion,
                ApiKeys = [new ApiVersionsResponse.ApiVersion { ApiKey = ApiKeys.ApiVersions, MinVersion = 0, MaxVersion = MaxApiVersionsVersion }],
            };
            return request.Connection.WriteResponseAsync(request.CorrelationId, 0, unsupported, 0);
        }

        return request.RespondAsync(new ApiVersionsResponse { ErrorCode = 0, ApiKeys = AdvertisedVersions });
    }
}
