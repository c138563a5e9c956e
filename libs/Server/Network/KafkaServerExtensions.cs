using System.Net;
using Aspire.Kafka.ServiceDefaults.Configuration;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Aspire.Kafka.Server;

/// <summary>
/// The Kafka socket server: every listener of <c>listeners</c> (parsed by AddServiceDefaults) is
/// bound on the service's Kestrel with <see cref="KafkaConnectionHandler"/>, which hands each
/// frame to the service's one <see cref="IKafkaRequestHandler"/>.
/// </summary>
public static class KafkaServerExtensions
{
    /// <summary>Registers <typeparamref name="THandler"/> as the request handler and serves it on every Kafka listener.</summary>
    public static IServiceCollection AddKafkaRequestHandler<THandler>(this IServiceCollection services)
        where THandler : class, IKafkaRequestHandler
    {
        services.AddSingleton<IKafkaRequestHandler, THandler>();
        return services.AddKafkaServer();
    }

    /// <summary>
    /// Serves the registered <see cref="IKafkaRequestHandler"/> on every Kafka listener (once,
    /// however often it is called). Starting fails when listeners are configured but no handler is
    /// registered.
    /// </summary>
    public static IServiceCollection AddKafkaServer(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.Any(d => d.ServiceType == typeof(KafkaConnectionHandler)))
        {
            return services;
        }

        services.AddSingleton<KafkaNetworkMetrics>();
        services.AddSingleton<KafkaConnectionHandler>();
        services.Configure<KestrelServerOptions>(kestrel =>
        {
            IReadOnlyList<KafkaListener> listeners = kestrel.ApplicationServices.GetService<IReadOnlyList<KafkaListener>>() ?? [];
            if (listeners.Count > 0 && kestrel.ApplicationServices.GetService<IKafkaRequestHandler>() is null)
            {
                throw new InvalidOperationException(
                    $"{ServiceDefaultsConfig.Listeners} is set but the service registered no IKafkaRequestHandler (call services.AddKafkaRequestHandler<T>()).");
            }

            foreach (KafkaListener listener in listeners)
            {
                string name = listener.Name;
                foreach (IPAddress address in listener.BindAddresses())
                {
                    kestrel.Listen(address, listener.Port, l =>
                    {
                        l.Protocols = HttpProtocols.None;
                        l.Use(next => connection =>
                        {
                            connection.Items[KafkaConnectionHandler.ListenerNameItem] = name;
                            return next(connection);
                        });
                        l.UseConnectionHandler<KafkaConnectionHandler>();
                    });
                }
            }
        });
        return services;
    }
}
