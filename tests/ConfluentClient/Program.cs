// Confluent.Kafka (.NET) 1.9.3 on Debian's librdkafka 2.0.2, the way an application uses it:
// AdminClient creates a topic, an idempotent producer (acks=all) sends <count> keyed records, a
// consumer in group <group> reads them all and commits, and the group is listed and described. Prints one JSON
// line: what was created, delivered, consumed (duplicates, order per key) and committed. Exit 0
// only when every step succeeded. Usage: ConfluentClient <bootstrap> <topic> <group> <count>
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Confluent.Kafka;
using Confluent.Kafka.Admin;

if (args.Length != 4)
{
    Console.Error.WriteLine("usage: ConfluentClient <bootstrap> <topic> <group> <count>");
    return 2;
}

string bootstrap = args[0];
string topic = args[1];
string group = args[2];
int count = int.Parse(args[3], CultureInfo.InvariantCulture);

// The package comes without librdkafka.redist: the binding's "librdkafka" is the system's
// library (Debian's librdkafka1 installs librdkafka.so.1; only librdkafka-dev adds librdkafka.so).
NativeLibrary.SetDllImportResolver(typeof(Library).Assembly, static (name, assembly, path) =>
    name == "librdkafka" && NativeLibrary.TryLoad("librdkafka.so.1", out IntPtr handle) ? handle : IntPtr.Zero);

using IAdminClient admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = 3, ReplicationFactor = 3 }]);
var deadline = Stopwatch.StartNew();
while (true)
{
    Metadata metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(10));
    TopicMetadata? t = metadata.Topics.SingleOrDefault(x => x.Topic == topic);
    if (t is { Error.IsError: false } && t.Partitions.Count == 3 && t.Partitions.All(p => p.Leader >= 0))
    {
        break;
    }

    if (deadline.Elapsed > TimeSpan.FromSeconds(30))
    {
        Console.Error.WriteLine($"{topic} has no leaders after 30 s");
        return 1;
    }

    await Task.Delay(100);
}

var producerConfig = new ProducerConfig { BootstrapServers = bootstrap, EnableIdempotence = true, Acks = Acks.All, LingerMs = 5 };
int persisted;
using (IProducer<string, string> producer = new ProducerBuilder<string, string>(producerConfig).Build())
{
    var deliveries = new List<Task<DeliveryResult<string, string>>>(count);
    for (int i = 0; i < count; i++)
    {
        deliveries.Add(producer.ProduceAsync(topic, new Message<string, string> { Key = $"key-{i % 50}", Value = i.ToString(CultureInfo.InvariantCulture) }));
    }

    DeliveryResult<string, string>[] results = await Task.WhenAll(deliveries);
    persisted = results.Count(r => r.Status == PersistenceStatus.Persisted);
}

var consumerConfig = new ConsumerConfig
{
    BootstrapServers = bootstrap,
    GroupId = group,
    AutoOffsetReset = AutoOffsetReset.Earliest,
    EnableAutoCommit = false,
};
var seen = new HashSet<int>();
var lastPerKey = new Dictionary<string, int>();
int duplicates = 0;
int outOfOrder = 0;
long committedTotal;
using (IConsumer<string, string> consumer = new ConsumerBuilder<string, string>(consumerConfig).Build())
{
    consumer.Subscribe(topic);
    deadline.Restart();
    while (seen.Count < count && deadline.Elapsed < TimeSpan.FromSeconds(90))
    {
        ConsumeResult<string, string>? r = consumer.Consume(TimeSpan.FromSeconds(1));
        if (r is null || r.IsPartitionEOF)
        {
            continue;
        }

        int value = int.Parse(r.Message.Value, CultureInfo.InvariantCulture);
        if (!seen.Add(value))
        {
            duplicates++;
        }

        if (lastPerKey.TryGetValue(r.Message.Key, out int previous) && previous > value)
        {
            outOfOrder++;
        }

        lastPerKey[r.Message.Key] = value;
    }

    consumer.Commit();
    committedTotal = consumer.Committed(TimeSpan.FromSeconds(10)).Where(c => c.Topic == topic).Sum(c => c.Offset.Value);
    consumer.Close();
}

// ListGroups on every broker, then DescribeGroups of each at its coordinator: the group, now empty.
GroupInfo? listedGroup = admin.ListGroups(TimeSpan.FromSeconds(10)).SingleOrDefault(g => g.Group == group);
bool listed = listedGroup is { State: "Empty", ProtocolType: "consumer" };

Console.WriteLine(JsonSerializer.Serialize(new
{
    librdkafka = Library.VersionString,
    persisted,
    consumed = seen.Count,
    duplicates,
    outOfOrder,
    committedTotal,
    listed,
}));
return persisted == count && seen.Count == count && duplicates == 0 && outOfOrder == 0 && committedTotal == count && listed ? 0 : 1;
