using System.Collections.Immutable;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.MetadataRecords;

namespace Aspire.Kafka.Metadata;

/// <summary>What a registered node is: a broker (hosts partition replicas) or a group coordinator (never a replica).</summary>
public enum NodeRole
{
    Broker,
    Coordinator,
}

/// <summary>One listener of a node.</summary>
public sealed record Endpoint(string Name, string Host, int Port, short SecurityProtocol);

/// <summary>A feature a node supports, with its level range.</summary>
public sealed record SupportedFeature(string Name, short MinSupportedVersion, short MaxSupportedVersion);

/// <summary>
/// A registered node as the metadata log records it (Kafka's BrokerRegistration; coordinators use
/// the same shape with <see cref="Role"/> = <see cref="NodeRole.Coordinator"/>).
/// </summary>
public sealed record BrokerRegistration(
    int Id,
    long Epoch,
    KafkaUuid IncarnationId,
    IReadOnlyList<Endpoint> Listeners,
    IReadOnlyList<SupportedFeature> SupportedFeatures,
    string? Rack,
    bool Fenced,
    bool InControlledShutdown,
    NodeRole Role = NodeRole.Broker)
{
    public bool IsCoordinator => Role == NodeRole.Coordinator;

    /// <summary>Unfenced and not shutting down: may lead partitions, join an ISR, own coordinator partitions.</summary>
    public bool IsActive => !Fenced && !InControlledShutdown;

    public Endpoint? Listener(string name) => Listeners.FirstOrDefault(l => l.Name == name);

    internal static BrokerRegistration FromRecord(RegisterBrokerRecord record) => new(
        record.BrokerId,
        record.BrokerEpoch,
        record.IncarnationId,
        record.EndPoints.Select(e => new Endpoint(e.Name, e.Host, e.Port, e.SecurityProtocol)).ToImmutableArray(),
        record.Features.Select(f => new SupportedFeature(f.Name, f.MinSupportedVersion, f.MaxSupportedVersion)).ToImmutableArray(),
        record.Rack,
        record.Fenced,
        record.InControlledShutdown,
        NodeRole.Broker);

    internal static BrokerRegistration FromRecord(RegisterCoordinatorRecord record) => new(
        record.CoordinatorId,
        record.CoordinatorEpoch,
        record.IncarnationId,
        record.EndPoints.Select(e => new Endpoint(e.Name, e.Host, e.Port, e.SecurityProtocol)).ToImmutableArray(),
        record.Features.Select(f => new SupportedFeature(f.Name, f.MinSupportedVersion, f.MaxSupportedVersion)).ToImmutableArray(),
        record.Rack,
        record.Fenced,
        record.InControlledShutdown,
        NodeRole.Coordinator);

    /// <summary>The record that registers this node with its current state (used in snapshots).</summary>
    public ApiMessageAndVersion ToRecord()
    {
        if (IsCoordinator)
        {
            return new ApiMessageAndVersion(new RegisterCoordinatorRecord
            {
                CoordinatorId = Id,
                IncarnationId = IncarnationId,
                CoordinatorEpoch = Epoch,
                EndPoints = Listeners.Select(l => new RegisterCoordinatorRecord.CoordinatorEndpoint { Name = l.Name, Host = l.Host, Port = (ushort)l.Port, SecurityProtocol = l.SecurityProtocol }).ToList(),
                Features = SupportedFeatures.Select(f => new RegisterCoordinatorRecord.CoordinatorFeature { Name = f.Name, MinSupportedVersion = f.MinSupportedVersion, MaxSupportedVersion = f.MaxSupportedVersion }).ToList(),
                Rack = Rack,
                Fenced = Fenced,
                InControlledShutdown = InControlledShutdown,
            }, RecordVersions.RegisterCoordinator);
        }

        return new ApiMessageAndVersion(new RegisterBrokerRecord
        {
            BrokerId = Id,
            IncarnationId = IncarnationId,
            BrokerEpoch = Epoch,
            EndPoints = Listeners.Select(l => new RegisterBrokerRecord.BrokerEndpoint { Name = l.Name, Host = l.Host, Port = (ushort)l.Port, SecurityProtocol = l.SecurityProtocol }).ToList(),
            Features = SupportedFeatures.Select(f => new RegisterBrokerRecord.BrokerFeature { Name = f.Name, MinSupportedVersion = f.MinSupportedVersion, MaxSupportedVersion = f.MaxSupportedVersion }).ToList(),
            Rack = Rack,
            Fenced = Fenced,
            InControlledShutdown = InControlledShutdown,
        }, RecordVersions.RegisterBroker);
    }

    public override string ToString() =>
        $"{Role}(id={Id}, epoch={Epoch}, incarnation={IncarnationId}, rack={Rack ?? "null"}, fenced={Fenced}, inControlledShutdown={InControlledShutdown}, listeners=[{string.Join(", ", Listeners.Select(l => $"{l.Name}://{l.Host}:{l.Port}"))}])";
}

/// <summary>The registered nodes: brokers and coordinators (node ids are unique across both).</summary>
public sealed class ClusterImage
{
    public static readonly ClusterImage Empty = new(ImmutableSortedDictionary<int, BrokerRegistration>.Empty);

    public ClusterImage(ImmutableSortedDictionary<int, BrokerRegistration> nodes)
    {
        Nodes = nodes;
        Brokers = nodes.Where(n => n.Value.Role == NodeRole.Broker).ToImmutableSortedDictionary();
        Coordinators = nodes.Where(n => n.Value.Role == NodeRole.Coordinator).ToImmutableSortedDictionary();
    }

    /// <summary>Every registered node by id.</summary>
    public ImmutableSortedDictionary<int, BrokerRegistration> Nodes { get; }

    /// <summary>Brokers only: the nodes that can host partition replicas.</summary>
    public ImmutableSortedDictionary<int, BrokerRegistration> Brokers { get; }

    /// <summary>Group coordinator nodes only.</summary>
    public ImmutableSortedDictionary<int, BrokerRegistration> Coordinators { get; }

    public bool IsEmpty => Nodes.IsEmpty;

    public BrokerRegistration? Node(int id) => Nodes.GetValueOrDefault(id);

    public BrokerRegistration? Broker(int id) => Brokers.GetValueOrDefault(id);

    /// <summary>True when <paramref name="id"/> is a broker that is unfenced and not shutting down.</summary>
    public bool IsActiveBroker(int id) => Brokers.TryGetValue(id, out BrokerRegistration? b) && b.IsActive;

    public bool IsActiveNode(int id) => Nodes.TryGetValue(id, out BrokerRegistration? b) && b.IsActive;
}
