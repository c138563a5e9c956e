using BenchmarkDotNet.Running;

namespace Aspire.Kafka.Records.Benchmarks;

/// <summary>
/// Run: dotnet run -c Release --project bench/Records.Benchmarks -- --filter '*' [--job short]
/// Throughput = 1 MiB / Mean (e.g. 100 us per MiB is 10.5 GB/s). On a busy machine where the
/// generated benchmark project does not build within BenchmarkDotNet's timeout, add --inProcess.
/// </summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
