namespace Aspire.Kafka.Raft.Tests;

public sealed class SnapshotPolicyTests
{
    [Fact]
    public void Due_once_enough_record_bytes_were_applied()
    {
        var policy = new SnapshotPolicy(maxRecordBytesBetweenSnapshots: 100, maxSnapshotIntervalMs: 0, nowMs: 0);
        policy.Applied(60);
        Assert.False(policy.IsDue(1_000_000));
        policy.Applied(40);
        Assert.True(policy.IsDue(0));
        policy.Reset(5);
        Assert.Equal(0, policy.BytesSinceSnapshot);
        Assert.False(policy.IsDue(5));
    }

    [Fact]
    public void Due_after_the_interval_only_when_something_was_applied()
    {
        var policy = new SnapshotPolicy(maxRecordBytesBetweenSnapshots: 1_000_000, maxSnapshotIntervalMs: 1_000, nowMs: 10_000);
        Assert.False(policy.IsDue(20_000)); // nothing new: no snapshot however long it has been
        policy.Applied(1);
        Assert.False(policy.IsDue(10_999));
        Assert.True(policy.IsDue(11_000));
        policy.Reset(11_000);
        policy.Applied(1);
        Assert.False(policy.IsDue(11_999));
        Assert.True(policy.IsDue(12_000));
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, -1)]
    public void Refuses_limits_out_of_range(long maxBytes, long intervalMs) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new SnapshotPolicy(maxBytes, intervalMs, 0));
}
