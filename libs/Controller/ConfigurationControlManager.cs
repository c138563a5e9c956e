using System.Globalization;
using Aspire.Kafka.Config;
using Aspire.Kafka.Metadata;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Protocol.MetadataRecords;

namespace Aspire.Kafka.Controller;

/// <summary>Incremental config operations (IncrementalAlterConfigsRequest ConfigOperation).</summary>
public enum AlterConfigOp : sbyte
{
    Set = 0,
    Delete = 1,
    Append = 2,
    Subtract = 3,
}

/// <summary>A resolved config value and where it came from.</summary>
public sealed record ConfigEntry(string Name, string? Value, ConfigSource Source, bool ReadOnly, ConfigType Type, string Documentation, IReadOnlyList<(string Name, string? Value, ConfigSource Source)> Synonyms);

/// <summary>
/// Topic and broker configs (Kafka's ConfigurationControlManager): validation, ConfigRecords for
/// IncrementalAlterConfigs and legacy AlterConfigs, and DescribeConfigs with defaults, sources
/// and synonyms. Resolution order: topic override, then the dynamic per-broker and cluster-wide
/// broker configs, then server.properties (static), then Kafka's default.
/// </summary>
public sealed class ConfigurationControlManager
{
    private readonly Dictionary<string, string> _static;

    public ConfigurationControlManager(QuorumControllerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        // server.properties as given, plus the typed settings that differ from Kafka's defaults
        // (so a config built in code is described the same way as one read from properties).
        _static = new Dictionary<string, string>(config.StaticConfigs, StringComparer.Ordinal);
        var defaults = new QuorumControllerConfig();
        void Typed<T>(string key, T value, T fallback)
        {
            if (!EqualityComparer<T>.Default.Equals(value, fallback))
            {
                _static.TryAdd(key, Convert.ToString(value, CultureInfo.InvariantCulture)!.ToLowerInvariant());
            }
        }

        Typed("num.partitions", config.NumPartitions, defaults.NumPartitions);
        Typed("default.replication.factor", config.DefaultReplicationFactor, defaults.DefaultReplicationFactor);
        Typed("delete.topic.enable", config.DeleteTopicEnable, defaults.DeleteTopicEnable);
        Typed("unclean.leader.election.enable", config.UncleanLeaderElectionEnable, defaults.UncleanLeaderElectionEnable);
        Typed("auto.leader.rebalance.enable", config.AutoLeaderRebalanceEnable, defaults.AutoLeaderRebalanceEnable);
        Typed("leader.imbalance.check.interval.seconds", config.LeaderImbalanceCheckIntervalSeconds, defaults.LeaderImbalanceCheckIntervalSeconds);
        Typed("leader.imbalance.per.broker.percentage", config.LeaderImbalancePerBrokerPercentage, defaults.LeaderImbalancePerBrokerPercentage);
        Typed("offsets.topic.num.partitions", config.OffsetsTopicNumPartitions, defaults.OffsetsTopicNumPartitions);
        Typed("offsets.topic.replication.factor", config.OffsetsTopicReplicationFactor, defaults.OffsetsTopicReplicationFactor);
        Typed("broker.session.timeout.ms", config.BrokerSessionTimeoutMs, defaults.BrokerSessionTimeoutMs);
        Typed("broker.heartbeat.interval.ms", config.BrokerHeartbeatIntervalMs, defaults.BrokerHeartbeatIntervalMs);
    }

    /// <summary>The effective value of a topic config.</summary>
    public string? TopicConfigValue(MetadataImage image, string topic, string key, IReadOnlyDictionary<string, string>? topicOverrides = null) =>
        ResolveTopic(image, topic, TopicConfigs.All[key], topicOverrides, brokerId: null).Value;

    public bool UncleanLeaderElectionEnabled(MetadataImage image, string topic) =>
        bool.TryParse(TopicConfigValue(image, topic, TopicConfigs.UncleanLeaderElectionEnable), out bool enabled) && enabled;

    /// <summary>Every topic config of <paramref name="topic"/> as DescribeConfigs and CreateTopics (v5+) report them.</summary>
    public IReadOnlyList<ConfigEntry> DescribeTopic(MetadataImage image, string topic, IReadOnlyDictionary<string, string>? topicOverrides = null, int? brokerId = null) =>
        [.. TopicConfigs.All.Values.OrderBy(k => k.Name, StringComparer.Ordinal).Select(k => ResolveTopic(image, topic, k, topicOverrides, brokerId))];

    private ConfigEntry ResolveTopic(MetadataImage image, string topic, ConfigKey key, IReadOnlyDictionary<string, string>? topicOverrides, int? brokerId)
    {
        var chain = new List<(string Name, string? Value, ConfigSource Source)>();
        string? topicValue = topicOverrides is not null
            ? topicOverrides.GetValueOrDefault(key.Name)
            : image.Configs.Get(ConfigResource.Topic(topic), key.Name);
        if (topicValue is not null)
        {
            chain.Add((key.Name, topicValue, ConfigSource.DynamicTopicConfig));
        }

        foreach (ConfigSynonym synonym in key.Synonyms)
        {
            if (brokerId is { } id && image.Configs.Get(ConfigResource.Broker(id), synonym.Name) is { } perBroker)
            {
                chain.Add((synonym.Name, Scale(perBroker, synonym.Multiplier), ConfigSource.DynamicBrokerConfig));
            }
        }

        foreach (ConfigSynonym synonym in key.Synonyms)
        {
            if (image.Configs.Get(ConfigResource.ClusterDefault, synonym.Name) is { } clusterDefault)
            {
                chain.Add((synonym.Name, Scale(clusterDefault, synonym.Multiplier), ConfigSource.DynamicDefaultBrokerConfig));
            }
        }

        foreach (ConfigSynonym synonym in key.Synonyms)
        {
            if (_static.TryGetValue(synonym.Name, out string? staticValue))
            {
                chain.Add((synonym.Name, Scale(staticValue, synonym.Multiplier), ConfigSource.StaticBrokerConfig));
            }
        }

        chain.Add((key.Name, key.DefaultString, ConfigSource.DefaultConfig));
        return new ConfigEntry(key.Name, chain[0].Value, chain[0].Source, false, key.Type, key.Documentation, chain);
    }

    private static string Scale(string value, long multiplier) =>
        multiplier != 1 && long.TryParse(value.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long v)
            ? (v * multiplier).ToString(CultureInfo.InvariantCulture)
            : value.Trim();

    private ConfigEntry ResolveBroker(MetadataImage image, string brokerName, ConfigKey key)
    {
        var chain = new List<(string Name, string? Value, ConfigSource Source)>();
        if (brokerName.Length > 0 && image.Configs.Get(new ConfigResource(ConfigResourceType.Broker, brokerName), key.Name) is { } perBroker)
        {
            chain.Add((key.Name, perBroker, ConfigSource.DynamicBrokerConfig));
        }

        if (image.Configs.Get(ConfigResource.ClusterDefault, key.Name) is { } clusterDefault)
        {
            chain.Add((key.Name, clusterDefault, ConfigSource.DynamicDefaultBrokerConfig));
        }

        if (_static.TryGetValue(key.Name, out string? staticValue))
        {
            chain.Add((key.Name, staticValue, ConfigSource.StaticBrokerConfig));
        }

        chain.Add((key.Name, key.DefaultString, ConfigSource.DefaultConfig));
        return new ConfigEntry(key.Name, chain[0].Value, chain[0].Source, !key.DynamicallyUpdatable, key.Type, key.Documentation, chain);
    }

    /// <summary>Checks the resource exists and can hold configs; returns the error, or null.</summary>
    private static ApiError? CheckResource(MetadataImage image, ConfigResource resource)
    {
        switch (resource.Type)
        {
            case ConfigResourceType.Topic:
                return image.Topics.GetTopic(resource.Name) is null
                    ? new ApiError(Errors.UnknownTopicOrPartition, $"Topic '{resource.Name}' does not exist.")
                    : null;
            case ConfigResourceType.Broker:
                return resource.Name.Length == 0 || int.TryParse(resource.Name, NumberStyles.None, CultureInfo.InvariantCulture, out _)
                    ? null
                    : new ApiError(Errors.InvalidRequest, $"Invalid broker name {resource.Name}: a broker resource is named by its node id, or \"\" for the cluster default.");
            default:
                return new ApiError(Errors.InvalidRequest, $"Unsupported resource type {(sbyte)resource.Type} for configs.");
        }
    }

    private static string? ValidateValue(ConfigResource resource, string name, string? value)
    {
        if (resource.Type == ConfigResourceType.Topic)
        {
            return TopicConfigs.Validate(name, value);
        }

        if (!BrokerConfigs.All.TryGetValue(name, out ConfigKey? key))
        {
            return $"Unknown broker config name: {name}";
        }

        if (!key.DynamicallyUpdatable)
        {
            return $"Cannot update these configs dynamically: {name}";
        }

        return value is null ? null : key.Validate(value);
    }

    private static ConfigKey? KeyOf(ConfigResource resource, string name) =>
        resource.Type == ConfigResourceType.Topic ? TopicConfigs.All.GetValueOrDefault(name) : BrokerConfigs.All.GetValueOrDefault(name);

    internal IncrementalAlterConfigsResponse IncrementalAlterConfigs(ControllerWriteContext ctx, IncrementalAlterConfigsRequest request)
    {
        var response = new IncrementalAlterConfigsResponse();
        var seen = new HashSet<ConfigResource>();
        foreach (IncrementalAlterConfigsRequest.AlterConfigsResource r in request.Resources)
        {
            var resource = new ConfigResource((ConfigResourceType)r.ResourceType, r.ResourceName);
            ApiError error = seen.Add(resource)
                ? IncrementalAlter(ctx, resource, r.Configs, request.ValidateOnly)
                : new ApiError(Errors.InvalidRequest, "Duplicate resource.");
            response.Responses.Add(new IncrementalAlterConfigsResponse.AlterConfigsResourceResponse
            {
                ResourceType = r.ResourceType,
                ResourceName = r.ResourceName,
                ErrorCode = error.Code,
                ErrorMessage = error.Message,
            });
        }

        return response;
    }

    private static ApiError IncrementalAlter(ControllerWriteContext ctx, ConfigResource resource, List<IncrementalAlterConfigsRequest.AlterableConfig> configs, bool validateOnly)
    {
        if (CheckResource(ctx.Image, resource) is { } resourceError)
        {
            return resourceError;
        }

        if (configs.Select(c => c.Name).Distinct(StringComparer.Ordinal).Count() != configs.Count)
        {
            return new ApiError(Errors.InvalidRequest, "Error due to duplicate config keys");
        }

        var current = ctx.Image.Configs.ConfigMap(resource);
        var records = new List<ConfigRecord>();
        foreach (IncrementalAlterConfigsRequest.AlterableConfig c in configs)
        {
            string? newValue;
            switch ((AlterConfigOp)c.ConfigOperation)
            {
                case AlterConfigOp.Set:
                    newValue = c.Value;
                    if (newValue is null)
                    {
                        return new ApiError(Errors.InvalidRequest, $"Null value not supported for : {c.Name}");
                    }

                    break;
                case AlterConfigOp.Delete:
                    newValue = null;
                    break;
                case AlterConfigOp.Append or AlterConfigOp.Subtract:
                {
                    ConfigKey? key = KeyOf(resource, c.Name);
                    if (key is not null && key.Type != ConfigType.List)
                    {
                        return new ApiError(Errors.InvalidConfig, $"Can't {(AlterConfigOp)c.ConfigOperation switch { AlterConfigOp.Append => "APPEND", _ => "SUBTRACT" }} to key {c.Name} because its type is not LIST.");
                    }

                    List<string> items = [.. (current.GetValueOrDefault(c.Name) ?? key?.DefaultString ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)];
                    string[] operand = (c.Value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                    if ((AlterConfigOp)c.ConfigOperation == AlterConfigOp.Append)
                    {
                        items.AddRange(operand.Where(o => !items.Contains(o, StringComparer.Ordinal)));
                    }
                    else
                    {
                        items.RemoveAll(i => operand.Contains(i, StringComparer.Ordinal));
                    }

                    newValue = string.Join(",", items);
                    break;
                }

                default:
                    return new ApiError(Errors.InvalidRequest, $"Unknown config operation {c.ConfigOperation} for {c.Name}.");
            }

            string? invalid = newValue is not null
                ? ValidateValue(resource, c.Name, newValue)
                : KeyOf(resource, c.Name) switch
                {
                    null => resource.Type == ConfigResourceType.Topic ? $"Unknown topic config name: {c.Name}" : $"Unknown broker config name: {c.Name}",
                    { DynamicallyUpdatable: false } when resource.Type == ConfigResourceType.Broker => $"Cannot update these configs dynamically: {c.Name}",
                    _ => null,
                };
            if (invalid is not null)
            {
                return new ApiError(Errors.InvalidConfig, invalid);
            }

            if (!string.Equals(current.GetValueOrDefault(c.Name), newValue, StringComparison.Ordinal))
            {
                records.Add(new ConfigRecord { ResourceType = (sbyte)resource.Type, ResourceName = resource.Name, Name = c.Name, Value = newValue });
            }
        }

        if (!validateOnly)
        {
            ctx.AddRange(records.Select(RecordVersions.Of));
        }

        return ApiError.None;
    }

    internal AlterConfigsResponse LegacyAlterConfigs(ControllerWriteContext ctx, AlterConfigsRequest request)
    {
        var response = new AlterConfigsResponse();
        var seen = new HashSet<ConfigResource>();
        foreach (AlterConfigsRequest.AlterConfigsResource r in request.Resources)
        {
            var resource = new ConfigResource((ConfigResourceType)r.ResourceType, r.ResourceName);
            ApiError error = seen.Add(resource)
                ? LegacyAlter(ctx, resource, r.Configs, request.ValidateOnly)
                : new ApiError(Errors.InvalidRequest, "Duplicate resource.");
            response.Responses.Add(new AlterConfigsResponse.AlterConfigsResourceResponse
            {
                ResourceType = r.ResourceType,
                ResourceName = r.ResourceName,
                ErrorCode = error.Code,
                ErrorMessage = error.Message,
            });
        }

        return response;
    }

    private static ApiError LegacyAlter(ControllerWriteContext ctx, ConfigResource resource, List<AlterConfigsRequest.AlterableConfig> configs, bool validateOnly)
    {
        if (CheckResource(ctx.Image, resource) is { } resourceError)
        {
            return resourceError;
        }

        var wanted = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (AlterConfigsRequest.AlterableConfig c in configs)
        {
            if (c.Value is null)
            {
                return new ApiError(Errors.InvalidRequest, $"Null value not supported for : {c.Name}");
            }

            if (!wanted.TryAdd(c.Name, c.Value))
            {
                return new ApiError(Errors.InvalidRequest, "Error due to duplicate config keys");
            }

            if (ValidateValue(resource, c.Name, c.Value) is { } invalid)
            {
                return new ApiError(Errors.InvalidConfig, invalid);
            }
        }

        var current = ctx.Image.Configs.ConfigMap(resource);
        var records = new List<ConfigRecord>();
        foreach ((string name, string value) in wanted.OrderBy(w => w.Key, StringComparer.Ordinal))
        {
            if (!string.Equals(current.GetValueOrDefault(name), value, StringComparison.Ordinal))
            {
                records.Add(new ConfigRecord { ResourceType = (sbyte)resource.Type, ResourceName = resource.Name, Name = name, Value = value });
            }
        }

        foreach (string name in current.Keys.Where(k => !wanted.ContainsKey(k)))
        {
            records.Add(new ConfigRecord { ResourceType = (sbyte)resource.Type, ResourceName = resource.Name, Name = name, Value = null });
        }

        if (!validateOnly)
        {
            ctx.AddRange(records.Select(RecordVersions.Of));
        }

        return ApiError.None;
    }

    /// <summary>
    /// DescribeConfigs over an image: every known config with its value and source (synonyms and
    /// documentation only when asked). <paramref name="version"/> is the request's: v0 carries
    /// IsDefault, v1+ ConfigSource instead.
    /// </summary>
    public DescribeConfigsResponse DescribeConfigs(MetadataImage image, DescribeConfigsRequest request, short version = 4)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(request);
        var response = new DescribeConfigsResponse();
        foreach (DescribeConfigsRequest.DescribeConfigsResource r in request.Resources)
        {
            var resource = new ConfigResource((ConfigResourceType)r.ResourceType, r.ResourceName);
            var result = new DescribeConfigsResponse.DescribeConfigsResult { ResourceType = r.ResourceType, ResourceName = r.ResourceName, ErrorMessage = null };
            response.Results.Add(result);
            if (CheckResource(image, resource) is { } error)
            {
                result.ErrorCode = error.Code;
                result.ErrorMessage = error.Message;
                continue;
            }

            IEnumerable<ConfigEntry> entries = resource.Type == ConfigResourceType.Topic
                ? DescribeTopic(image, resource.Name)
                : resource.Name.Length == 0
                    ? BrokerConfigs.All.Values.OrderBy(k => k.Name, StringComparer.Ordinal)
                        .Where(k => image.Configs.Get(ConfigResource.ClusterDefault, k.Name) is not null)
                        .Select(k => ResolveBroker(image, "", k))
                    : BrokerConfigs.All.Values.OrderBy(k => k.Name, StringComparer.Ordinal).Select(k => ResolveBroker(image, resource.Name, k));
            if (r.ConfigurationKeys is { } keys)
            {
                entries = entries.Where(e => keys.Contains(e.Name, StringComparer.Ordinal));
            }

            foreach (ConfigEntry entry in entries)
            {
                result.Configs.Add(new DescribeConfigsResponse.DescribeConfigsResourceResult
                {
                    Name = entry.Name,
                    Value = entry.Value,
                    ReadOnly = entry.ReadOnly,
                    IsDefault = version == 0 && entry.Source == ConfigSource.DefaultConfig,
                    ConfigSource = (sbyte)entry.Source,
                    IsSensitive = false,
                    ConfigType = (sbyte)entry.Type,
                    Documentation = request.IncludeDocumentation ? entry.Documentation : null,
                    Synonyms = request.IncludeSynonyms
                        ? [.. entry.Synonyms.Select(s => new DescribeConfigsResponse.DescribeConfigsSynonym { Name = s.Name, Value = s.Value, Source = (sbyte)s.Source })]
                        : [],
                });
            }
        }

        return response;
    }
}
