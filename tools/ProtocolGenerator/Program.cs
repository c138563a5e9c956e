using Aspire.Kafka.ProtocolGenerator;

// Usage: dotnet run --project tools/ProtocolGenerator [-- --specs <dir>] [--out <dir>]
// Regenerates libs/Protocol/Generated from Apache Kafka's JSON specs (../shared/kafka-messages
// or KAFKA_MESSAGES_DIR). The output folder is replaced as a whole so removed specs disappear.
string? specs = null;
string? output = null;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--specs" when i + 1 < args.Length:
            specs = args[++i];
            break;
        case "--out" when i + 1 < args.Length:
            output = args[++i];
            break;
        default:
            Console.Error.WriteLine($"Unknown argument '{args[i]}'. Usage: kafka-protocol-generator [--specs <dir>] [--out <dir>]");
            return 2;
    }
}

string root = ProtocolGenerator.FindRepositoryRoot(Environment.CurrentDirectory)
    ?? ProtocolGenerator.FindRepositoryRoot(AppContext.BaseDirectory)
    ?? Environment.CurrentDirectory;
specs ??= ProtocolGenerator.FindSpecs(root);
if (specs is null)
{
    Console.Error.WriteLine("Kafka message specs not found: set KAFKA_MESSAGES_DIR or pass --specs (expected shared/kafka-messages next to the repository).");
    return 1;
}

output ??= Path.Combine(root, "libs", "Protocol", "Generated");
// The project's own specs (e.g. coordinator metadata records) live next to the generated code.
string projectSpecs = Path.Combine(root, "libs", "Protocol", "Specs");
SortedDictionary<string, string> files = ProtocolGenerator.Generate(specs, projectSpecs);
if (Directory.Exists(output))
{
    Directory.Delete(output, recursive: true);
}

foreach ((string relative, string text) in files)
{
    string path = Path.Combine(output, relative);
    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
    File.WriteAllText(path, text);
}

Console.WriteLine($"Generated {files.Count} files from {specs} into {output}.");
return 0;
