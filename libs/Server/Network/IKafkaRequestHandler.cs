using Aspire.Kafka.Protocol;

namespace Aspire.Kafka.Server;

/// <summary>
/// A service's Kafka-protocol request handler. The connection loop calls it once per frame,
/// in order, one at a time per connection (Kafka's muted channel), and sends the responses in
/// the same order.
/// </summary>
public interface IKafkaRequestHandler
{
    /// <summary>
    /// <paramref name="request"/>: one frame body without its size prefix (valid only during the call).
    /// Write the response body (WITHOUT size prefix) into <paramref name="response"/>; return false
    /// when no response must be sent (Produce with acks=0). Throwing closes only this connection.
    /// </summary>
    /// <remarks>
    /// <paramref name="response"/> is reused for every request of the connection and may already
    /// hold the 4 bytes reserved for the size prefix: append to it, never Reset it.
    /// </remarks>
    ValueTask<bool> HandleAsync(KafkaConnectionContext connection, ReadOnlyMemory<byte> request, KafkaWriter response, CancellationToken cancellationToken);
}
