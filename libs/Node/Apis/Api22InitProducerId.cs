using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.Node.Apis;

/// <summary>
/// InitProducerId (key 22) for idempotent producers, on brokers and coordinators alike (clients
/// send it to any node: librdkafka to any broker it knows, kafkajs to the "controller" of
/// Metadata): a new producer id with epoch 0 from the <see cref="ProducerIdManager"/>. As in Kafka,
/// a non-transactional producer that asks again (v3+ with its old id and epoch, after
/// OUT_OF_ORDER_SEQUENCE_NUMBER or a lost batch) gets a fresh id. Transactional ids are refused
/// with COORDINATOR_NOT_AVAILABLE, as FindCoordinator refuses the transaction coordinator:
/// this cluster has none. An empty transactional id is INVALID_REQUEST, as in Kafka.
/// </summary>
public sealed partial class InitProducerIdApi(ProducerIdManager producerIds, NodeSettings settings, ILogger<InitProducerIdApi> logger)
    : KafkaApi<InitProducerIdRequest, InitProducerIdResponse>
{
    protected override async ValueTask<InitProducerIdResponse?> HandleAsync(RequestContext context, InitProducerIdRequest request, CancellationToken cancellationToken)
    {
        if (request.TransactionalId is { Length: 0 })
        {
            // Kafka: an empty transactional id is neither idempotent-only (null) nor a valid id.
            return new InitProducerIdResponse { ErrorCode = (short)ErrorCode.InvalidRequest, ProducerId = -1, ProducerEpoch = -1 };
        }

        if (request.TransactionalId is not null)
        {
            LogTransactionalRefused(request.TransactionalId, context.ClientId);
            return new InitProducerIdResponse { ErrorCode = (short)ErrorCode.CoordinatorNotAvailable, ProducerId = -1, ProducerEpoch = -1 };
        }

        try
        {
            long id = await producerIds.GenerateProducerIdAsync(TimeSpan.FromMilliseconds(settings.RequestTimeoutMs), cancellationToken).ConfigureAwait(false);
            return new InitProducerIdResponse { ProducerId = id, ProducerEpoch = 0 };
        }
        catch (ProducerIdUnavailableException e)
        {
            LogUnavailable(e.Message);
            return new InitProducerIdResponse { ErrorCode = (short)e.Error, ProducerId = -1, ProducerEpoch = -1 };
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Refused InitProducerId for transactional id {TransactionalId} from {ClientId}: transactions are not supported by this cluster")]
    private partial void LogTransactionalRefused(string transactionalId, string? clientId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "InitProducerId answered without an id: {Message}")]
    private partial void LogUnavailable(string message);
}
