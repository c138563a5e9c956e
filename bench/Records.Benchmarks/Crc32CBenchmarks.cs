using BenchmarkDotNet.Attributes;

namespace Aspire.Kafka.Records.Benchmarks;

/// <summary>CRC-32C over 1 MiB; target at least 5 GB/s on the hardware path.</summary>
public class Crc32CBenchmarks
{
    private readonly byte[] _data = new byte[1 << 20];

    [GlobalSetup]
    public void Setup() => new Random(1).NextBytes(_data);

    [Benchmark(Baseline = true)]
    public uint Hardware() => Crc32C.Compute(_data);

    [Benchmark]
    public uint Software() => Crc32C.ComputeSoftware(_data);

    [Benchmark]
    public uint LegacyCrc32Ieee() => Crc32.Compute(_data);
}
