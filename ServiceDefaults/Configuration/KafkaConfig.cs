using Aspire.Kafka.Config;
using System.Collections.ObjectModel;

namespace Aspire.Kafka.ServiceDefaults.Configuration;

/// <summary>Where a configuration value came from, lowest precedence first.</summary>
public enum ConfigSource
{
    Default,
    File,
    Environment,
    Override,
}

/// <summary>
/// A service's validated configuration: every key of its <see cref="ConfigDef"/> with a typed
/// value and the source it came from. Registered as a singleton by <c>AddServiceDefaults</c>.
/// </summary>
public sealed class KafkaConfig
{
    private readonly Dictionary<string, object?> _values;
    private readonly Dictionary<string, ConfigSource> _sources;

    internal KafkaConfig(ConfigDef definition, Dictionary<string, object?> values, Dictionary<string, ConfigSource> sources)
    {
        Definition = definition;
        _values = values;
        _sources = sources;
    }

    public ConfigDef Definition { get; }

    /// <summary>Every key with its typed value (passwords included: do not log this).</summary>
    public IReadOnlyDictionary<string, object?> Values => new ReadOnlyDictionary<string, object?>(_values);

    public ConfigSource SourceOf(string key) => _sources[Known(key)];

    public object? Get(string key) => _values[Known(key)];

    public int GetInt(string key) => Typed<int>(key, ConfigType.Int);

    public short GetShort(string key) => Typed<short>(key, ConfigType.Short);

    public long GetLong(string key) => Typed<long>(key, ConfigType.Long);

    public double GetDouble(string key) => Typed<double>(key, ConfigType.Double);

    public bool GetBoolean(string key) => Typed<bool>(key, ConfigType.Boolean);

    public string? GetString(string key)
    {
        ConfigKey def = Definition[Known(key)];
        if (def.Type is not (ConfigType.String or ConfigType.Class))
        {
            throw new InvalidOperationException($"Configuration {key} is of type {def.Type}, not String.");
        }

        return (string?)_values[key];
    }

    public string? GetPassword(string key) => Typed<string?>(key, ConfigType.Password);

    public IReadOnlyList<string> GetList(string key) => Typed<string[]?>(key, ConfigType.List) ?? [];

    /// <summary>The effective configuration as <c>key=value</c> lines, passwords hidden (for the start-up log).</summary>
    public IEnumerable<string> Describe() =>
        _values.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv =>
            $"{kv.Key} = {(Definition[kv.Key].Type == ConfigType.Password && kv.Value is not null ? "[hidden]" : (ConfigDef.Format(kv.Value) ?? "null"))}");

    /// <summary>One sentence per key that was given a value but has no effect in this service (Kafka knows it; the reason says why), for the start-up log.</summary>
    public IEnumerable<string> SettingsWithoutEffect() =>
        Definition.KeysWithoutEffect
            .Where(k => _sources[k.Name] != ConfigSource.Default)
            .OrderBy(k => k.Name, StringComparer.Ordinal)
            .Select(k => $"{k.Name} is accepted but has no effect here: {k.NoEffectReason}.");

    private T Typed<T>(string key, ConfigType type)
    {
        ConfigKey def = Definition[Known(key)];
        if (def.Type != type)
        {
            throw new InvalidOperationException($"Configuration {key} is of type {def.Type}, not {type}.");
        }

        object? value = _values[key];
        if (value is null && default(T) is not null)
        {
            throw new InvalidOperationException($"Configuration {key} has no value.");
        }

        return (T)value!;
    }

    private string Known(string key) => Definition.Contains(key)
        ? key
        : throw new InvalidOperationException($"Configuration {key} is not defined by this service.");
}
