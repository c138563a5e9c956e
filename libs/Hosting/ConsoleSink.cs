namespace Aspire.Kafka.Hosting;

/// <summary>Writes whole lines, prefixed with the resource name (colored on a terminal), from many threads.</summary>
internal sealed class ConsoleSink
{
    private static readonly string[] Colors = ["\u001b[36m", "\u001b[32m", "\u001b[33m", "\u001b[35m", "\u001b[34m", "\u001b[96m", "\u001b[92m", "\u001b[93m", "\u001b[95m", "\u001b[94m"];
    private const string Reset = "\u001b[0m";

    private readonly TextWriter _writer;
    private readonly bool _color;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, string> _colorOf = new(StringComparer.Ordinal);

    public ConsoleSink(TextWriter? writer)
    {
        _writer = writer ?? Console.Out;
        _color = writer is null && !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("NO_COLOR") is null;
    }

    public void Line(string source, string text)
    {
        lock (_lock)
        {
            if (_color)
            {
                if (!_colorOf.TryGetValue(source, out string? color))
                {
                    _colorOf[source] = color = Colors[_colorOf.Count % Colors.Length];
                }

                _writer.WriteLine($"{color}[{source}]{Reset} {text}");
            }
            else
            {
                _writer.WriteLine($"[{source}] {text}");
            }

            _writer.Flush();
        }
    }
}
