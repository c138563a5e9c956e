using Aspire.Kafka.Hosting;
using Aspire.Kafka.Testing;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Aspire.Kafka.ServiceDefaults.Tests;

/// <summary>One echo service (tests/TestServices/EchoService) started through the launcher for a test class.</summary>
public sealed class EchoServiceFixture : IAsyncLifetime
{
    public const long KnownCounterValue = 4242;

    private TestCluster? _cluster;

    public ResourceProcess Echo => _cluster!.Node("echo");

    public string HttpAddress => Echo.Resource.HttpEndpoint.Address;

    public System.Net.IPEndPoint KafkaEndPoint => System.Net.IPEndPoint.Parse(Echo.Address("PLAINTEXT"));

    public async Task InitializeAsync()
    {
        _cluster = await TestCluster.StartAsync(app => app.AddProject("echo", TestSupport.EchoProject)
            .WithKafkaListener("PLAINTEXT")
            .WithConfig("test.counter.value", KnownCounterValue.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .WithConfig("socket.request.max.bytes", (8 * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}
