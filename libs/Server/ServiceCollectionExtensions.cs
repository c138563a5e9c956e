using Microsoft.Extensions.DependencyInjection;

namespace Aspire.Kafka.Server;

public static class ServiceCollectionExtensions
{
    /// <summary>
    /// Serves the registered <see cref="IKafkaApi"/> handlers on the Kafka listeners: registers
    /// <see cref="KafkaApiDispatcher"/> as the service's request handler, ApiVersions, and the
    /// socket server (<see cref="KafkaServerExtensions.AddKafkaServer"/>).
    /// </summary>
    public static IServiceCollection AddKafkaApiDispatcher(this IServiceCollection services)
    {
        services.AddSingleton<IKafkaApi, ApiVersionsApi>();
        services.AddSingleton<KafkaApiDispatcher>();
        services.AddSingleton<IKafkaRequestHandler>(sp => sp.GetRequiredService<KafkaApiDispatcher>());
        return services.AddKafkaServer();
    }
}
