using System.Diagnostics;
using System.Text;

namespace Aspire.Kafka.Broker.Tests;

/// <summary>A client process whose output lines a test can wait for while it runs (killed at dispose if still running).</summary>
internal sealed class StreamingProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly List<string> _lines = [];
    private readonly List<(Func<string, bool> Match, TaskCompletionSource Seen)> _waiters = [];
    private readonly Lock _lock = new();

    private StreamingProcess(Process process) => _process = process;

    public static StreamingProcess Start(string fileName, params string[] arguments)
    {
        var info = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        var process = new Process { StartInfo = info };
        var streaming = new StreamingProcess(process);
        process.OutputDataReceived += (_, e) => streaming.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => streaming.OnLine(e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException($"{fileName} did not start.");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return streaming;
    }

    private string Output
    {
        get
        {
            lock (_lock)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The lines the process has printed so far (stdout and stderr), a copy.</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lock)
            {
                return [.. _lines];
            }
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lock)
        {
            _output.AppendLine(line);
            _lines.Add(line);
            foreach ((Func<string, bool> match, TaskCompletionSource seen) in _waiters)
            {
                if (match(line))
                {
                    seen.TrySetResult();
                }
            }
        }
    }

    /// <summary>
    /// Waits until the process prints a line that matches, among the lines after the first
    /// <paramref name="skip"/> (fails with the output so far on timeout or exit).
    /// </summary>
    public async Task WaitForLineAsync(Func<string, bool> match, TimeSpan timeout, int skip = 0)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (_lines.Skip(skip).Any(match))
            {
                return;
            }

            _waiters.Add((match, seen));
        }

        Task exited = _process.WaitForExitAsync();
        Task first = await Task.WhenAny(seen.Task, exited, Task.Delay(timeout));
        if (first != seen.Task)
        {
            Assert.Fail($"{(first == exited ? "the process exited" : $"no such line within {timeout.TotalSeconds} s")}; output so far:\n{Output}");
        }
    }

    public async Task<(int ExitCode, string Output)> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"the process did not exit within {timeout.TotalSeconds} s; output so far:\n{Output}");
        }

        _process.WaitForExit(); // drains the redirected streams
        return (_process.ExitCode, Output);
    }

    public ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
        return ValueTask.CompletedTask;
    }
}
