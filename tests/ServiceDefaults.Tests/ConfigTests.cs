using System.Collections;
using Aspire.Kafka.Config;
using Aspire.Kafka.ServiceDefaults.Configuration;

namespace Aspire.Kafka.ServiceDefaults.Tests;

public sealed class ConfigTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "sd-config-" + Guid.NewGuid().ToString("N"));

    public ConfigTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static ConfigDef Definition() => ServiceDefaultsConfig.Create().Merge(new ConfigDef()
        .Define("log.dirs", ConfigType.List, "/tmp/kafka-logs", Importance.High, "Log directories.")
        .Define("num.partitions", ConfigType.Int, 1, Config.Range.AtLeast(1), Importance.Medium, "Default partitions.")
        .Define("log.retention.ms", ConfigType.Long, 604800000L, Importance.Medium, "Retention.")
        .Define("auto.create.topics.enable", ConfigType.Boolean, true, Importance.High, "Auto-create topics.")
        .Define("log.cleanup.policy", ConfigType.List, "delete", ValidList.In("delete", "compact"), Importance.Medium, "Cleanup.")
        .Define("compression.type", ConfigType.String, "producer", ValidString.In("producer", "gzip", "snappy", "lz4", "zstd", "uncompressed"), Importance.High, "Compression.")
        .Define("ssl.key.password", ConfigType.Password, null, Importance.High, "Password.")
        .Define("group.initial_rebalance.delay-ms", ConfigType.Int, 3000, Importance.Low, "A key with '_' and '-' for the env rule."));

    private string WriteFile(string text)
    {
        string path = Path.Combine(_directory, "server.properties");
        File.WriteAllText(path, text);
        return path;
    }

    private static KafkaConfig Load(ConfigDef def, IEnumerable<string> args, IDictionary? env = null) =>
        KafkaConfigLoader.Load(def, args.ToArray(), env ?? new Hashtable());

    [Fact]
    public void Defaults_apply_when_nothing_is_given()
    {
        KafkaConfig config = Load(Definition(), []);
        Assert.Equal(1, config.GetInt("num.partitions"));
        Assert.Equal(104857600, config.GetInt("socket.request.max.bytes"));
        Assert.Equal(["/tmp/kafka-logs"], config.GetList("log.dirs"));
        Assert.True(config.GetBoolean("auto.create.topics.enable"));
        Assert.Equal(ConfigSource.Default, config.SourceOf("num.partitions"));
    }

    [Fact]
    public void Precedence_is_default_then_file_then_environment_then_override()
    {
        string file = WriteFile("num.partitions=2\nlog.retention.ms=100\ncompression.type=gzip\nauto.create.topics.enable=false\n");
        var env = new Hashtable { ["KAFKA_LOG_RETENTION_MS"] = "200", ["KAFKA_COMPRESSION_TYPE"] = "lz4" };
        KafkaConfig config = Load(Definition(), ["--config", file, "--override", "compression.type=zstd"], env);

        Assert.Equal(2, config.GetInt("num.partitions"));
        Assert.Equal(ConfigSource.File, config.SourceOf("num.partitions"));
        Assert.Equal(200L, config.GetLong("log.retention.ms"));
        Assert.Equal(ConfigSource.Environment, config.SourceOf("log.retention.ms"));
        Assert.Equal("zstd", config.GetString("compression.type"));
        Assert.Equal(ConfigSource.Override, config.SourceOf("compression.type"));
        Assert.False(config.GetBoolean("auto.create.topics.enable"));
        Assert.Equal(1000 * 10, config.GetLong("shutdown.timeout.ms"));
    }

    [Fact]
    public void A_later_override_of_the_same_key_wins()
    {
        KafkaConfig config = Load(Definition(), ["--override", "num.partitions=3", "--override=num.partitions=4"]);
        Assert.Equal(4, config.GetInt("num.partitions"));
    }

    [Theory]
    [InlineData("log.dirs", "KAFKA_LOG_DIRS")]
    [InlineData("listener.security.protocol.map", "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP")]
    [InlineData("group.initial_rebalance.delay-ms", "KAFKA_GROUP_INITIAL__REBALANCE_DELAY___MS")]
    public void Environment_variable_names_follow_the_Confluent_rule(string key, string variable) =>
        Assert.Equal(variable, ConfigDef.EnvironmentVariableName(key));

    [Fact]
    public void Environment_variables_map_to_keys_with_underscores_and_dashes()
    {
        var env = new Hashtable { ["KAFKA_GROUP_INITIAL__REBALANCE_DELAY___MS"] = "0", ["KAFKA_NUM_PARTITIONS"] = "6" };
        KafkaConfig config = Load(Definition(), [], env);
        Assert.Equal(0, config.GetInt("group.initial_rebalance.delay-ms"));
        Assert.Equal(6, config.GetInt("num.partitions"));
    }

    [Fact]
    public void Kafka_prefixed_variables_of_other_tools_are_ignored()
    {
        var env = new Hashtable
        {
            ["KAFKA_HEAP_OPTS"] = "-Xmx1G",
            ["KAFKA_OPTS"] = "-Dfoo=bar",
            ["KAFKA_LOG4J_OPTS"] = "-Dlog4j.configuration=x",
            ["KAFKA_JMX_OPTS"] = "-Dcom.sun.management.jmxremote",
            ["KAFKA_SOMETHING_UNKNOWN"] = "1",
        };
        KafkaConfig config = Load(Definition(), [], env);
        Assert.Equal(1, config.GetInt("num.partitions"));
    }

    [Fact]
    public void An_unknown_key_in_the_file_is_one_sentence_naming_key_value_and_file()
    {
        string file = WriteFile("# comment\nnum.partitions=2\nlog.segment.bites=1024\n");
        ConfigException e = Assert.Throws<ConfigException>(() => Load(Definition(), ["--config", file]));
        Assert.Equal($"Unknown configuration log.segment.bites (value 1024, from {file}): this service does not define it.", e.Message);
        Assert.Equal("log.segment.bites", e.Key);
    }

    [Fact]
    public void An_unknown_key_in_an_override_is_an_error()
    {
        ConfigException e = Assert.Throws<ConfigException>(() => Load(Definition(), ["--override", "no.such.key=1"]));
        Assert.Contains("Unknown configuration no.such.key", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void A_value_of_the_wrong_type_names_key_value_source_and_reason()
    {
        ConfigException e = Assert.Throws<ConfigException>(() => Load(Definition(), ["--override", "num.partitions=many"]));
        Assert.Equal("Invalid value many for configuration num.partitions (from --override): not a number of type INT.", e.Message);

        e = Assert.Throws<ConfigException>(() => Load(Definition(), [], new Hashtable { ["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] = "yes" }));
        Assert.Equal("Invalid value yes for configuration auto.create.topics.enable (from environment variable KAFKA_AUTO_CREATE_TOPICS_ENABLE): expected value to be either true or false.", e.Message);
    }

    [Fact]
    public void A_value_the_validator_refuses_names_the_reason()
    {
        ConfigException e = Assert.Throws<ConfigException>(() => Load(Definition(), ["--override", "num.partitions=0"]));
        Assert.Equal("Invalid value 0 for configuration num.partitions (from --override): Value must be at least 1.", e.Message);

        string file = WriteFile("compression.type = brotli\n");
        e = Assert.Throws<ConfigException>(() => Load(Definition(), ["--config", file]));
        Assert.Equal($"Invalid value brotli for configuration compression.type (from {file}): String must be one of: producer, gzip, snappy, lz4, zstd, uncompressed.", e.Message);

        e = Assert.Throws<ConfigException>(() => Load(Definition(), ["--override", "log.cleanup.policy=delete,shred"]));
        Assert.Contains("Invalid value shred", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Passwords_never_appear_in_errors_or_descriptions()
    {
        KafkaConfig config = Load(Definition(), ["--override", "ssl.key.password=hunter2"]);
        Assert.Equal("hunter2", config.GetPassword("ssl.key.password"));
        Assert.Contains("ssl.key.password = [hidden]", config.Describe());
        Assert.DoesNotContain(config.Describe(), line => line.Contains("hunter2", StringComparison.Ordinal));
    }

    [Fact]
    public void A_required_key_without_value_is_an_error()
    {
        ConfigDef def = new ConfigDef().Define("controller.quorum.voters", ConfigType.List, Importance.High, "Voters.");
        ConfigException e = Assert.Throws<ConfigException>(() => Load(def, []));
        Assert.Contains("Missing required configuration controller.quorum.voters", e.Message, StringComparison.Ordinal);
        Assert.Contains("KAFKA_CONTROLLER_QUORUM_VOTERS", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_arguments_and_malformed_overrides_are_errors()
    {
        Assert.Contains("Unknown command-line argument --urls", Assert.Throws<ConfigException>(() => Load(Definition(), ["--urls", "x"])).Message, StringComparison.Ordinal);
        Assert.Contains("expected key=value", Assert.Throws<ConfigException>(() => Load(Definition(), ["--override", "novalue"])).Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", Assert.Throws<ConfigException>(() => Load(Definition(), ["--config", "/no/such/file.properties"])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_lone_properties_path_is_the_config_file_as_in_kafka_server_start()
    {
        string file = WriteFile("num.partitions=5\n");
        Assert.Equal(5, Load(Definition(), [file]).GetInt("num.partitions"));
    }

    [Fact]
    public void Java_properties_syntax_is_read_like_java_util_Properties()
    {
        const string text = "# comment\n! also a comment\n  \n" +
            "a=1\n" +
            "b : two\n" +
            "c three\n" +
            "d = spaced value  \n" +
            "e=first \\\n    second\n" +
            "f=tab\\there\\nnewline\n" +
            "g\\:key=colon in key\n" +
            "h=\\u0041\\u00e9\n" +
            "i=\n" +
            "j=ends with backslash \\\\\n" +
            "a=override\n";
        Dictionary<string, string> values = JavaProperties.Parse(text).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value);
        Assert.Equal("override", values["a"]);
        Assert.Equal("two", values["b"]);
        Assert.Equal("three", values["c"]);
        Assert.Equal("spaced value  ", values["d"]);
        Assert.Equal("first second", values["e"]);
        Assert.Equal("tab\there\nnewline", values["f"]);
        Assert.Equal("colon in key", values["g:key"]);
        Assert.Equal("Aé", values["h"]);
        Assert.Equal("", values["i"]);
        Assert.Equal("ends with backslash \\", values["j"]);
        Assert.Equal(10, values.Count);
    }

    [Fact]
    public void Listeners_parse_with_the_security_protocol_map()
    {
        IReadOnlyList<KafkaListener> listeners = KafkaListener.Parse(
            ["PLAINTEXT://:9092", "CONTROLLER://127.0.0.1:9093", "INTERNAL://[::1]:9094"],
            ServiceDefaultsConfig.DefaultSecurityProtocolMap + ",CONTROLLER:PLAINTEXT,INTERNAL:PLAINTEXT");
        Assert.Equal(
            [new KafkaListener("PLAINTEXT", "", 9092, "PLAINTEXT"), new KafkaListener("CONTROLLER", "127.0.0.1", 9093, "PLAINTEXT"), new KafkaListener("INTERNAL", "::1", 9094, "PLAINTEXT")],
            listeners);
    }

    [Fact]
    public void Listeners_other_than_plaintext_are_rejected_with_a_clear_message()
    {
        ConfigException e = Assert.Throws<ConfigException>(() => KafkaListener.Parse(["SSL://:9093"], ServiceDefaultsConfig.DefaultSecurityProtocolMap));
        Assert.Equal("Invalid value SSL://:9093 for configuration listeners: listener SSL uses security protocol SSL, but only PLAINTEXT is supported.", e.Message);

        e = Assert.Throws<ConfigException>(() => KafkaListener.Parse(["CONTROLLER://:9093"], ServiceDefaultsConfig.DefaultSecurityProtocolMap));
        Assert.Contains("listener name CONTROLLER has no security protocol in listener.security.protocol.map", e.Message, StringComparison.Ordinal);

        e = Assert.Throws<ConfigException>(() => KafkaListener.Parse(["PLAINTEXT:9092"], ServiceDefaultsConfig.DefaultSecurityProtocolMap));
        Assert.Contains("NAME://host:port", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_socket_server_keys_default_to_the_OS_buffers_and_set_them_on_a_socket_when_given()
    {
        KafkaSocketServerOptions defaults = KafkaSocketServerOptions.From(Load(Definition(), []));
        Assert.Equal(new KafkaSocketServerOptions(3, 8, -1, -1), defaults);

        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        int osSend = socket.SendBufferSize;
        defaults.ApplyTo(socket);
        Assert.Equal(osSend, socket.SendBufferSize);

        KafkaSocketServerOptions given = KafkaSocketServerOptions.From(Load(Definition(),
            ["--override", "socket.send.buffer.bytes=102400", "--override", "socket.receive.buffer.bytes=65536", "--override", "num.io.threads=2", "--override", "num.network.threads=1"]));
        Assert.Equal(new KafkaSocketServerOptions(1, 2, 102400, 65536), given);
        given.ApplyTo(socket);
        // Linux doubles the value for its bookkeeping (socket(7)); the point is that it was set.
        Assert.True(socket.SendBufferSize >= 102400, $"SO_SNDBUF {socket.SendBufferSize}");
        Assert.True(socket.ReceiveBufferSize >= 65536, $"SO_RCVBUF {socket.ReceiveBufferSize}");
        Assert.NotEqual(osSend, socket.SendBufferSize);
    }

    [Fact]
    public void Controller_listener_names_are_plaintext_when_the_protocol_map_is_not_set()
    {
        ConfigDef withControllerNames = Definition().Merge(new ConfigDef().Define("controller.listener.names", ConfigType.List, "CONTROLLER", Importance.High, "Controller listeners."));
        KafkaConfig config = Load(withControllerNames, ["--override", "listeners=CONTROLLER://:9093"]);
        Assert.Equal("PLAINTEXT", KafkaListener.Parse(config.GetList(ServiceDefaultsConfig.Listeners), ServiceDefaultsConfig.EffectiveSecurityProtocolMap(config))[0].SecurityProtocol);

        // Set explicitly, the map is taken as it is (Kafka's rule too).
        config = Load(withControllerNames, ["--override", "listeners=CONTROLLER://:9093", "--override", "listener.security.protocol.map=PLAINTEXT:PLAINTEXT"]);
        Assert.Throws<ConfigException>(() => KafkaListener.Parse(config.GetList(ServiceDefaultsConfig.Listeners), ServiceDefaultsConfig.EffectiveSecurityProtocolMap(config)));
    }
}
