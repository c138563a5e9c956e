using System.Globalization;

namespace Aspire.Kafka.Hosting;

/// <summary>How the launcher runs: where data lives, what to do on failures, where output goes.</summary>
public sealed class DistributedApplicationOptions
{
    /// <summary><c>--data-dir</c>: the root of the per-resource data directories (default <c>./.data</c>).</summary>
    public string DataDirectory { get; set; } = ".data";

    /// <summary><c>--clean</c>: delete the data directory before starting.</summary>
    public bool Clean { get; set; }

    /// <summary><c>--restart</c>: restart a resource that exits unexpectedly.</summary>
    public bool RestartOnFailure { get; set; }

    /// <summary><c>--no-build</c>: do not run <c>dotnet build</c> on the projects first (they must be built).</summary>
    public bool BuildProjects { get; set; } = true;

    /// <summary><c>--configuration</c>: the build configuration of the projects (default: the launcher's own).</summary>
    public string Configuration { get; set; } =
#if DEBUG
        "Debug";
#else
        "Release";
#endif

    /// <summary>Relative project paths are resolved from here (default: the nearest folder up from the current one holding Aspire.Kafka.sln, else the current one).</summary>
    public string? RootDirectory { get; set; }

    /// <summary>How long a resource has to answer 200 on /health after it starts.</summary>
    public TimeSpan StartupTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary><c>--stop-timeout</c>: how long a resource has to exit after SIGTERM before it gets SIGKILL.</summary>
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Where the prefixed log lines go (default: the console, colored when it is a terminal).</summary>
    public TextWriter? Output { get; set; }

    /// <summary>How many of a resource's last output lines are kept for the report when it exits unexpectedly.</summary>
    public int TailLines { get; set; } = 20;

    /// <summary>
    /// Reads the launcher's own options from <paramref name="args"/> (<c>--data-dir DIR</c>,
    /// <c>--clean</c>, <c>--restart</c>, <c>--no-build</c>, <c>--configuration C</c>,
    /// <c>--stop-timeout SECONDS</c>) and returns the arguments it does not know.
    /// </summary>
    public static DistributedApplicationOptions Parse(IReadOnlyList<string> args, out List<string> remaining)
    {
        var options = new DistributedApplicationOptions();
        remaining = [];
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            switch (arg)
            {
                case "--data-dir":
                    options.DataDirectory = Value(args, ref i, arg);
                    break;
                case "--clean":
                    options.Clean = true;
                    break;
                case "--restart":
                    options.RestartOnFailure = true;
                    break;
                case "--no-build":
                    options.BuildProjects = false;
                    break;
                case "--configuration":
                case "-c":
                    options.Configuration = Value(args, ref i, arg);
                    break;
                case "--stop-timeout":
                    string seconds = Value(args, ref i, arg);
                    options.StopTimeout = double.TryParse(seconds, NumberStyles.Float, CultureInfo.InvariantCulture, out double s) && s >= 0
                        ? TimeSpan.FromSeconds(s)
                        : throw new ArgumentException($"--stop-timeout {seconds}: expected a number of seconds.");
                    break;
                default:
                    remaining.Add(arg);
                    break;
            }
        }

        return options;
    }

    internal static string Value(IReadOnlyList<string> args, ref int i, string option) =>
        i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{option} needs a value.");

    /// <summary>The directory relative project paths are resolved from.</summary>
    public string ResolveRoot()
    {
        if (RootDirectory is not null)
        {
            return Path.GetFullPath(RootDirectory);
        }

        for (string? dir = Directory.GetCurrentDirectory(); dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (File.Exists(Path.Combine(dir, "Aspire.Kafka.sln")))
            {
                return dir;
            }
        }

        return Directory.GetCurrentDirectory();
    }
}
