using Aspire.Kafka.ServiceDefaults.Configuration;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Aspire.Kafka.TestServices.EchoService;

/// <summary>Unhealthy until test.ready.delay.ms after start: makes the launcher's health gating observable.</summary>
internal sealed class ReadyAfterDelay(KafkaConfig config) : IHealthCheck
{
    private static readonly TimeProvider Time = TimeProvider.System;
    private readonly long _readyAt = Time.GetTimestamp();
    private readonly TimeSpan _delay = TimeSpan.FromMilliseconds(config.GetLong("test.ready.delay.ms"));

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(Time.GetElapsedTime(_readyAt) >= _delay
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy($"ready in {(_delay - Time.GetElapsedTime(_readyAt)).TotalMilliseconds:0} ms"));
}
