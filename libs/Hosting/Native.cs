using System.Runtime.InteropServices;

namespace Aspire.Kafka.Hosting;

/// <summary>POSIX signals to child processes (.NET's Process only sends SIGKILL).</summary>
internal static partial class Native
{
    public const int SIGINT = 2;
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int signal);

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
}
