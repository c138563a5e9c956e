using System.Globalization;
using Aspire.Kafka.Controller;
using Aspire.Kafka.Raft;
using Aspire.Kafka.Storage;
using Aspire.Kafka.Config;
using Aspire.Kafka.ServiceDefaults.Configuration;

namespace Aspire.Kafka.ControllerService;

/// <summary>The controller's typed settings, built once at start from <see cref="KafkaConfig"/>.</summary>
public sealed record ControllerSettings(
    int NodeId,
    string ClusterId,
    string MetadataLogDir,
    string ListenerName,
    IReadOnlyList<VoterEndpoint> Voters,
    RaftConfig Raft,
    QuorumControllerConfig Controller,
    int AppendLingerMs)
{
    /// <summary>metadata.log.max.record.bytes.between.snapshots (20 MiB).</summary>
    public long MaxRecordBytesBetweenSnapshots { get; init; } = 20L * 1024 * 1024;

    /// <summary>metadata.log.max.snapshot.interval.ms (1 h; 0: only by bytes).</summary>
    public long MaxSnapshotIntervalMs { get; init; } = 3_600_000;

    /// <summary>metadata.log.segment.bytes (1 GiB).</summary>
    public int MetadataLogSegmentBytes { get; init; } = 1024 * 1024 * 1024;

    /// <summary>metadata.log.segment.ms (7 days).</summary>
    public long MetadataLogSegmentMs { get; init; } = 7L * 24 * 60 * 60 * 1000;

    /// <summary>Builds the settings or throws <see cref="InvalidOperationException"/> with one sentence saying what is wrong.</summary>
    public static ControllerSettings From(KafkaConfig config, Func<string, string?> environment)
    {
        int nodeId = config.GetInt(ServiceDefaultsConfig.NodeId);
        if (nodeId < 0)
        {
            throw new InvalidOperationException("node.id must be set to this controller's id (one of controller.quorum.voters).");
        }

        string votersText = string.Join(',', config.GetList(ControllerConfig.QuorumVoters));
        IReadOnlyList<VoterEndpoint> voters;
        try
        {
            voters = QuorumVoters.Parse(votersText);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            throw new InvalidOperationException($"Invalid value {votersText} for configuration controller.quorum.voters: {e.Message}", e);
        }

        if (!voters.Any(v => v.Id == nodeId))
        {
            throw new InvalidOperationException(
                $"node.id {nodeId} is not one of controller.quorum.voters ({votersText}): a controller must be a voter.");
        }

        IReadOnlyList<string> listenerNames = config.GetList(ControllerConfig.ControllerListenerNames);
        string listenerName = listenerNames.Count > 0 ? listenerNames[0] : "CONTROLLER";
        IReadOnlyList<string> listeners = config.GetList(ServiceDefaultsConfig.Listeners);
        if (!listeners.Any(l => l.StartsWith(listenerName + "://", StringComparison.OrdinalIgnoreCase)))
        {
            throw new InvalidOperationException(
                $"controller.listener.names names {listenerName} but listeners ({string.Join(',', listeners)}) has no {listenerName}:// entry.");
        }

        string metadataLogDir = config.GetString(ControllerConfig.MetadataLogDir) is { Length: > 0 } dir
            ? dir
            : config.GetList(ControllerConfig.LogDirs) is { Count: > 0 } dirs ? dirs[0] : throw new InvalidOperationException("log.dirs is empty and metadata.log.dir is not set.");

        string? clusterId = Storage.MetaProperties.Read(metadataLogDir)?.ClusterId;
        string? fromEnvironment = environment("CLUSTER_ID");
        if (clusterId is null)
        {
            clusterId = fromEnvironment is { Length: > 0 } ? fromEnvironment
                : throw new InvalidOperationException(
                    $"No cluster id: {metadataLogDir} has no meta.properties (format it, as kafka-storage format does) and CLUSTER_ID is not set.");
        }
        else if (fromEnvironment is { Length: > 0 } && fromEnvironment != clusterId)
        {
            throw new InvalidOperationException(
                $"CLUSTER_ID {fromEnvironment} differs from cluster.id {clusterId} in {Path.Combine(metadataLogDir, Storage.MetaProperties.FileName)}.");
        }

        var raft = new RaftConfig
        {
            NodeId = nodeId,
            Voters = [.. voters.Select(v => v.Id)],
            ElectionTimeoutMs = config.GetInt(ControllerConfig.ElectionTimeoutMs),
            FetchTimeoutMs = config.GetInt(ControllerConfig.FetchTimeoutMs),
            // Randomized fetch timeout (libs/Raft): a voter stands after a fresh draw from
            // (fetch.timeout.ms / 2, fetch.timeout.ms], so two followers of a dead leader do not
            // stand at the same instant and split the vote. A window of a quarter split 7 of 20
            // kill -9 failovers on a loaded machine (max 7 s), half of it 2 of 20 (max 2.6 s).
            FetchTimeoutJitterMs = config.GetInt(ControllerConfig.FetchTimeoutMs) / 2,
            ElectionBackoffMaxMs = config.GetInt(ControllerConfig.ElectionBackoffMaxMs),
            RequestTimeoutMs = config.GetInt(ControllerConfig.RequestTimeoutMs),
            RetryBackoffMs = config.GetInt(ControllerConfig.RetryBackoffMs),
        };
        try
        {
            raft.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException($"Invalid quorum configuration: {e.Message}", e);
        }

        var properties = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["cluster.id"] = clusterId,
            ["node.id"] = nodeId.ToString(CultureInfo.InvariantCulture),
        };
        // The QuorumController's keys always (as effective values), the brokers' log.* defaults when set.
        foreach (ConfigKey key in QuorumControllerConfig.ConfigDef.Keys)
        {
            properties[key.Name] = ConfigDef.Format(config.Get(key.Name))!;
        }

        foreach (ConfigKey key in LogConfig.ServerConfigDef.Keys)
        {
            if (!properties.ContainsKey(key.Name) && config.SourceOf(key.Name) != Aspire.Kafka.ServiceDefaults.Configuration.ConfigSource.Default)
            {
                properties[key.Name] = ConfigDef.Format(config.Get(key.Name))!;
            }
        }

        QuorumControllerConfig controller;
        try
        {
            controller = QuorumControllerConfig.FromProperties(properties);
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            throw new InvalidOperationException(e.Message, e);
        }

        return new ControllerSettings(nodeId, clusterId, metadataLogDir, listenerName, voters, raft, controller,
            config.GetInt(ControllerConfig.AppendLingerMs))
        {
            MaxRecordBytesBetweenSnapshots = config.GetLong(ControllerConfig.MaxRecordBytesBetweenSnapshots),
            MaxSnapshotIntervalMs = config.GetLong(ControllerConfig.MaxSnapshotIntervalMs),
            MetadataLogSegmentBytes = config.GetInt(ControllerConfig.MetadataLogSegmentBytes),
            MetadataLogSegmentMs = config.GetLong(ControllerConfig.MetadataLogSegmentMs),
        };
    }
}
