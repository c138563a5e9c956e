using System.Text;

namespace Aspire.Kafka.Raft.Tests.Scenarios;

/// <summary>
/// Data-driven Raft scenarios (etcd-io/raft's datadriven style): each file in Scenarios/ is a
/// list of commands, each followed by <c>----</c> and the output it must produce, then a blank
/// line. A mismatch fails with a diff. RAFT_SCENARIO_REWRITE=1 writes the actual output back
/// into the source files (review the diff before keeping it).
/// </summary>
public sealed class ScenarioTests
{
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (string file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Scenarios"), "*.txt").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Scenario_produces_the_expected_output(string file)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Scenarios", file);
        var blocks = ScenarioScript.Parse(File.ReadAllText(path));
        var cluster = new ScenarioCluster();
        var diffs = new StringBuilder();
        var rewritten = new StringBuilder();
        foreach (ScenarioBlock block in blocks)
        {
            rewritten.Append(block.Leading);
            string actual = cluster.Execute(block.Command, block.Args);
            rewritten.Append(block.CommandLine).Append('\n').Append("----\n").Append(actual.Replace("\r\n", "\n", StringComparison.Ordinal)).Append("\n\n");
            if (!string.Equals(actual.Trim(), block.Expected.Trim(), StringComparison.Ordinal))
            {
                diffs.Append("line ").Append(block.Line).Append(": ").Append(block.CommandLine).Append('\n')
                    .Append(ScenarioScript.Diff(block.Expected.Trim(), actual.Trim())).Append('\n');
            }
        }

        if (diffs.Length > 0 && Environment.GetEnvironmentVariable("RAFT_SCENARIO_REWRITE") == "1")
        {
            string source = Path.Combine(ScenarioScript.SourceDirectory(), file);
            File.WriteAllText(source, rewritten.ToString().TrimEnd('\n') + "\n");
            return;
        }

        Assert.True(diffs.Length == 0, $"{file} differs (- expected, + actual):\n{diffs}");
    }
}

public sealed record ScenarioBlock(int Line, string Leading, string CommandLine, string Command, IReadOnlyList<string> Args, string Expected);

public static class ScenarioScript
{
    public static List<ScenarioBlock> Parse(string text)
    {
        string[] lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var blocks = new List<ScenarioBlock>();
        var leading = new StringBuilder();
        int i = 0;
        while (i < lines.Length)
        {
            string line = lines[i];
            if (line.Length == 0 || line.StartsWith('#'))
            {
                if (line.Length > 0 || leading.Length > 0)
                {
                    leading.Append(line).Append('\n');
                }

                i++;
                continue;
            }

            int commandLine = i + 1;
            string command = line.Trim();
            i++;
            if (i >= lines.Length || lines[i] != "----")
            {
                throw new InvalidDataException($"line {commandLine}: '{command}' is not followed by ----");
            }

            i++;
            var expected = new StringBuilder();
            while (i < lines.Length && lines[i].Length > 0)
            {
                expected.Append(lines[i]).Append('\n');
                i++;
            }

            string[] words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            blocks.Add(new ScenarioBlock(commandLine, leading.ToString(), command, words[0], words[1..], expected.ToString()));
            leading.Clear();
        }

        return blocks;
    }

    public static string Diff(string expected, string actual)
    {
        string[] e = expected.Split('\n');
        string[] a = actual.Split('\n');
        var text = new StringBuilder();
        int n = Math.Max(e.Length, a.Length);
        for (int k = 0; k < n; k++)
        {
            string? x = k < e.Length ? e[k] : null;
            string? y = k < a.Length ? a[k] : null;
            if (x == y)
            {
                text.Append("  ").Append(x).Append('\n');
                continue;
            }

            if (x is not null)
            {
                text.Append("- ").Append(x).Append('\n');
            }

            if (y is not null)
            {
                text.Append("+ ").Append(y).Append('\n');
            }
        }

        return text.ToString();
    }

    /// <summary>tests/Raft.Tests/Scenarios in the source tree (for RAFT_SCENARIO_REWRITE).</summary>
    public static string SourceDirectory()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Aspire.Kafka.Raft.Tests.csproj")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return Path.Combine(dir ?? throw new DirectoryNotFoundException("Aspire.Kafka.Raft.Tests.csproj not found above the test output."), "Scenarios");
    }
}
