using Aspire.Kafka.Protocol;
using Aspire.Kafka.Server;

namespace Aspire.Kafka.TestServices.EchoService;

/// <summary>Answers each frame with the same bytes; "noreply" gets no answer, "throw" makes the handler throw.</summary>
internal sealed class EchoHandler : IKafkaRequestHandler
{
    public ValueTask<bool> HandleAsync(KafkaConnectionContext connection, ReadOnlyMemory<byte> request, KafkaWriter response, CancellationToken cancellationToken)
    {
        ReadOnlySpan<byte> body = request.Span;
        if (body.SequenceEqual("noreply"u8))
        {
            return ValueTask.FromResult(false);
        }

        if (body.SequenceEqual("throw"u8))
        {
            throw new InvalidOperationException("asked to throw");
        }

        response.WriteRaw(body);
        return ValueTask.FromResult(true);
    }
}
