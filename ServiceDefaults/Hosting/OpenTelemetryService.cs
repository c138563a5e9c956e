using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Aspire.Kafka.ServiceDefaults.Hosting;

/// <summary>
/// OpenTelemetry logs, traces and metrics in the shape Aspire's and eShop's ServiceDefaults use
/// (OpenTelemetry.Extensions.Hosting: <c>AddOpenTelemetry().ConfigureResource().WithTracing().WithMetrics()</c>,
/// <c>Logging.AddOpenTelemetry()</c>, <c>UseOtlpExporter()</c>), exported by OTLP. Everything is
/// registered only when OTEL_EXPORTER_OTLP_ENDPOINT is set: without an exporter a tracer provider
/// would still sample every span, and the per-request span is meant to cost nothing when nobody
/// collects it.
/// </summary>
internal static class OpenTelemetryService
{
    /// <summary>Every ActivitySource and Meter whose name starts with this is exported.</summary>
    public const string SourcePrefix = "Aspire.Kafka.";

    /// <summary>The resource attribute carrying the Kafka node id (also service.instance.id unless the orchestrator set one).</summary>
    public const string NodeIdAttribute = "kafka.node.id";

    /// <summary>Meters exported besides ours: the runtime's, Kestrel's and ASP.NET Core's, HttpClient's and DNS/sockets'.</summary>
    internal static readonly string[] FrameworkMeters = ["System.Runtime", "Microsoft.AspNetCore.*", "System.Net.*"];

    public static bool IsEnabled => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"));

    public static void AddOpenTelemetry(WebApplicationBuilder builder, ServiceIdentity identity)
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            // The Aspire dashboard's structured logs show the formatted message and the scopes.
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => ConfigureResource(resource, identity))
            .WithTracing(tracing => tracing.AddSource(SourcePrefix + "*"))
            .WithMetrics(metrics => metrics.AddMeter([SourcePrefix + "*", .. FrameworkMeters]))
            .UseOtlpExporter();
    }

    /// <summary>Builds the registered tracer and meter providers (no-op when OpenTelemetry is off).</summary>
    public static void BuildProviders(IServiceProvider services)
    {
        _ = services.GetService<TracerProvider>();
        _ = services.GetService<MeterProvider>();
    }

    /// <summary>
    /// service.name: OTEL_SERVICE_NAME when set (the AppHost sets it to the node's resource name,
    /// e.g. broker-101), else the service name (broker). service.instance.id: the node id, unless
    /// OTEL_RESOURCE_ATTRIBUTES already carries one — the Aspire dashboard links a resource to its
    /// telemetry by "{service.name}-{service.instance.id}", so the orchestrator's id must stay.
    /// The node id is always there as <see cref="NodeIdAttribute"/>.
    /// </summary>
    internal static void ConfigureResource(ResourceBuilder resource, ServiceIdentity identity)
    {
        string serviceName = Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME") is { Length: > 0 } fromEnvironment ? fromEnvironment : identity.ServiceName;
        string? nodeId = identity.NodeId >= 0 ? identity.NodeId.ToString(CultureInfo.InvariantCulture) : null;
        bool instanceFromEnvironment = Environment.GetEnvironmentVariable("OTEL_RESOURCE_ATTRIBUTES") is { } attributes
            && attributes.Split(',').Any(a => a.TrimStart().StartsWith("service.instance.id=", StringComparison.Ordinal));
        resource.AddService(serviceName, serviceInstanceId: instanceFromEnvironment ? null : nodeId, autoGenerateServiceInstanceId: false);
        var extra = new List<KeyValuePair<string, object>> { new("kafka.service", identity.ServiceName) };
        if (nodeId is not null)
        {
            extra.Add(new(NodeIdAttribute, identity.NodeId));
        }

        resource.AddAttributes(extra);
    }
}
