using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Protocol.Benchmarks -- --filter '*'   (add --job short for a quick run)
BenchmarkSwitcher.FromAssembly(typeof(Aspire.Kafka.Protocol.Benchmarks.ProduceParseBenchmark).Assembly).Run(args);
