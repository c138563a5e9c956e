using System.Runtime.InteropServices;

namespace Aspire.Kafka.Records;

/// <summary>Checks once whether a codec's shared library loads, so a missing one gives a clear error.</summary>
internal sealed class NativeLibraries
{
    public const string Lz4Name = "liblz4.so.1";
    public const string ZstdName = "libzstd.so.1";

    public static readonly NativeLibraries Lz4 = new(CompressionType.Lz4, Lz4Name, "liblz4-1");
    public static readonly NativeLibraries Zstd = new(CompressionType.Zstd, ZstdName, "libzstd1");

    private readonly Lazy<Exception?> _loadError;

    internal NativeLibraries(CompressionType type, string name, string debianPackage)
    {
        Type = type;
        Name = name;
        DebianPackage = debianPackage;
        _loadError = new Lazy<Exception?>(TryLoad);
    }

    public CompressionType Type { get; }

    public string Name { get; }

    public string DebianPackage { get; }

    public bool IsAvailable => _loadError.Value is null;

    public void EnsureAvailable()
    {
        if (_loadError.Value is { } error)
        {
            throw new CompressionUnavailableException(Type, Name, DebianPackage, error);
        }
    }

    private Exception? TryLoad()
    {
        try
        {
            return NativeLibrary.TryLoad(Name, typeof(NativeLibraries).Assembly, null, out _)
                ? null
                : new DllNotFoundException($"Unable to load {Name}.");
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
        {
            return e;
        }
    }

    public CompressionUnavailableException Unavailable(Exception inner) => new(Type, Name, DebianPackage, inner);
}
