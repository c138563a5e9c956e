namespace Aspire.Kafka.Protocol.Tests;

public sealed class PrimitiveTests
{
    [Theory]
    [InlineData(0, new byte[] { 0 })]
    [InlineData(-1, new byte[] { 1 })]
    [InlineData(1, new byte[] { 2 })]
    [InlineData(63, new byte[] { 0x7e })]
    [InlineData(-64, new byte[] { 0x7f })]
    [InlineData(64, new byte[] { 0x80, 0x01 })]
    [InlineData(int.MaxValue, new byte[] { 0xfe, 0xff, 0xff, 0xff, 0x0f })]
    [InlineData(int.MinValue, new byte[] { 0xff, 0xff, 0xff, 0xff, 0x0f })]
    public void Zigzag_varints_match_Kafka_encoding(int value, byte[] expected)
    {
        Span<byte> buffer = stackalloc byte[5];
        int written = Varint.WriteVarint(buffer, value);
        Assert.Equal(expected, buffer[..written].ToArray());
        Assert.Equal(written, Varint.SizeOfVarint(value));
        Assert.Equal(value, Varint.ReadVarint(expected, out int read));
        Assert.Equal(expected.Length, read);
    }

    [Fact]
    public void Varlongs_round_trip_at_the_edges()
    {
        Span<byte> buffer = stackalloc byte[10];
        foreach (long value in new[] { 0L, -1L, long.MaxValue, long.MinValue, 1L << 35, -(1L << 50) })
        {
            int written = Varint.WriteVarlong(buffer, value);
            Assert.Equal(written, Varint.SizeOfVarlong(value));
            Assert.Equal(value, Varint.ReadVarlong(buffer[..written], out int read));
            Assert.Equal(written, read);
        }
    }

    [Fact]
    public void Malformed_varints_are_rejected()
    {
        Assert.Throws<KafkaProtocolException>(() => Varint.ReadUnsignedVarint([0x80, 0x80], out _));
        Assert.Throws<KafkaProtocolException>(() => Varint.ReadUnsignedVarint([0xff, 0xff, 0xff, 0xff, 0x7f], out _));
        Assert.Throws<KafkaProtocolException>(() => Varint.ReadUnsignedVarlong([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], out _));
    }

    [Fact]
    public void Uuid_prints_as_Kafka_does_and_parses_back()
    {
        var id = new KafkaUuid(0x0123456789abcdefL, unchecked((long)0xfedcba9876543210UL));
        Assert.Equal("ASNFZ4mrze_-3LqYdlQyEA", id.ToString());
        Assert.Equal(id, KafkaUuid.Parse("ASNFZ4mrze_-3LqYdlQyEA"));
        Assert.Equal("AAAAAAAAAAAAAAAAAAAAAA", KafkaUuid.Zero.ToString());
        Assert.Throws<FormatException>(() => KafkaUuid.Parse("short"));
        KafkaUuid random = KafkaUuid.NewRandom();
        Assert.False(random.IsZero);
        Assert.Equal(random, KafkaUuid.Parse(random.ToString()));
    }

    [Fact]
    public void Writer_grows_patches_and_returns_its_buffer()
    {
        using var writer = new KafkaWriter(16);
        int at = writer.ReserveInt32();
        for (int i = 0; i < 1000; i++)
        {
            writer.WriteInt64(i);
        }

        writer.PatchInt32(at, 8000);
        var reader = new KafkaReader(writer.ToArray());
        Assert.Equal(8000, reader.ReadInt32());
        for (int i = 0; i < 1000; i++)
        {
            Assert.Equal(i, reader.ReadInt64());
        }

        Assert.True(reader.End);
    }

    [Fact]
    public void Strings_longer_than_int16_are_refused()
    {
        using var writer = new KafkaWriter();
        Assert.Throws<KafkaProtocolException>(() => writer.WriteString(new string('x', 40000)));
    }
}
