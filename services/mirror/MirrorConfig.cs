using System.Text.RegularExpressions;
using Aspire.Kafka.Config;
using Aspire.Kafka.ServiceDefaults.Configuration;
using Range = Aspire.Kafka.Config.Range;

namespace Aspire.Kafka.Mirror;

/// <summary>The mirror's configuration keys (MirrorMaker 2's names where it has one; README.md documents each).</summary>
public static class MirrorConfig
{
    public const string SourceAlias = "source.cluster.alias";
    public const string SourceBootstrap = "source.bootstrap.servers";
    public const string TargetAlias = "target.cluster.alias";
    public const string TargetBootstrap = "target.bootstrap.servers";
    public const string Topics = "topics";
    public const string TopicsExclude = "topics.exclude";
    public const string Groups = "groups";
    public const string GroupsExclude = "groups.exclude";
    public const string RefreshTopicsIntervalMs = "refresh.topics.interval.ms";
    public const string SyncTopicConfigsIntervalMs = "sync.topic.configs.interval.ms";
    public const string ConsumerOffsetSyncMs = "consumer.offset.sync.ms";
    public const string FetchMaxBytes = "mirror.fetch.max.bytes";
    public const string FetchMaxWaitMs = "mirror.fetch.max.wait.ms";
    public const string RetryBackoffMs = "retry.backoff.ms";
    public const string RequestTimeoutMs = "request.timeout.ms";
    public const string ControlListener = "control.listener";

    private static readonly IConfigValidator RegexList = Validator.From(v =>
    {
        foreach (string pattern in (IEnumerable<string>?)v ?? [])
        {
            try
            {
                _ = new Regex(pattern);
            }
            catch (ArgumentException e)
            {
                return $"'{pattern}' is not a regular expression ({e.Message})";
            }
        }

        return null;
    }, "comma-separated regular expressions");

    private static readonly IConfigValidator Alias = Validator.From(v => v is string s && Regex.IsMatch(s, "^[A-Za-z0-9._-]+$") ? null : "an alias is letters, digits, '.', '_' or '-'", "[A-Za-z0-9._-]+");

    /// <summary>The mirror's own keys (AddServiceDefaults adds the service keys: http.listener, log.level…).</summary>
    public static ConfigDef Definition { get; } = new ConfigDef()
        .Define(SourceAlias, ConfigType.String, "source", Alias, Importance.High, "The name of the source cluster: mirror topics on the target carry it (aspire.mirror.source).")
        .Define(SourceBootstrap, ConfigType.List, ConfigDef.NoDefault, NonEmptyString.Instance, Importance.High, "host:port of brokers of the source cluster.")
        .Define(TargetAlias, ConfigType.String, "target", Alias, Importance.High, "The name of the target (backup) cluster.")
        .Define(TargetBootstrap, ConfigType.List, ConfigDef.NoDefault, NonEmptyString.Instance, Importance.High, "host:port of brokers of the target cluster.")
        .Define(Topics, ConfigType.List, ".*", RegexList, Importance.High, "Regular expressions of the source topics to mirror (whole-name matches).")
        .Define(TopicsExclude, ConfigType.List, @".*[\-\.]internal,.*\.replica,__.*", RegexList, Importance.High,
            "Regular expressions of source topics never mirrored, even if topics matches them (MirrorMaker 2's default: internal topics).")
        .Define(Groups, ConfigType.List, ".*", RegexList, Importance.High, "Regular expressions of the consumer groups whose committed offsets are synced.")
        .Define(GroupsExclude, ConfigType.List, @"console-consumer-.*,connect-.*,__.*", RegexList, Importance.High,
            "Regular expressions of groups never synced (MirrorMaker 2's default).")
        .Define(RefreshTopicsIntervalMs, ConfigType.Long, 5000L, Range.AtLeast(100), Importance.Medium,
            "How often new source topics, partition increases and deletions are looked for.")
        .Define(SyncTopicConfigsIntervalMs, ConfigType.Long, 10000L, Range.AtLeast(100), Importance.Medium, "How often source topic configs are copied to the mirror topics.")
        .Define(ConsumerOffsetSyncMs, ConfigType.Long, 1000L, Range.AtLeast(10), Importance.High, "How often the selected groups' committed offsets are written to the target.")
        .Define(FetchMaxBytes, ConfigType.Int, 16 * 1024 * 1024, Range.AtLeast(1024), Importance.Medium, "The most bytes one fetch from a source broker returns.")
        .Define(FetchMaxWaitMs, ConfigType.Int, 200, Range.AtLeast(0), Importance.Medium, "How long a fetch waits on the source broker for new records.")
        .Define(RetryBackoffMs, ConfigType.Long, 500L, Range.AtLeast(0), Importance.Medium, "The wait before a failed request is tried again.")
        .Define(RequestTimeoutMs, ConfigType.Int, 30000, Range.AtLeast(1), Importance.Medium, "How long a request to either cluster may take.")
        .Define(ControlListener, ConfigType.String, "localhost:9096", NonEmptyString.Instance, Importance.High,
            "host:port of the gRPC control API (HTTP/2 without TLS) that kafka-mirrors talks to.");

    public static MirrorSettings ToSettings(KafkaConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        string source = config.GetString(SourceAlias)!;
        string target = config.GetString(TargetAlias)!;
        if (source == target)
        {
            throw new InvalidOperationException($"{SourceAlias} and {TargetAlias} are both '{source}': the two clusters need different names.");
        }

        return new MirrorSettings
        {
            SourceAlias = source,
            SourceBootstrap = config.GetList(SourceBootstrap),
            TargetAlias = target,
            TargetBootstrap = config.GetList(TargetBootstrap),
            Topics = new NameFilter(config.GetList(Topics), config.GetList(TopicsExclude)),
            Groups = new NameFilter(config.GetList(Groups), config.GetList(GroupsExclude)),
            RefreshTopicsInterval = TimeSpan.FromMilliseconds(config.GetLong(RefreshTopicsIntervalMs)),
            SyncTopicConfigsInterval = TimeSpan.FromMilliseconds(config.GetLong(SyncTopicConfigsIntervalMs)),
            ConsumerOffsetSyncInterval = TimeSpan.FromMilliseconds(config.GetLong(ConsumerOffsetSyncMs)),
            FetchMaxBytes = config.GetInt(FetchMaxBytes),
            FetchMaxWaitMs = config.GetInt(FetchMaxWaitMs),
            RetryBackoff = TimeSpan.FromMilliseconds(config.GetLong(RetryBackoffMs)),
            RequestTimeout = TimeSpan.FromMilliseconds(config.GetInt(RequestTimeoutMs)),
            ControlListener = config.GetString(ControlListener)!,
        };
    }
}

/// <summary>The mirror's typed settings.</summary>
public sealed record MirrorSettings
{
    public string SourceAlias { get; init; } = "source";

    public IReadOnlyList<string> SourceBootstrap { get; init; } = [];

    public string TargetAlias { get; init; } = "target";

    public IReadOnlyList<string> TargetBootstrap { get; init; } = [];

    public NameFilter Topics { get; init; } = new([".*"], []);

    public NameFilter Groups { get; init; } = new([".*"], []);

    public TimeSpan RefreshTopicsInterval { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan SyncTopicConfigsInterval { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan ConsumerOffsetSyncInterval { get; init; } = TimeSpan.FromSeconds(1);

    public int FetchMaxBytes { get; init; } = 16 * 1024 * 1024;

    public int FetchMaxWaitMs { get; init; } = 200;

    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public string ControlListener { get; init; } = "localhost:9096";
}

/// <summary>Include and exclude lists of regular expressions, matched against whole names (as MirrorMaker 2 does).</summary>
public sealed class NameFilter(IReadOnlyList<string> include, IReadOnlyList<string> exclude)
{
    private readonly Regex[] _include = [.. include.Select(p => new Regex($"^(?:{p})$", RegexOptions.CultureInvariant))];
    private readonly Regex[] _exclude = [.. exclude.Select(p => new Regex($"^(?:{p})$", RegexOptions.CultureInvariant))];

    public bool Matches(string name) => _include.Any(r => r.IsMatch(name)) && !_exclude.Any(r => r.IsMatch(name));
}
