namespace Aspire.Kafka.ServiceDefaults.Hosting;

/// <summary>Who this process is: the service name (OpenTelemetry service.name) and its node id (-1 when none).</summary>
public sealed record ServiceIdentity(string ServiceName, int NodeId);
