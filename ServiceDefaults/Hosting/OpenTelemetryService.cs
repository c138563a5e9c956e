using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Aspire.Kafka.ServiceDefaults.Hosting;

/// <summary>
/// Owns the OpenTelemetry tracer and meter providers that export by OTLP when
/// OTEL_EXPORTER_OTLP_ENDPOINT is set (the exporter reads the OTEL_EXPORTER_OTLP_* variables
/// itself). Built when the service defaults are added, so that measurements taken before the
/// host starts are exported too; flushed and disposed at stop.
/// </summary>
internal sealed class OpenTelemetryService : IHostedService, IDisposable
{
    /// <summary>Every ActivitySource and Meter whose name starts with this is exported.</summary>
    public const string SourcePrefix = "Aspire.Kafka.";

    private readonly ServiceIdentity _identity;
    private TracerProvider? _tracerProvider;
    private MeterProvider? _meterProvider;

    public OpenTelemetryService(ServiceIdentity identity)
    {
        _identity = identity;
        Build();
    }

    public static bool IsEnabled => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"));

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void Build()
    {
        ResourceBuilder resource = ResourceBuilder.CreateDefault().AddService(
            serviceName: _identity.ServiceName,
            serviceInstanceId: _identity.NodeId >= 0 ? _identity.NodeId.ToString(System.Globalization.CultureInfo.InvariantCulture) : null);
        _tracerProvider = Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(resource)
            .AddSource(SourcePrefix + "*")
            .AddOtlpExporter()
            .Build();
        _meterProvider = Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(resource)
            .AddMeter(SourcePrefix + "*", "System.Runtime", "Microsoft.AspNetCore.*", "System.Net.*")
            .AddOtlpExporter()
            .Build();
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _tracerProvider?.ForceFlush(2000);
        _meterProvider?.ForceFlush(2000);
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _tracerProvider?.Dispose();
        _tracerProvider = null;
        _meterProvider?.Dispose();
        _meterProvider = null;
    }
}
