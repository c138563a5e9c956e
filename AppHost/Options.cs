using System.Globalization;

namespace Aspire.Kafka.AppHost;

/// <summary>
/// The AppHost's own options (<c>dotnet run --project AppHost -- options</c>); whatever is not one
/// of them goes to Aspire's builder unchanged.
/// </summary>
internal sealed record AppHostOptions(
    int Brokers = 3,
    int Controllers = 3,
    int Coordinators = 2,
    bool Backup = true,
    string DataDirectory = ".data",
    bool Clean = false,
    bool Help = false)
{
    public const string Usage = """
        Usage: dotnet run --project AppHost [-- options]
          --brokers N        brokers in the primary cluster (default 3; ids 101.., ports 9092..)
          --controllers N    controllers in the primary cluster (default 3)
          --coordinators N   coordinators in the primary cluster (default 2)
          --no-backup        no backup cluster (and no mirror)
          --data-dir DIR     data directories (default ./.data), formatted on first start
          --clean            delete the data directory first
          --help             this text
        Environment: ASPIRE_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS=true opens the dashboard without its login token.
        """;

    public static AppHostOptions Parse(IReadOnlyList<string> args, out List<string> rest)
    {
        var options = new AppHostOptions();
        rest = [];
        for (int i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--brokers": options = options with { Brokers = Count(args, ref i) }; break;
                case "--controllers": options = options with { Controllers = Count(args, ref i) }; break;
                case "--coordinators": options = options with { Coordinators = Count(args, ref i) }; break;
                case "--no-backup": options = options with { Backup = false }; break;
                case "--data-dir": options = options with { DataDirectory = Value(args, ref i) }; break;
                case "--clean": options = options with { Clean = true }; break;
                case "--help" or "-h": options = options with { Help = true }; break;
                default:
                    if (args[i].StartsWith("--", StringComparison.Ordinal) && !args[i].Contains('=', StringComparison.Ordinal)
                        && !args[i].Contains(':', StringComparison.Ordinal))
                    {
                        throw new ArgumentException($"Unknown option {args[i]} (see --help).");
                    }

                    rest.Add(args[i]);
                    break;
            }
        }

        return options;
    }

    private static string Value(IReadOnlyList<string> args, ref int i)
    {
        string option = args[i];
        return i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{option} needs a value.");
    }

    private static int Count(IReadOnlyList<string> args, ref int i)
    {
        string option = args[i];
        string value = Value(args, ref i);
        return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1
            ? n
            : throw new ArgumentException($"{option} {value}: expected a whole number of at least 1.");
    }
}
