using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Aspire.Kafka.Storage;

internal static partial class FileUtil
{
    private static readonly UTF8Encoding Utf8NoBom = new(false);

    /// <summary>Writes <paramref name="text"/> to <paramref name="path"/> atomically: temp file, fsync, rename, fsync the directory.</summary>
    public static void AtomicWriteText(string path, string text) => WriteFileAtomically(path, Utf8NoBom.GetBytes(text), sync: true);

    /// <summary>
    /// Writes <paramref name="bytes"/> to a temp file renamed to <paramref name="path"/>, so a
    /// reader never sees a partial file. With <paramref name="sync"/> the file is fsynced before
    /// the rename and the directory after it.
    /// </summary>
    public static void WriteFileAtomically(string path, ReadOnlySpan<byte> bytes, bool sync)
    {
        string tmp = path + ".tmp";
        using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.None))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: sync);
        }

        File.Move(tmp, path, overwrite: true);
        if (sync)
        {
            FsyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        }
    }

    /// <summary>fsync of an existing file's data (false when the file is gone).</summary>
    public static bool FsyncFile(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None);
            stream.Flush(flushToDisk: true);
            return true;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }
    }

    /// <summary>fsync of a directory so that created, renamed and deleted names survive a power loss (Linux only).</summary>
    public static void FsyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        int fd = Open(directory, 0 /* O_RDONLY */);
        if (fd < 0)
        {
            return;
        }

        try
        {
            _ = Fsync(fd);
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>
    /// Reserves disk blocks for [offset, offset + length) without changing the file length
    /// (fallocate with FALLOC_FL_KEEP_SIZE). False when the platform or file system cannot (not
    /// Linux, EOPNOTSUPP, ENOSPC…): the caller just writes without a reservation.
    /// </summary>
    public static bool TryReserve(SafeFileHandle handle, long offset, long length)
    {
        if (!OperatingSystem.IsLinux() || length <= 0)
        {
            return false;
        }

        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return Fallocate((int)handle.DangerousGetHandle(), 1 /* FALLOC_FL_KEEP_SIZE */, offset, length) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>ftruncate to <paramref name="length"/> even when it is the current length: gives back blocks reserved past the end.</summary>
    public static void ReleaseReservation(SafeFileHandle handle, long length)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            if (Ftruncate((int)handle.DangerousGetHandle(), length) != 0)
            {
                throw new IOException($"ftruncate to {length} bytes failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Nothing was reserved on such a platform.
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// Writes <paramref name="data"/> at <paramref name="offset"/> followed by
    /// <paramref name="zeroCount"/> zero bytes, with one pwritev(2) on Linux.
    /// </summary>
    public static unsafe void WriteThenZeros(SafeFileHandle handle, ReadOnlySpan<byte> data, long offset, int zeroCount)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(zeroCount, MaxZeros);
        ReadOnlySpan<byte> zeros = Zeros.AsSpan(0, zeroCount);
        long done = 0;
        if (OperatingSystem.IsLinux())
        {
            bool added = false;
            try
            {
                handle.DangerousAddRef(ref added);
                fixed (byte* d = data)
                fixed (byte* z = zeros)
                {
                    IoVec* vectors = stackalloc IoVec[2];
                    vectors[0] = new IoVec { Base = d, Length = (nuint)data.Length };
                    vectors[1] = new IoVec { Base = z, Length = (nuint)zeros.Length };
                    nint written;
                    do
                    {
                        written = Pwritev((int)handle.DangerousGetHandle(), vectors, 2, offset);
                    }
                    while (written < 0 && Marshal.GetLastPInvokeError() == 4 /* EINTR */);

                    if (written < 0)
                    {
                        int errno = Marshal.GetLastPInvokeError();
                        throw new IOException($"pwritev of {data.Length + zeroCount} bytes at {offset} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).", errno);
                    }

                    done = written;
                }
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                done = 0;
            }
            finally
            {
                if (added)
                {
                    handle.DangerousRelease();
                }
            }
        }

        // A short write (or no pwritev here): the rest with plain writes.
        if (done < data.Length)
        {
            RandomAccess.Write(handle, data[(int)done..], offset + done);
            done = data.Length;
        }

        if (done - data.Length < zeroCount)
        {
            int zerosDone = (int)(done - data.Length);
            RandomAccess.Write(handle, zeros[zerosDone..], offset + data.Length + zerosDone);
        }
    }

    /// <summary>The most zeros <see cref="WriteThenZeros"/> writes at once.</summary>
    public const int MaxZeros = 64 * 1024;

    private static readonly byte[] Zeros = new byte[MaxZeros];

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    [LibraryImport("libc", EntryPoint = "pwritev", SetLastError = true)]
    private static unsafe partial nint Pwritev(int fd, IoVec* iov, int iovcnt, long offset);

    public static string SegmentFileName(long baseOffset, string suffix) =>
        baseOffset.ToString("D20", System.Globalization.CultureInfo.InvariantCulture) + suffix;

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "fallocate", SetLastError = true)]
    private static partial int Fallocate(int fd, int mode, long offset, long length);

    [LibraryImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    private static partial int Ftruncate(int fd, long length);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
