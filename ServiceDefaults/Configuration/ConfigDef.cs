using System.Globalization;

namespace Aspire.Kafka.ServiceDefaults.Configuration;

/// <summary>The type of a configuration value, as in Kafka's <c>ConfigDef.Type</c>.</summary>
public enum ConfigType
{
    Boolean,
    String,
    Int,
    Short,
    Long,
    Double,
    /// <summary>Comma-separated values; parsed to <c>IReadOnlyList&lt;string&gt;</c>.</summary>
    List,
    /// <summary>A .NET type name; kept as a string, validated by the service.</summary>
    Class,
    /// <summary>A string that is never logged nor shown in an error message.</summary>
    Password,
}

/// <summary>How much a user should care about a key, as in Kafka's <c>ConfigDef.Importance</c>.</summary>
public enum Importance
{
    High,
    Medium,
    Low,
}

/// <summary>One declared configuration key.</summary>
public sealed record ConfigKey(
    string Name,
    ConfigType Type,
    object? DefaultValue,
    IConfigValidator? Validator,
    Importance Importance,
    string Documentation)
{
    /// <summary>True when the key has no default: a value must come from a file, the environment or an override.</summary>
    public bool IsRequired => ReferenceEquals(DefaultValue, ConfigDef.NoDefault);

    /// <summary>The environment variable that sets this key (Confluent images' rule, see <see cref="ConfigDef.EnvironmentVariableName"/>).</summary>
    public string EnvironmentVariable => ConfigDef.EnvironmentVariableName(Name);
}

/// <summary>
/// The set of configuration keys a service understands, with type, default, validator,
/// importance and documentation (Kafka's <c>ConfigDef</c>). A service declares one and passes
/// it to <c>AddServiceDefaults</c>; anything outside it is rejected at start.
/// </summary>
public sealed class ConfigDef
{
    /// <summary>Marker default for a key that has none (Kafka's <c>ConfigDef.NO_DEFAULT_VALUE</c>).</summary>
    public static readonly object NoDefault = new();

    private readonly Dictionary<string, ConfigKey> _keys = new(StringComparer.Ordinal);

    public IReadOnlyCollection<ConfigKey> Keys => _keys.Values;

    public bool Contains(string name) => _keys.ContainsKey(name);

    public bool TryGetKey(string name, out ConfigKey key) => _keys.TryGetValue(name, out key!);

    public ConfigKey this[string name] => _keys[name];

    /// <summary>Declares a key. <paramref name="defaultValue"/> may be a typed value or its string form; <see cref="NoDefault"/> makes the key required.</summary>
    public ConfigDef Define(string name, ConfigType type, object? defaultValue, IConfigValidator? validator, Importance importance, string documentation)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (_keys.ContainsKey(name))
        {
            throw new InvalidOperationException($"Configuration {name} is defined twice.");
        }

        object? parsedDefault = ReferenceEquals(defaultValue, NoDefault) || defaultValue is null
            ? defaultValue
            : ParseDefault(name, type, defaultValue, validator);
        _keys.Add(name, new ConfigKey(name, type, parsedDefault, validator, importance, documentation));
        return this;
    }

    public ConfigDef Define(string name, ConfigType type, object? defaultValue, Importance importance, string documentation) =>
        Define(name, type, defaultValue, null, importance, documentation);

    /// <summary>A required key (no default).</summary>
    public ConfigDef Define(string name, ConfigType type, Importance importance, string documentation) =>
        Define(name, type, NoDefault, null, importance, documentation);

    /// <summary>Changes the default of a key declared elsewhere (e.g. a service giving <c>listeners</c> its own default).</summary>
    public ConfigDef WithDefault(string name, object? defaultValue)
    {
        if (!_keys.TryGetValue(name, out ConfigKey? key))
        {
            throw new InvalidOperationException($"Configuration {name} is not defined, so its default cannot be changed.");
        }

        object? parsed = ReferenceEquals(defaultValue, NoDefault) || defaultValue is null
            ? defaultValue
            : ParseDefault(name, key.Type, defaultValue, key.Validator);
        _keys[name] = key with { DefaultValue = parsed };
        return this;
    }

    /// <summary>A new definition holding the keys of this one and of <paramref name="other"/> (a key in both is an error).</summary>
    public ConfigDef Merge(ConfigDef other)
    {
        var merged = new ConfigDef();
        foreach (ConfigKey key in _keys.Values)
        {
            merged._keys.Add(key.Name, key);
        }

        foreach (ConfigKey key in other._keys.Values)
        {
            if (!merged._keys.TryAdd(key.Name, key))
            {
                throw new InvalidOperationException($"Configuration {key.Name} is defined twice (use WithDefault to change the default of a shared key).");
            }
        }

        return merged;
    }

    /// <summary>
    /// The environment variable for a key, the Confluent images' rule: prefix <c>KAFKA_</c>,
    /// upper case, '.' becomes '_', '_' becomes '__', '-' becomes '___'.
    /// <c>log.dirs</c> → <c>KAFKA_LOG_DIRS</c>; <c>listener.security.protocol.map</c> → <c>KAFKA_LISTENER_SECURITY_PROTOCOL_MAP</c>.
    /// </summary>
    public static string EnvironmentVariableName(string key)
    {
        var builder = new System.Text.StringBuilder("KAFKA_", key.Length + 16);
        foreach (char c in key)
        {
            switch (c)
            {
                case '.': builder.Append('_'); break;
                case '_': builder.Append("__"); break;
                case '-': builder.Append("___"); break;
                default: builder.Append(char.ToUpperInvariant(c)); break;
            }
        }

        return builder.ToString();
    }

    /// <summary>Parses a raw string for <paramref name="key"/> and runs its validator; throws <see cref="ConfigException"/> with one sentence.</summary>
    public static object? Parse(ConfigKey key, string raw)
    {
        object? value = ParseType(key.Name, key.Type, raw);
        key.Validator?.EnsureValid(key.Name, value);
        return value;
    }

    private static object? ParseDefault(string name, ConfigType type, object value, IConfigValidator? validator)
    {
        object? parsed = value is string s ? ParseType(name, type, s) : Coerce(name, type, value);
        validator?.EnsureValid(name, parsed);
        return parsed;
    }

    private static object? Coerce(string name, ConfigType type, object value) => (type, value) switch
    {
        (ConfigType.Boolean, bool b) => b,
        (ConfigType.Int, int i) => i,
        (ConfigType.Short, short s) => s,
        (ConfigType.Short, int i) when i is >= short.MinValue and <= short.MaxValue => (short)i,
        (ConfigType.Long, long l) => l,
        (ConfigType.Long, int i) => (long)i,
        (ConfigType.Double, double d) => d,
        (ConfigType.Double, int i) => (double)i,
        (ConfigType.List, IEnumerable<string> list) => list.ToArray(),
        _ => throw new InvalidOperationException($"Default {value} ({value.GetType().Name}) of configuration {name} does not match its type {type}."),
    };

    internal static object? ParseType(string name, ConfigType type, string raw)
    {
        string trimmed = raw.Trim();
        switch (type)
        {
            case ConfigType.Boolean:
                if (trimmed.Equals("true", StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }

                if (trimmed.Equals("false", StringComparison.OrdinalIgnoreCase))
                {
                    return false;
                }

                throw new ConfigException(name, raw, "expected value to be either true or false");
            case ConfigType.Int:
                return int.TryParse(trimmed, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int i)
                    ? i
                    : throw new ConfigException(name, raw, "not a number of type INT");
            case ConfigType.Short:
                return short.TryParse(trimmed, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out short s)
                    ? s
                    : throw new ConfigException(name, raw, "not a number of type SHORT");
            case ConfigType.Long:
                return long.TryParse(trimmed, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l)
                    ? l
                    : throw new ConfigException(name, raw, "not a number of type LONG");
            case ConfigType.Double:
                return double.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out double d)
                    ? d
                    : throw new ConfigException(name, raw, "not a number of type DOUBLE");
            case ConfigType.List:
                return trimmed.Length == 0
                    ? Array.Empty<string>()
                    : trimmed.Split(',', StringSplitOptions.TrimEntries);
            case ConfigType.String:
            case ConfigType.Class:
                return trimmed;
            case ConfigType.Password:
                return raw;
            default:
                throw new InvalidOperationException($"Unknown configuration type {type}.");
        }
    }
}
