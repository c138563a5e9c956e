using BenchmarkDotNet.Attributes;

namespace Aspire.Kafka.Records.Benchmarks;

/// <summary>
/// CRC-32C over a record batch of 16 records of 1 KiB (the CRC covers 16,568 of its 16,589 bytes)
/// and over 1 MiB; target at least 5 GB/s on the hardware path. Interleaved is the CRC32
/// instruction path alone (three streams), Hardware what Compute does (folding with VPCLMULQDQ
/// from 512 bytes where the CPU has it).
/// </summary>
public class Crc32CBenchmarks
{
    private byte[] _data = [];

    [Params(16_568, 1 << 20)]
    public int Length { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = new byte[Length];
        new Random(1).NextBytes(_data);
    }

    [Benchmark(Baseline = true)]
    public uint Hardware() => Crc32C.Compute(_data);

    [Benchmark]
    public uint Interleaved() => Crc32C.ComputeInterleaved(_data);

    [Benchmark]
    public uint Software() => Crc32C.ComputeSoftware(_data);

    [Benchmark]
    public uint LegacyCrc32Ieee() => Crc32.Compute(_data);
}
