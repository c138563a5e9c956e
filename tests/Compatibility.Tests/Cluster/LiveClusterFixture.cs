namespace Aspire.Kafka.Compatibility.Tests.Cluster;

/// <summary>One cluster shared by the tests that do not stop nodes (starting one takes several seconds on this machine).</summary>
public sealed class LiveClusterFixture : IAsyncLifetime
{
    private LiveCluster? _cluster;

    public LiveCluster Cluster => _cluster ?? throw new InvalidOperationException("The cluster has not started.");

    public async Task InitializeAsync() => _cluster = await LiveCluster.StartAsync();

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class LiveClusterCollection : ICollectionFixture<LiveClusterFixture>
{
    public const string Name = "live cluster";
}
