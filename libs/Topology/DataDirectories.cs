using Aspire.Kafka.Protocol;
using Aspire.Kafka.Storage;

namespace Aspire.Kafka.Topology;

/// <summary>
/// Formats the nodes' data directories before their first start, as <c>kafka-storage format</c>
/// does: <c>&lt;root&gt;/&lt;node name&gt;/meta.properties</c> with the cluster's id (shared by every node of
/// a cluster) and the node id. Later starts reuse them; a directory of another node, or a cluster
/// whose directories disagree on the id, is refused with a sentence saying to clean.
/// </summary>
public static class DataDirectories
{
    /// <summary>The data directory of <paramref name="node"/> under <paramref name="root"/>.</summary>
    public static string Of(string root, NodeSpec node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return Path.Combine(Path.GetFullPath(root), node.Name);
    }

    /// <summary>
    /// Deletes <paramref name="root"/> first when <paramref name="clean"/>; formats what is not
    /// formatted; returns each cluster's id. <paramref name="log"/> gets one line per action.
    /// </summary>
    /// <exception cref="InvalidDataException">A directory belongs to another node, or a cluster's directories hold different ids.</exception>
    public static IReadOnlyDictionary<string, string> Prepare(string root, KafkaTopology topology, bool clean, Action<string, string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(topology);
        return Prepare(root, topology.Nodes.Where(n => n.Role != NodeRole.Mirror).Select(n => (n.Name, n.Cluster, n.NodeId)), clean, log);
    }

    /// <summary>As <see cref="Prepare(string, KafkaTopology, bool, Action{string, string}?)"/> for any nodes: the directory is <c>&lt;root&gt;/&lt;name&gt;</c>.</summary>
    public static IReadOnlyDictionary<string, string> Prepare(string root, IEnumerable<(string Name, string Cluster, int NodeId)> nodes, bool clean, Action<string, string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        root = Path.GetFullPath(root);
        log ??= (_, _) => { };
        if (clean && Directory.Exists(root))
        {
            log("apphost", $"--clean: deleting {root}");
            Directory.Delete(root, recursive: true);
        }

        var clusterIds = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (IGrouping<string, (string Name, string Cluster, int NodeId)> cluster in nodes.GroupBy(n => n.Cluster))
        {
            var existing = cluster.Select(n => (Node: n, Directory: Path.Combine(root, n.Name))).Select(x => (x.Node, x.Directory, Meta: MetaProperties.Read(x.Directory))).ToList();
            List<string> ids = existing.Where(x => x.Meta is not null).Select(x => x.Meta!.ClusterId).Distinct().ToList();
            if (ids.Count > 1)
            {
                throw new InvalidDataException(
                    $"The data directories of cluster {cluster.Key} under {root} hold different cluster ids ({string.Join(", ", ids)}): start with --clean.");
            }

            string clusterId = ids.Count == 1 ? ids[0] : KafkaUuid.NewRandom().ToString();
            foreach (((string Name, string Cluster, int NodeId) node, string directory, MetaProperties? meta) in existing)
            {
                if (meta is null)
                {
                    Directory.CreateDirectory(directory);
                    new MetaProperties(1, clusterId, node.NodeId, KafkaUuid.NewRandom()).Write(directory);
                    log(node.Name, $"formatted {directory} (cluster.id={clusterId}, node.id={node.NodeId})");
                }
                else if (meta.NodeId != node.NodeId)
                {
                    throw new InvalidDataException(
                        $"{Path.Combine(directory, MetaProperties.FileName)} belongs to node {meta.NodeId}, but {node.Name} is node {node.NodeId}: start with --clean.");
                }
            }

            clusterIds[cluster.Key] = clusterId;
        }

        return clusterIds;
    }
}
