using System.Globalization;
using System.Net;
using Aspire.Kafka.Config;
using Aspire.Kafka.ServiceDefaults.Configuration;
using Aspire.Kafka.ServiceDefaults.Hosting;
using Aspire.Kafka.ServiceDefaults.Logging;
using Aspire.Kafka.ServiceDefaults.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Microsoft.Extensions.Hosting;

/// <summary>Options of <see cref="AspireKafkaServiceDefaultsExtensions.AddServiceDefaults(WebApplicationBuilder, Action{ServiceDefaultsOptions})"/>.</summary>
public sealed class ServiceDefaultsOptions
{
    /// <summary>The service name (logs, OpenTelemetry service.name). Defaults to the application name.</summary>
    public string? ServiceName { get; set; }

    /// <summary>The service's own keys; merged with <see cref="ServiceDefaultsConfig"/>'s shared ones.</summary>
    public ConfigDef? Config { get; set; }

    /// <summary>The command line (<c>--config</c>, <c>--override</c>). Defaults to the process's arguments.</summary>
    public IReadOnlyList<string>? Args { get; set; }

    /// <summary>On a configuration error print one sentence to stderr and exit with code 2 (default); otherwise throw <see cref="ConfigException"/>.</summary>
    public bool ExitOnConfigError { get; set; } = true;
}

/// <summary>
/// eShop-shaped service defaults: <c>builder.AddServiceDefaults(...)</c> then
/// <c>app.MapDefaultEndpoints()</c>.
/// </summary>
public static class AspireKafkaServiceDefaultsExtensions
{
    /// <summary>The exit code of a service stopped by a configuration error.</summary>
    public const int ConfigErrorExitCode = 2;

    private const string LiveTag = "live";

    public static WebApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder) =>
        builder.AddServiceDefaults(_ => { });

    public static WebApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder, string serviceName, ConfigDef? config = null) =>
        builder.AddServiceDefaults(o =>
        {
            o.ServiceName = serviceName;
            o.Config = config;
        });

    /// <summary>
    /// Loads and validates the Kafka-style configuration (a <see cref="KafkaConfig"/> singleton),
    /// sets up console logging, health checks, the /metrics exporter, OpenTelemetry (when
    /// OTEL_EXPORTER_OTLP_ENDPOINT is set), Kestrel's HTTP port (<c>http.listener</c>), the parsed
    /// Kafka <c>listeners</c> (a singleton list; libs/Server's AddKafkaServer serves them) and the
    /// shutdown timeout.
    /// </summary>
    public static WebApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder, Action<ServiceDefaultsOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new ServiceDefaultsOptions();
        configure(options);
        string serviceName = options.ServiceName ?? builder.Environment.ApplicationName;

        KafkaConfig config;
        IReadOnlyList<KafkaListener> listeners;
        (string Host, int Port) http;
        try
        {
            ConfigDef definition = options.Config is null ? ServiceDefaultsConfig.Create() : ServiceDefaultsConfig.Create().Merge(options.Config);
            config = KafkaConfigLoader.Load(definition, options.Args ?? Environment.GetCommandLineArgs().Skip(1).ToArray());
            listeners = KafkaListener.Parse(config.GetList(ServiceDefaultsConfig.Listeners), ServiceDefaultsConfig.EffectiveSecurityProtocolMap(config));
            http = ParseHttpListener(config.GetString(ServiceDefaultsConfig.HttpListener)!);
        }
        catch (ConfigException e) when (options.ExitOnConfigError)
        {
            Console.Error.WriteLine($"{serviceName}: {e.Message}");
            Console.Error.Flush();
            Environment.Exit(ConfigErrorExitCode);
            throw;
        }

        var identity = new ServiceIdentity(serviceName, config.GetInt(ServiceDefaultsConfig.NodeId));
        builder.Services.AddSingleton(config);
        builder.Services.AddSingleton(identity);
        builder.Services.AddSingleton(listeners);
        builder.Services.TryAddSingleton(TimeProvider.System);

        builder.ConfigureLogging(config, identity);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMilliseconds(config.GetLong(ServiceDefaultsConfig.ShutdownTimeoutMs)));

        builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);
        // The exporter listens from here on, so counters cover the whole life of the process
        // (also what a service records before the host starts).
        builder.Services.AddSingleton(new PrometheusExporter());

        if (OpenTelemetryService.IsEnabled)
        {
            OpenTelemetryService.AddOpenTelemetry(builder, identity);
        }

        if (ParentWatchdog.IsEnabled)
        {
            builder.Services.AddHostedService(sp => new ParentWatchdog(
                sp.GetRequiredService<IHostApplicationLifetime>(),
                sp.GetRequiredService<ILogger<ParentWatchdog>>(),
                TimeSpan.FromMilliseconds(config.GetLong(ServiceDefaultsConfig.ShutdownTimeoutMs))));
        }

        // num.network.threads: the socket transport's I/O loops.
        builder.WebHost.UseSockets(o => o.IOQueueCount = config.GetInt(ServiceDefaultsConfig.NumNetworkThreads));
        // The Kafka listeners parsed above are served by libs/Server's socket server
        // (AddKafkaServer), which binds them on this same Kestrel.
        builder.WebHost.ConfigureKestrel(kestrel => ListenOn(kestrel, http.Host, http.Port, _ => { }));
        return builder;
    }

    /// <summary>/health (readiness: every registered check), /alive (liveness: checks tagged "live") and /metrics (Prometheus text).</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapHealthChecks("/health");
        app.MapHealthChecks("/alive", new HealthCheckOptions { Predicate = r => r.Tags.Contains(LiveTag) });
        app.MapGet("/metrics", async (PrometheusExporter exporter, HttpContext context) =>
        {
            string text = await exporter.ScrapeAsync(context.RequestAborted).ConfigureAwait(false);
            context.Response.ContentType = PrometheusExporter.ContentType;
            await context.Response.WriteAsync(text, context.RequestAborted).ConfigureAwait(false);
        });
        // OpenTelemetry.Extensions.Hosting builds the providers when the host starts; build them
        // now so that what the service measures between Build() and Run() is exported too.
        OpenTelemetryService.BuildProviders(app.Services);
        ServiceIdentity identity = app.Services.GetRequiredService<ServiceIdentity>();
        KafkaConfig config = app.Services.GetRequiredService<KafkaConfig>();
        ILogger logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Aspire.Kafka.ServiceDefaults");
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            logger.LogInformation("{Service} started: http {Http}, listeners {Listeners}",
                identity.ServiceName, config.GetString(ServiceDefaultsConfig.HttpListener),
                config.GetList(ServiceDefaultsConfig.Listeners) is { Count: > 0 } l ? string.Join(',', l) : "(none)");
            foreach (string note in config.SettingsWithoutEffect())
            {
                logger.LogInformation("{Note}", note);
            }

            if (logger.IsEnabled(LogLevel.Debug))
            {
                logger.LogDebug("{Service} configuration: {Config}", identity.ServiceName, string.Join(", ", config.Describe()));
            }
        });
        return app;
    }

    private static void ConfigureLogging(this WebApplicationBuilder builder, KafkaConfig config, ServiceIdentity identity)
    {
        LogLevel level = ServiceConsoleFormatter.FromKafkaLevel(config.GetString(ServiceDefaultsConfig.LogLevel)!);
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole(o => o.FormatterName = ServiceConsoleFormatter.FormatterName);
        builder.Logging.AddConsoleFormatter<ServiceConsoleFormatter, ServiceConsoleFormatterOptions>(o =>
        {
            o.ServiceName = identity.ServiceName;
            o.NodeId = identity.NodeId;
            o.Json = string.Equals(config.GetString(ServiceDefaultsConfig.LogFormat), "json", StringComparison.OrdinalIgnoreCase);
        });
        builder.Logging.SetMinimumLevel(level);
        if (builder.Configuration["Logging:LogLevel:Microsoft.AspNetCore"] is null)
        {
            // Per-request framework logs only when asked for.
            builder.Logging.AddFilter("Microsoft.AspNetCore", level < LogLevel.Warning && level > LogLevel.Debug ? LogLevel.Warning : level);
        }

        if (builder.Configuration["Logging:LogLevel:Microsoft.Extensions.Diagnostics.HealthChecks"] is null && level > LogLevel.Debug)
        {
            // An unhealthy check is an answer on /health, not an error of this process: it is logged at Debug.
            builder.Logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None);
        }
    }

    /// <summary>
    /// A second HTTP listener on the service's Kestrel, taken from config key <paramref name="key"/>
    /// (host:port or http://host:port), with <paramref name="protocols"/> — e.g. HTTP/2 only for a
    /// gRPC API without TLS. Throws <see cref="ConfigException"/> (one sentence) on a bad value.
    /// </summary>
    public static WebApplicationBuilder AddHttpListener(this WebApplicationBuilder builder, string key, string value, Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols protocols)
    {
        ArgumentNullException.ThrowIfNull(builder);
        (string host, int port) = ParseHttpListener(value, key);
        builder.WebHost.ConfigureKestrel(kestrel => ListenOn(kestrel, host, port, o => o.Protocols = protocols));
        return builder;
    }

    private static (string Host, int Port) ParseHttpListener(string value, string key = ServiceDefaultsConfig.HttpListener)
    {
        string hostPort = value.Contains("://", StringComparison.Ordinal) ? value[(value.IndexOf("://", StringComparison.Ordinal) + 3)..].TrimEnd('/') : value;
        int colon = hostPort.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(hostPort.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > 65535)
        {
            throw new ConfigException(key, value, "expected host:port or http://host:port");
        }

        string host = hostPort[..colon].Trim('[', ']');
        return (host, port);
    }

    private static void ListenOn(KestrelServerOptions kestrel, string host, int port, Action<ListenOptions> configure)
    {
        if (host.Length == 0 || host is "0.0.0.0" or "*" or "+")
        {
            kestrel.Listen(IPAddress.Any, port, configure);
        }
        else if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            kestrel.ListenLocalhost(port, configure);
        }
        else if (IPAddress.TryParse(host, out IPAddress? address))
        {
            kestrel.Listen(address, port, configure);
        }
        else
        {
            kestrel.Listen(Dns.GetHostAddresses(host)[0], port, configure);
        }
    }
}
