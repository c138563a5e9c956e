namespace Aspire.Kafka.Records;

/// <summary>
/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum of legacy messages
/// (magic 0 and 1). Slicing-by-8; legacy messages are rare, so no hardware path.
/// </summary>
public static class Crc32
{
    private static readonly uint[] Table = BuildTable();

    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);

    public static uint Append(uint crc, ReadOnlySpan<byte> data) => ~SlicingBy8.Update(Table, ~crc, data);

    private static uint[] BuildTable() => SlicingBy8.BuildTable(0xEDB88320);
}
