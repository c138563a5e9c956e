using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Aspire.Kafka.Mirror;

/// <summary>Healthy once both clusters answered a topic refresh; degraded (with the reasons) while partitions are failed or topics refused.</summary>
public sealed class MirrorHealthCheck(MirrorService mirror) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (mirror.LastRefresh is null)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy($"not connected to both clusters yet{(mirror.LastRefreshError is { } e ? $": {e}" : "")}"));
        }

        if (mirror.LastRefreshError is { } error)
        {
            return Task.FromResult(HealthCheckResult.Degraded($"the last refresh failed: {error}"));
        }

        var failed = mirror.Partitions.Where(p => p.State == MirrorState.Failed).ToList();
        if (failed.Count > 0 || mirror.RefusedTopics.Count > 0)
        {
            return Task.FromResult(HealthCheckResult.Degraded(string.Join("; ",
                failed.Select(p => $"{p.Topic}-{p.Partition}: {p.Reason}").Concat(mirror.RefusedTopics.Select(t => $"{t.Key}: {t.Value}")))));
        }

        return Task.FromResult(HealthCheckResult.Healthy($"{mirror.Partitions.Count} partitions, lag {mirror.Partitions.Sum(p => p.LagRecords)} records"));
    }
}
