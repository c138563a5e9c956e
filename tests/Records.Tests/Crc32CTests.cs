using System.Text;

namespace Aspire.Kafka.Records.Tests;

public class Crc32CTests
{
    [Fact]
    public void KnownVectors()
    {
        byte[] check = Encoding.ASCII.GetBytes("123456789");
        Assert.Equal(0xE3069283u, Crc32C.Compute(check));
        Assert.Equal(0xE3069283u, Crc32C.ComputeSoftware(check));
        Assert.Equal(0u, Crc32C.Compute([]));

        // RFC 3720 (iSCSI) B.4: 32 bytes of zeros, of 0xFF, and ascending 0..31.
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
        Assert.Equal(0x62A8AB43u, Crc32C.Compute(Enumerable.Repeat((byte)0xFF, 32).ToArray()));
        Assert.Equal(0x46DD794Eu, Crc32C.Compute(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()));
    }

    [Fact]
    public void HardwareMatchesSoftwareOnRandomDataOfManyLengths()
    {
        var random = new Random(20261122);
        var lengths = new List<int>();
        for (int i = 0; i <= 300; i++)
        {
            lengths.Add(i);
        }

        // Around the folding threshold, the interleaving thresholds (3 x 256 and 3 x 8192), a
        // record batch of 16 records of 1 KiB, and larger inputs.
        foreach (int edge in new[] { Crc32C.FoldThreshold, 640, 768, 16_568, 3 * 8192, 2 * 3 * 8192, 1 << 20 })
        {
            for (int d = -9; d <= 9; d++)
            {
                lengths.Add(edge + d);
            }
        }

        for (int i = 0; i < 50; i++)
        {
            lengths.Add(random.Next(1, 200_000));
        }

        byte[] data = new byte[(1 << 20) + 64];
        random.NextBytes(data);
        foreach (int length in lengths)
        {
            int start = random.Next(0, 8);
            ReadOnlySpan<byte> slice = data.AsSpan(start, length);
            Assert.True(Crc32C.ComputeSoftware(slice) == Crc32C.Compute(slice), $"length {length} at {start}");
        }
    }

    [Fact]
    public void FoldingMatchesSoftwareFromAnyRegister()
    {
        if (!Crc32C.IsFoldingAccelerated)
        {
            // Nothing to compare on a CPU without VPCLMULQDQ: Compute never folds there.
            Assert.False(Crc32C.IsFoldingAccelerated);
            return;
        }

        var random = new Random(11);
        byte[] data = new byte[64 * 1024 + 16];
        random.NextBytes(data);
        foreach (int blocks in new[] { 1, 2, 3, 4, 7, 8, 129, 512 })
        {
            for (int trial = 0; trial < 8; trial++)
            {
                uint register = trial == 0 ? 0 : trial == 1 ? uint.MaxValue : (uint)random.Next();
                int start = random.Next(0, 16);
                ReadOnlySpan<byte> slice = data.AsSpan(start, blocks * 128);
                uint expected = ~Crc32C.AppendSoftware(~register, slice);
                Assert.True(expected == Crc32C.Fold256(register, slice), $"{blocks * 128} bytes at {start} from register {register:X8}");
            }
        }
    }

    [Fact]
    public void AppendContinuesACrc()
    {
        byte[] data = new byte[100_000];
        new Random(7).NextBytes(data);
        uint whole = Crc32C.Compute(data);
        foreach (int split in new[] { 0, 1, 7, 8, 769, 50_000, 99_999, 100_000 })
        {
            Assert.Equal(whole, Crc32C.Append(Crc32C.Compute(data.AsSpan(0, split)), data.AsSpan(split)));
            Assert.Equal(whole, Crc32C.AppendSoftware(Crc32C.ComputeSoftware(data.AsSpan(0, split)), data.AsSpan(split)));
        }
    }

    [Fact]
    public void MachineHasTheHardwarePath()
    {
        // The broker's performance target assumes SSE4.2/ARMv8 CRC; the x64 CI machines have it.
        Assert.True(Crc32C.IsHardwareAccelerated, "CRC32C hardware instructions are not available on this CPU.");
    }

    [Fact]
    public void Crc32IeeeKnownVectors()
    {
        Assert.Equal(0xCBF43926u, Crc32.Compute(Encoding.ASCII.GetBytes("123456789")));
        Assert.Equal(0x414FA339u, Crc32.Compute(Encoding.ASCII.GetBytes("The quick brown fox jumps over the lazy dog")));
        byte[] data = new byte[10_000];
        new Random(3).NextBytes(data);
        Assert.Equal(Crc32.Compute(data), Crc32.Append(Crc32.Compute(data.AsSpan(0, 4321)), data.AsSpan(4321)));
    }
}
