using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Microsoft.Extensions.DependencyInjection;

namespace Aspire.Kafka.Server;

/// <summary>
/// ApiVersions (key 18), v0–v4: the APIs and versions this service serves, from the handlers
/// registered with the dispatcher. Requests for versions above 4 never reach here: the dispatcher
/// answers them with UNSUPPORTED_VERSION in v0 (KIP-511).
/// </summary>
public sealed class ApiVersionsApi(IServiceProvider services) : KafkaApi<ApiVersionsRequest, ApiVersionsResponse>
{
    protected override ValueTask<ApiVersionsResponse?> HandleAsync(RequestContext context, ApiVersionsRequest request, CancellationToken cancellationToken)
    {
        // Resolved lazily: the dispatcher is built from the APIs, this API among them.
        var dispatcher = services.GetRequiredService<KafkaApiDispatcher>();
        var response = new ApiVersionsResponse { ErrorCode = (short)ErrorCode.None, ApiKeys = dispatcher.AdvertisedVersions() };
        if (context.ApiVersion >= 3 && (!IsValidSoftwareToken(request.ClientSoftwareName) || !IsValidSoftwareToken(request.ClientSoftwareVersion)))
        {
            // KIP-511: names and versions are [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?
            response.ErrorCode = (short)ErrorCode.InvalidRequest;
        }

        return ValueTask.FromResult<ApiVersionsResponse?>(response);
    }

    private static bool IsValidSoftwareToken(string value)
    {
        if (value.Length == 0 || !char.IsAsciiLetterOrDigit(value[0]) || !char.IsAsciiLetterOrDigit(value[^1]))
        {
            return false;
        }

        foreach (char c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '.')
            {
                return false;
            }
        }

        return true;
    }
}
