using System.Net.Sockets;

namespace Aspire.Kafka.ServiceDefaults.Configuration;

/// <summary>
/// The socket server's settings, read once from <see cref="KafkaConfig"/> (the keys are declared
/// by <see cref="ServiceDefaultsConfig"/>): num.network.threads, num.io.threads and the socket
/// buffer sizes of accepted connections.
/// </summary>
public sealed record KafkaSocketServerOptions(int NetworkThreads, int IoThreads, int SendBufferBytes, int ReceiveBufferBytes)
{
    public static KafkaSocketServerOptions From(KafkaConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new KafkaSocketServerOptions(
            config.GetInt(ServiceDefaultsConfig.NumNetworkThreads),
            config.GetInt(ServiceDefaultsConfig.NumIoThreads),
            config.GetInt(ServiceDefaultsConfig.SocketSendBufferBytes),
            config.GetInt(ServiceDefaultsConfig.SocketReceiveBufferBytes));
    }

    /// <summary>Sets SO_SNDBUF / SO_RCVBUF on an accepted socket; -1 (or no socket) leaves the OS default.</summary>
    public void ApplyTo(Socket? socket)
    {
        if (socket is null)
        {
            return;
        }

        if (SendBufferBytes > 0)
        {
            socket.SendBufferSize = SendBufferBytes;
        }

        if (ReceiveBufferBytes > 0)
        {
            socket.ReceiveBufferSize = ReceiveBufferBytes;
        }
    }
}
