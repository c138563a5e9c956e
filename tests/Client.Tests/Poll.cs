namespace Aspire.Kafka.Client.Tests;

public static class Poll
{
    /// <summary>Waits until <paramref name="condition"/> holds, failing after a deadline (no fixed sleeps).</summary>
    public static async Task UntilAsync(Func<bool> condition, string what, int timeoutMs = 10000)
    {
        DateTime deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting for: {what}");
            }

            await Task.Delay(5);
        }
    }

    /// <summary>The task's exception, failing if it does not fail within the deadline.</summary>
    public static async Task<T> FailureOf<T>(Task task, int timeoutMs = 10000)
        where T : Exception
    {
        Task done = await Task.WhenAny(task, Task.Delay(timeoutMs));
        Assert.True(done == task, "the task did not complete in time");
        return await Assert.ThrowsAnyAsync<T>(() => task);
    }
}
