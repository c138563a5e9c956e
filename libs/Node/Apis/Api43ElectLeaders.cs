using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Node.Apis;

/// <summary>ElectLeaders (key 43), forwarded to the active controller.</summary>
public sealed class ElectLeadersApi(ControllerChannel controller) : ForwardedApi<ElectLeadersRequest, ElectLeadersResponse>(controller)
{
    protected override bool IsNotController(ElectLeadersResponse response) => response.ErrorCode == (short)ErrorCode.NotController;

    protected override TimeSpan? Timeout(ElectLeadersRequest request) => AtLeast5s(request.TimeoutMs);

    protected override ElectLeadersResponse Error(ElectLeadersRequest request, ErrorCode error, string message) => new() { ErrorCode = (short)error };
}
