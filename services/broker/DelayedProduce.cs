using Aspire.Kafka.Protocol;

namespace Aspire.Kafka.Broker;

/// <summary>
/// A Produce with acks=all waiting for the ISR to reach each appended batch (Kafka's
/// DelayedProduce). Partitions that fail or time out answer with their error; REQUEST_TIMED_OUT
/// when the ISR did not get there within the request's timeout.
/// </summary>
internal sealed class DelayedProduce(IReadOnlyList<DelayedProduce.PartitionStatus> partitions) : DelayedOperation
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _lock = new();

    /// <summary>One partition's wait: the offset the ISR must reach and the result to fill.</summary>
    internal sealed class PartitionStatus(Partition partition, long requiredOffset, ProducePartitionResult result)
    {
        public Partition Partition { get; } = partition;

        public long RequiredOffset { get; } = requiredOffset;

        public ProducePartitionResult Result { get; } = result;

        public bool Pending { get; set; } = true;
    }

    public Task Completion => _done.Task;

    public override bool TryComplete()
    {
        lock (_lock)
        {
            foreach (PartitionStatus status in partitions)
            {
                if (!status.Pending)
                {
                    continue;
                }

                ErrorCode? result = status.Partition.CheckEnoughReplicasReachOffset(status.RequiredOffset);
                if (result is { } error)
                {
                    status.Pending = false;
                    status.Result.Error = error;
                }
            }

            if (partitions.Any(p => p.Pending))
            {
                return false;
            }
        }

        return ForceComplete();
    }

    protected override void OnComplete()
    {
        lock (_lock)
        {
            foreach (PartitionStatus status in partitions.Where(p => p.Pending))
            {
                status.Pending = false;
                status.Result.Error = ErrorCode.RequestTimedOut;
                status.Result.ErrorMessage = "The ISR did not reach the appended records within the request timeout.";
            }
        }

        _done.TrySetResult();
    }
}
