using System.Diagnostics;
using System.Text;

namespace Aspire.Kafka.Records.Tests;

/// <summary>
/// Batches written by real librdkafka 2.0.2 (kcat, Debian package kcat) for every codec, captured by
/// a stand-in broker (kcat_broker.py), decode and validate: raw snappy, LZ4 frames, zstd frames
/// without content size.
/// </summary>
public class KcatInteropTests
{
    private const int Count = 3000;

    [Theory]
    [InlineData("none", CompressionType.None)]
    [InlineData("gzip", CompressionType.Gzip)]
    [InlineData("snappy", CompressionType.Snappy)]
    [InlineData("lz4", CompressionType.Lz4)]
    [InlineData("zstd", CompressionType.Zstd)]
    public void KcatBatchesDecode(string codecName, CompressionType codec)
    {
        string dir = Directory.CreateTempSubdirectory("kcat-capture-").FullName;
        try
        {
            Capture(codecName, dir);
            string[] files = Directory.GetFiles(dir, "batch-*.bin").Order(StringComparer.Ordinal).ToArray();
            Assert.NotEmpty(files);
            var codecs = new HashSet<CompressionType>();
            int n = 0;
            foreach (string file in files)
            {
                byte[] set = File.ReadAllBytes(file);
                RecordSetValidation validation = RecordSet.Validate(set);
                Assert.True(validation.IsValid, $"{file}: {validation.ErrorMessage}");
                foreach (ReadOnlySpan<byte> batch in RecordSet.EnumerateBatches(set))
                {
                    codecs.Add(RecordBatchHeader.Read(batch).CompressionType);
                }

                foreach (Record record in RecordSet.ReadRecords(set))
                {
                    n++;
                    Assert.Equal($"key-{n}", Encoding.UTF8.GetString(record.Key!.Value.Span));
                    Assert.Equal($"value-{n}-hello-hello-hello", Encoding.UTF8.GetString(record.Value!.Value.Span));
                    Assert.True(record.Timestamp > 1_600_000_000_000, $"timestamp {record.Timestamp}");
                }
            }

            Assert.Equal(Count, n);

            // librdkafka sends a batch uncompressed when compressing does not make it smaller.
            Assert.Contains(codec, codecs);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void Capture(string codecName, string dir)
    {
        string script = Path.Combine(AppContext.BaseDirectory, "kcat_broker.py");
        Assert.True(File.Exists(ExternalTool.Python), "/usr/bin/python3 is missing: apt-get install -y python3");
        Assert.True(File.Exists("/usr/bin/kcat"), "kcat is not installed; install it with: apt-get install -y kcat");
        using Process broker = Process.Start(new ProcessStartInfo(ExternalTool.Python) { ArgumentList = { script, dir }, RedirectStandardOutput = true, UseShellExecute = false })!;
        try
        {
            Task<string?> portLine = broker.StandardOutput.ReadLineAsync();
            Assert.True(portLine.Wait(TimeSpan.FromSeconds(30)), "kcat_broker.py did not print its port");
            int port = int.Parse(portLine.Result!, System.Globalization.CultureInfo.InvariantCulture);

            var input = new StringBuilder();
            for (int i = 1; i <= Count; i++)
            {
                input.Append("key-").Append(i).Append(":value-").Append(i).Append("-hello-hello-hello\n");
            }

            byte[] output = ExternalTool.Run("kcat", "kcat", Encoding.UTF8.GetBytes(input.ToString()),
                "-P", "-b", $"127.0.0.1:{port}", "-t", "t", "-p", "0", "-K:", "-z", codecName);
            Assert.Empty(output);
        }
        finally
        {
            broker.Kill(entireProcessTree: true);
            broker.WaitForExit(10_000);
        }
    }
}
