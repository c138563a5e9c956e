using Aspire.Kafka.Config;
using System.Collections;

namespace Aspire.Kafka.ServiceDefaults.Configuration;

/// <summary>
/// Builds a <see cref="KafkaConfig"/> from, lowest precedence first: the defaults of the
/// <see cref="ConfigDef"/>, <c>--config server.properties</c>, <c>KAFKA_*</c> environment
/// variables and <c>--override key=value</c> arguments (as <c>kafka-server-start</c> and the
/// Confluent images do).
/// </summary>
/// <remarks>
/// Environment rule: only the variables whose name is the mapping of a defined key are read
/// (<see cref="ConfigDef.EnvironmentVariableName"/>). Others that start with <c>KAFKA_</c>
/// (KAFKA_HEAP_OPTS, KAFKA_OPTS, KAFKA_LOG4J_OPTS, KAFKA_JMX_OPTS…) belong to other tools and
/// are ignored. A key in the file or in an override that the service does not define is an error.
/// </remarks>
public static class KafkaConfigLoader
{
    /// <summary>Parses the command line and loads; throws <see cref="ConfigException"/> with one sentence.</summary>
    public static KafkaConfig Load(ConfigDef definition, IReadOnlyList<string> args, IDictionary? environment = null)
    {
        (string? file, List<KeyValuePair<string, string>> overrides) = ParseArguments(args);
        return Load(definition, file, overrides, environment ?? Environment.GetEnvironmentVariables());
    }

    public static KafkaConfig Load(
        ConfigDef definition,
        string? configFile,
        IReadOnlyList<KeyValuePair<string, string>> overrides,
        IDictionary environment)
    {
        var raw = new Dictionary<string, (string Value, ConfigSource Source, string Origin)>(StringComparer.Ordinal);

        if (configFile is not null)
        {
            if (!File.Exists(configFile))
            {
                throw new ConfigException($"Configuration file {configFile} (from --config) does not exist.");
            }

            foreach ((string key, string value) in JavaProperties.Load(configFile))
            {
                RequireKnown(definition, key, value, $"{configFile}");
                raw[key] = (value, ConfigSource.File, configFile);
            }
        }

        foreach (ConfigKey key in definition.Keys)
        {
            string variable = key.EnvironmentVariable;
            if (environment[variable] is string value)
            {
                raw[key.Name] = (value, ConfigSource.Environment, $"environment variable {variable}");
            }
        }

        foreach ((string key, string value) in overrides)
        {
            RequireKnown(definition, key, value, $"--override {key}=...");
            raw[key] = (value, ConfigSource.Override, "--override");
        }

        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        var sources = new Dictionary<string, ConfigSource>(StringComparer.Ordinal);
        foreach (ConfigKey key in definition.Keys)
        {
            if (raw.TryGetValue(key.Name, out var given))
            {
                try
                {
                    values[key.Name] = ConfigDef.Parse(key, given.Value);
                }
                catch (ConfigException e) when (e.Reason is not null)
                {
                    string shown = key.Type == ConfigType.Password ? "[hidden]" : given.Value;
                    throw new ConfigException(key.Name, shown, e.Reason, given.Origin);
                }

                sources[key.Name] = given.Source;
            }
            else if (key.IsRequired)
            {
                throw new ConfigException(
                    $"Missing required configuration {key.Name} which has no default value: set it in the --config file, with --override {key.Name}=... or with {key.EnvironmentVariable}.")
                { Key = key.Name };
            }
            else
            {
                values[key.Name] = key.DefaultValue;
                sources[key.Name] = ConfigSource.Default;
            }
        }

        return new KafkaConfig(definition, values, sources);
    }

    /// <summary>
    /// Reads <c>--config FILE</c> (or <c>--config=FILE</c>, or a lone <c>*.properties</c> path as
    /// kafka-server-start takes it) and repeatable <c>--override key=value</c>. Anything else is an error.
    /// </summary>
    public static (string? ConfigFile, List<KeyValuePair<string, string>> Overrides) ParseArguments(IReadOnlyList<string> args)
    {
        string? file = null;
        var overrides = new List<KeyValuePair<string, string>>();
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            string? inline = null;
            string name = arg;
            int eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                name = arg[..eq];
                inline = arg[(eq + 1)..];
            }

            switch (name)
            {
                case "--config":
                    file = inline ?? Next(args, ref i, "--config", "a path to a .properties file");
                    break;
                case "--override":
                    string pair = inline ?? Next(args, ref i, "--override", "key=value");
                    int split = pair.IndexOf('=', StringComparison.Ordinal);
                    if (split <= 0)
                    {
                        throw new ConfigException($"Invalid argument --override {pair}: expected key=value.");
                    }

                    overrides.Add(new KeyValuePair<string, string>(pair[..split].Trim(), pair[(split + 1)..]));
                    break;
                default:
                    if (file is null && !arg.StartsWith('-') && arg.EndsWith(".properties", StringComparison.OrdinalIgnoreCase))
                    {
                        file = arg;
                        break;
                    }

                    throw new ConfigException($"Unknown command-line argument {arg}: use --config <server.properties> and --override key=value.");
            }
        }

        return (file, overrides);
    }

    private static string Next(IReadOnlyList<string> args, ref int i, string option, string what)
    {
        if (i + 1 >= args.Count)
        {
            throw new ConfigException($"Missing value after {option}: expected {what}.");
        }

        return args[++i];
    }

    private static void RequireKnown(ConfigDef definition, string key, string value, string origin)
    {
        if (!definition.Contains(key))
        {
            throw new ConfigException($"Unknown configuration {key} (value {value}, from {origin}): this service does not define it.") { Key = key };
        }
    }
}
