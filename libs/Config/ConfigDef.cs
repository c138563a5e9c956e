using System.Globalization;

namespace Aspire.Kafka.Config;

/// <summary>The type of a configuration value, as in Kafka's <c>ConfigDef.Type</c>; the numbers are DescribeConfigs' ConfigType.</summary>
public enum ConfigType : sbyte
{
    Unknown = 0,
    Boolean = 1,
    String = 2,
    Int = 3,
    Short = 4,
    Long = 5,
    Double = 6,
    /// <summary>Comma-separated values; parsed to <c>IReadOnlyList&lt;string&gt;</c>.</summary>
    List = 7,
    /// <summary>A .NET type name; kept as a string, validated by the service.</summary>
    Class = 8,
    /// <summary>A string that is never logged nor shown in an error message.</summary>
    Password = 9,
}

/// <summary>How much a user should care about a key, as in Kafka's <c>ConfigDef.Importance</c>.</summary>
public enum Importance
{
    High,
    Medium,
    Low,
}

/// <summary>
/// A server key a topic key falls back to (Kafka's <c>ConfigSynonym</c>), with the factor that
/// converts its unit: <c>retention.ms</c> ← <c>log.retention.hours</c> × 3,600,000.
/// </summary>
public sealed record ConfigSynonym(string Name, long Multiplier = 1);

/// <summary>One declared configuration key.</summary>
public sealed record ConfigKey(
    string Name,
    ConfigType Type,
    object? DefaultValue,
    IConfigValidator? Validator,
    Importance Importance,
    string Documentation)
{
    /// <summary>For a topic key: the server keys it falls back to, highest precedence first.</summary>
    public IReadOnlyList<ConfigSynonym> Synonyms { get; init; } = [];

    /// <summary>Whether a broker-level value may be changed at run time (IncrementalAlterConfigs on a broker resource).</summary>
    public bool DynamicallyUpdatable { get; init; }

    /// <summary>
    /// Set when the service accepts the key because Kafka knows it, but it has no effect here;
    /// says why. A value given for it is logged at start with this reason.
    /// </summary>
    public string? NoEffectReason { get; init; }

    /// <summary>True when the key has no default: a value must come from a file, the environment or an override.</summary>
    public bool IsRequired => ReferenceEquals(DefaultValue, ConfigDef.NoDefault);

    /// <summary>The default as Kafka shows it (DescribeConfigs, docs); null when there is none.</summary>
    public string? DefaultString => IsRequired ? null : ConfigDef.Format(DefaultValue);

    /// <summary>The environment variable that sets this key (Confluent images' rule, see <see cref="ConfigDef.EnvironmentVariableName"/>).</summary>
    public string EnvironmentVariable => ConfigDef.EnvironmentVariableName(Name);

    /// <summary>Parses <paramref name="raw"/> and runs the validator: null when valid, else Kafka's message ("Invalid value V for configuration K: Reason").</summary>
    public string? Validate(string raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        try
        {
            ConfigDef.Parse(this, raw);
            return null;
        }
        catch (ConfigException e) when (e.Reason is { Length: > 0 } reason)
        {
            return $"Invalid value {raw} for configuration {Name}: {char.ToUpperInvariant(reason[0])}{reason[1..]}";
        }
    }
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

    /// <summary>A key on its own (for a definition shared by several services). <paramref name="defaultValue"/> may be a typed value or its string form; <see cref="NoDefault"/> makes the key required.</summary>
    public static ConfigKey Key(string name, ConfigType type, object? defaultValue, IConfigValidator? validator, Importance importance, string documentation)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        object? parsedDefault = ReferenceEquals(defaultValue, NoDefault) || defaultValue is null
            ? defaultValue
            : ParseDefault(name, type, defaultValue, validator);
        return new ConfigKey(name, type, parsedDefault, validator, importance, documentation);
    }

    /// <summary>Declares a key. <paramref name="defaultValue"/> may be a typed value or its string form; <see cref="NoDefault"/> makes the key required.</summary>
    public ConfigDef Define(string name, ConfigType type, object? defaultValue, IConfigValidator? validator, Importance importance, string documentation) =>
        Define(Key(name, type, defaultValue, validator, importance, documentation));

    /// <summary>Declares a key built elsewhere (<see cref="Key"/>).</summary>
    public ConfigDef Define(ConfigKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (_keys.ContainsKey(key.Name))
        {
            throw new InvalidOperationException($"Configuration {key.Name} is defined twice.");
        }

        _keys.Add(key.Name, key);
        return this;
    }

    /// <summary>Marks a key declared elsewhere as accepted without effect in this service, saying why (see <see cref="ConfigKey.NoEffectReason"/>).</summary>
    public ConfigDef WithoutEffect(string name, string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        _keys[name] = Existing(name) with { NoEffectReason = reason };
        return this;
    }

    /// <summary>A copy of this definition with every key accepted without effect, for <paramref name="reason"/>.</summary>
    public ConfigDef AllWithoutEffect(string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        var result = new ConfigDef();
        foreach (ConfigKey key in _keys.Values)
        {
            result._keys.Add(key.Name, key with { NoEffectReason = reason });
        }

        return result;
    }

    /// <summary>Keys of this definition that were given a value although they have no effect here, with the reason (for the start-up log).</summary>
    public IEnumerable<ConfigKey> KeysWithoutEffect => _keys.Values.Where(k => k.NoEffectReason is not null);

    public ConfigDef Define(string name, ConfigType type, object? defaultValue, Importance importance, string documentation) =>
        Define(name, type, defaultValue, null, importance, documentation);

    /// <summary>A required key (no default).</summary>
    public ConfigDef Define(string name, ConfigType type, Importance importance, string documentation) =>
        Define(name, type, NoDefault, null, importance, documentation);

    /// <summary>Changes the default of a key declared elsewhere (e.g. a service giving <c>listeners</c> its own default).</summary>
    public ConfigDef WithDefault(string name, object? defaultValue)
    {
        ConfigKey key = Existing(name);
        object? parsed = ReferenceEquals(defaultValue, NoDefault) || defaultValue is null
            ? defaultValue
            : ParseDefault(name, key.Type, defaultValue, key.Validator);
        _keys[name] = key with { DefaultValue = parsed };
        return this;
    }

    /// <summary>
    /// A new definition holding the keys of this one and of <paramref name="other"/>. The same
    /// key (one declaration reached through two definitions) is taken once; two different
    /// declarations of one name are an error.
    /// </summary>
    public ConfigDef Merge(ConfigDef other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var merged = new ConfigDef();
        foreach (ConfigKey key in _keys.Values)
        {
            merged._keys.Add(key.Name, key);
        }

        foreach (ConfigKey key in other._keys.Values)
        {
            if (!merged._keys.TryAdd(key.Name, key) && !merged._keys[key.Name].Equals(key))
            {
                throw new InvalidOperationException($"Configuration {key.Name} is defined twice (use WithDefault to change the default of a shared key).");
            }
        }

        return merged;
    }

    /// <summary>A new definition holding only the keys named (each must be defined here).</summary>
    public ConfigDef Select(IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var selected = new ConfigDef();
        foreach (string name in names)
        {
            selected.Define(Existing(name));
        }

        return selected;
    }

    /// <summary>
    /// A value as Kafka prints it (<c>ConfigDef.convertToString</c>): lists comma-joined,
    /// booleans lower case, numbers in the invariant culture; null stays null.
    /// </summary>
    public static string? Format(object? value) => value switch
    {
        null => null,
        string s => s,
        bool b => b ? "true" : "false",
        IEnumerable<string> list => string.Join(',', list),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    private ConfigKey Existing(string name) => _keys.TryGetValue(name, out ConfigKey? key)
        ? key
        : throw new InvalidOperationException($"Configuration {name} is not defined here.");

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
                    : trimmed.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
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
