using System.Globalization;
using System.Runtime.InteropServices;

namespace Aspire.Kafka.Topology;

/// <summary>
/// POSIX signals to a node's process and its descendants (read from /proc): what the hosts use to
/// stop, crash (kill -9) and hang (SIGSTOP) nodes. .NET's Process only sends SIGKILL.
/// </summary>
public static partial class UnixProcesses
{
    public const int SigInt = 2;
    public const int SigKill = 9;
    public const int SigTerm = 15;
    public const int SigCont = 18;
    public const int SigStop = 19;

    /// <summary>Sends <paramref name="signal"/>; false when the process is already gone. On Windows every signal is a kill.</summary>
    public static bool Signal(int pid, int signal)
    {
        if (OperatingSystem.IsWindows())
        {
            try
            {
                System.Diagnostics.Process.GetProcessById(pid).Kill();
                return true;
            }
            catch (ArgumentException)
            {
                return false;
            }
        }

        return SysKill(pid, signal) == 0;
    }

    public static void Signal(IEnumerable<int> pids, int signal)
    {
        ArgumentNullException.ThrowIfNull(pids);
        foreach (int pid in pids)
        {
            Signal(pid, signal);
        }
    }

    /// <summary><paramref name="root"/> and every process below it, parents before children.</summary>
    public static List<int> Tree(int root)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                continue;
            }

            try
            {
                // /proc/PID/stat: "pid (comm) state ppid …"; comm may hold spaces and parentheses.
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                string[] rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                int parent = int.Parse(rest[1], CultureInfo.InvariantCulture);
                if (!children.TryGetValue(parent, out List<int>? list))
                {
                    children[parent] = list = [];
                }

                list.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
                // The process ended while we read: it is not part of the tree any more.
            }
        }

        var tree = new List<int> { root };
        for (int i = 0; i < tree.Count; i++)
        {
            if (children.TryGetValue(tree[i], out List<int>? list))
            {
                tree.AddRange(list);
            }
        }

        return tree;
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int signal);
}
