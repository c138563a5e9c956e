using Aspire.Kafka.ProtocolGenerator;

namespace Aspire.Kafka.Protocol.Tests;

/// <summary>
/// A fact that runs only where Apache Kafka's message specs are present (CI and developer
/// machines have them next to the repository or in KAFKA_MESSAGES_DIR). In a clone without them
/// it reports itself as not applicable, with the reason.
/// </summary>
public sealed class SpecsFactAttribute : FactAttribute
{
    public SpecsFactAttribute()
    {
        if (Specs is null)
        {
            Skip = "Not applicable: Apache Kafka's message specs are not here (set KAFKA_MESSAGES_DIR or place shared/kafka-messages next to the repository); CI always has them.";
        }
    }

    public static string? Specs => ProtocolGenerator.ProtocolGenerator.FindSpecs(Repository.Root);
}

internal static class Repository
{
    public static string Root => ProtocolGenerator.ProtocolGenerator.FindRepositoryRoot(AppContext.BaseDirectory)
        ?? throw new InvalidOperationException($"No Aspire.Kafka.sln above {AppContext.BaseDirectory}.");
}

public sealed class GeneratedCodeIsCurrentTests
{
    [SpecsFact]
    public void Committed_generated_code_equals_a_fresh_generation()
    {
        SortedDictionary<string, string> fresh = ProtocolGenerator.ProtocolGenerator.Generate(
            SpecsFactAttribute.Specs!, Path.Combine(Repository.Root, "libs", "Protocol", "Specs"));
        string generated = Path.Combine(Repository.Root, "libs", "Protocol", "Generated");
        var committed = Directory.GetFiles(generated, "*.cs", SearchOption.AllDirectories)
            .ToDictionary(p => Path.GetRelativePath(generated, p).Replace('\\', '/'), File.ReadAllText);

        var missing = fresh.Keys.Except(committed.Keys).ToList();
        var extra = committed.Keys.Except(fresh.Keys).ToList();
        var changed = fresh.Keys.Intersect(committed.Keys).Where(k => fresh[k] != committed[k]).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0 && changed.Count == 0,
            "libs/Protocol/Generated is stale; run `dotnet run --project tools/ProtocolGenerator`. " +
            $"Missing: [{string.Join(", ", missing.Take(10))}] extra: [{string.Join(", ", extra.Take(10))}] changed: [{string.Join(", ", changed.Take(10))}]");
    }
}
