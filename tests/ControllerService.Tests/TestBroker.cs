using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.ControllerService.Tests;

/// <summary>
/// A stand-in broker speaking the raw controller protocol: BrokerRegistration with the active
/// controller, then BrokerHeartbeat every <see cref="IntervalMs"/> in the background (so it stays
/// unfenced) until <see cref="StopHeartbeatsAsync"/>.
/// </summary>
internal sealed class TestBroker : IAsyncDisposable
{
    public const int IntervalMs = 250;

    private readonly Quorum _quorum;
    private CancellationTokenSource? _heartbeats;
    private Task _loop = Task.CompletedTask;

    private TestBroker(Quorum quorum, int id, long epoch)
    {
        _quorum = quorum;
        Id = id;
        Epoch = epoch;
    }

    public int Id { get; }

    public long Epoch { get; }

    /// <summary>The last heartbeat error other than NOT_CONTROLLER (0: none).</summary>
    public short LastError { get; private set; }

    public static async Task<TestBroker> RegisterAsync(Quorum quorum, int id)
    {
        string clusterId = quorum.Node(1).Resource.ClusterId!;
        BrokerRegistrationResponse registered = await quorum.SendToControllerAsync<BrokerRegistrationRequest, BrokerRegistrationResponse>(new BrokerRegistrationRequest
        {
            BrokerId = id,
            ClusterId = clusterId,
            IncarnationId = new KafkaUuid(id, 1),
            Listeners = [new BrokerRegistrationRequest.Listener { Name = "PLAINTEXT", Host = "127.0.0.1", Port = (ushort)(19000 + id), SecurityProtocol = 0 }],
            Features = [new BrokerRegistrationRequest.Feature { Name = "metadata.version", MinSupportedVersion = 1, MaxSupportedVersion = 19 }],
        }, r => r.ErrorCode == (short)ErrorCode.NotController);
        Assert.True(registered.ErrorCode == 0, $"broker {id} registration: error {registered.ErrorCode}");
        var broker = new TestBroker(quorum, id, registered.BrokerEpoch);
        broker.StartHeartbeats();
        return broker;
    }

    /// <summary>Registers the brokers and waits until every one is unfenced (listed in the leader's Metadata).</summary>
    public static async Task<TestBroker[]> RegisterUnfencedAsync(Quorum quorum, params int[] ids)
    {
        var brokers = new TestBroker[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            brokers[i] = await RegisterAsync(quorum, ids[i]);
        }

        foreach (int controller in Quorum.Ids)
        {
            await quorum.WaitForMetadataAsync(controller, m => ids.All(id => m.Brokers.Any(b => b.NodeId == id)), TimeSpan.FromSeconds(15), $"brokers {string.Join(',', ids)} unfenced");
        }

        return brokers;
    }

    public void StartHeartbeats()
    {
        _heartbeats = new CancellationTokenSource();
        CancellationToken token = _heartbeats.Token;
        _loop = Task.Run(async () =>
        {
            while (!token.IsCancellationRequested)
            {
                try
                {
                    BrokerHeartbeatResponse response = await _quorum.SendToControllerAsync<BrokerHeartbeatRequest, BrokerHeartbeatResponse>(new BrokerHeartbeatRequest
                    {
                        BrokerId = Id,
                        BrokerEpoch = Epoch,
                        CurrentMetadataOffset = Epoch + 1,
                        WantFence = false,
                    }, r => r.ErrorCode == (short)ErrorCode.NotController);
                    LastError = response.ErrorCode;
                    await Task.Delay(IntervalMs, token);
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // No active controller for a moment (an election): try again.
                    await Task.Delay(IntervalMs, CancellationToken.None);
                }
            }
        });
    }

    public async Task StopHeartbeatsAsync()
    {
        if (_heartbeats is { } heartbeats)
        {
            await heartbeats.CancelAsync();
            await _loop;
            heartbeats.Dispose();
            _heartbeats = null;
        }
    }

    public async ValueTask DisposeAsync() => await StopHeartbeatsAsync();
}
