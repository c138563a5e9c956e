using Aspire.Kafka.Metadata;

namespace Aspire.Kafka.Node;

/// <summary>
/// Something that acts on the metadata log as it commits (Kafka's MetadataPublisher): the
/// broker's ReplicaManager (become leader / follower / stop replica, topic configs), the
/// coordinator's partition loader. Register as <c>services.AddSingleton&lt;IMetadataListener&gt;(…)</c>.
/// </summary>
public interface IMetadataListener
{
    /// <summary>
    /// Called by <see cref="ClusterMetadataFollower"/> on its loop, in log order, once per applied
    /// batch of committed records (and once after a snapshot is loaded). Do not block: hand slow
    /// work (log creation, truncation, fetcher changes) to your own worker if it takes long.
    /// An exception is logged and does not stop the follower.
    /// </summary>
    void OnMetadataUpdate(MetadataUpdate update);
}
