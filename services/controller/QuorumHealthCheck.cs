using Aspire.Kafka.Raft;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Aspire.Kafka.ControllerService;

/// <summary>Ready (/health) when a leader is known and this node has applied everything up to the high watermark it learned.</summary>
public sealed class QuorumHealthCheck(RaftManager raft) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        RaftStatus s = raft.Status;
        string description = $"role={s.Role} epoch={s.Epoch} leader={s.LeaderId} hw={s.HighWatermark} applied={s.AppliedOffset} leo={s.LogEndOffset}";
        bool ready = s.LeaderId >= 0 && s.HighWatermark > 0 && s.AppliedOffset >= s.HighWatermark;
        return Task.FromResult(ready ? HealthCheckResult.Healthy(description) : HealthCheckResult.Unhealthy(description));
    }
}
