using Aspire.Kafka.Metadata;
using Aspire.Kafka.Node;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Broker;

/// <summary>Where AlterPartition requests go: the active controller (tests substitute their own).</summary>
public interface IAlterPartitionChannel
{
    Task<AlterPartitionResponse> SendAsync(AlterPartitionRequest request, CancellationToken cancellationToken);
}

/// <summary>AlterPartition through <see cref="ControllerChannel"/> (retries NOT_CONTROLLER and unreachable controllers).</summary>
public sealed class ControllerAlterPartitionChannel(ControllerChannel channel) : IAlterPartitionChannel
{
    public Task<AlterPartitionResponse> SendAsync(AlterPartitionRequest request, CancellationToken cancellationToken) =>
        channel.SendAsync<AlterPartitionRequest, AlterPartitionResponse>(request, r => r.ErrorCode == (short)ErrorCode.NotController, cancellationToken: cancellationToken);
}

/// <summary>
/// Sends a leader's ISR changes to the controller (Kafka's AlterPartitionManager): one request
/// per change (at most one in flight per partition, see <see cref="Partition.PendingIsr"/>),
/// with the leader epoch and partition epoch the leader knows and the broker epochs of the new
/// ISR members (AlterPartition v3, KIP-903). The answer's ISR and partition epoch are applied
/// when they are not stale; on any error the pending change is dropped and retried by the next
/// follower fetch or ISR expiration check.
/// </summary>
internal sealed class AlterPartitionManager(ReplicaManager replicaManager, IAlterPartitionChannel channel, Func<long> brokerEpoch, ILogger<AlterPartitionManager> logger)
{
    private int _inFlight;

    public int InFlight => Volatile.Read(ref _inFlight);

    public void Submit(Partition partition, IReadOnlyList<int> newIsr)
    {
        MetadataImage image = replicaManager.Image;
        var request = new AlterPartitionRequest
        {
            BrokerId = replicaManager.NodeId,
            BrokerEpoch = brokerEpoch(),
            Topics =
            [
                new AlterPartitionRequest.TopicData
                {
                    TopicId = partition.TopicId,
                    Partitions =
                    [
                        new AlterPartitionRequest.PartitionData
                        {
                            PartitionIndex = partition.TopicPartition.Partition,
                            LeaderEpoch = partition.LeaderEpoch,
                            PartitionEpoch = partition.PartitionEpoch,
                            LeaderRecoveryState = 0,
                            NewIsrWithEpochs = [.. newIsr.Select(id => new AlterPartitionRequest.BrokerState { BrokerId = id, BrokerEpoch = image.Cluster.Broker(id)?.Epoch ?? -1 })],
                        },
                    ],
                },
            ],
        };
        Interlocked.Increment(ref _inFlight);
        _ = SendAsync(partition, request);
    }

    private async Task SendAsync(Partition partition, AlterPartitionRequest request)
    {
        try
        {
            AlterPartitionResponse response = await channel.SendAsync(request, CancellationToken.None).ConfigureAwait(false);
            if (response.ErrorCode != 0)
            {
                logger.LogWarning("AlterPartition for {Partition} failed: {Error}.", partition.TopicPartition, (ErrorCode)response.ErrorCode);
                partition.ClearPendingIsr();
                return;
            }

            AlterPartitionResponse.PartitionData? data = response.Topics.SelectMany(t => t.Partitions).FirstOrDefault(p => p.PartitionIndex == partition.TopicPartition.Partition);
            if (data is null || data.ErrorCode != 0)
            {
                logger.LogWarning("AlterPartition for {Partition} was refused: {Error}.", partition.TopicPartition, data is null ? "no answer for the partition" : ((ErrorCode)data.ErrorCode).ToString());
                partition.ClearPendingIsr();
                return;
            }

            if (partition.ApplyIsrUpdate(data.LeaderEpoch, data.PartitionEpoch, data.Isr))
            {
                logger.LogInformation("ISR of {Partition} is now [{Isr}] (partition epoch {Epoch}).", partition.TopicPartition, string.Join(',', data.Isr), data.PartitionEpoch);
            }

            replicaManager.CompleteDelayedRequests(partition.TopicPartition);
        }
        catch (Exception e) when (e is TimeoutException or IOException or InvalidOperationException or OperationCanceledException)
        {
            logger.LogWarning("AlterPartition for {Partition} got no answer: {Message}", partition.TopicPartition, e.Message);
            partition.ClearPendingIsr();
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }
}
