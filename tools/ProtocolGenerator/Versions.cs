namespace Aspire.Kafka.ProtocolGenerator;

/// <summary>A version range from a spec: "3", "3-7", "3+" or "none".</summary>
internal readonly record struct Versions(short Lowest, short Highest)
{
    public static readonly Versions None = new(1, 0);
    public static readonly Versions All = new(0, short.MaxValue);

    public bool IsEmpty => Lowest > Highest;

    public bool Contains(short version) => version >= Lowest && version <= Highest;

    public bool ContainsAll(Versions other) => other.IsEmpty || (!IsEmpty && other.Lowest >= Lowest && other.Highest <= Highest);

    public Versions Intersect(Versions other)
    {
        var result = new Versions(Math.Max(Lowest, other.Lowest), Math.Min(Highest, other.Highest));
        return result.IsEmpty ? None : result;
    }

    public static Versions Parse(string? text, Versions fallback)
    {
        if (text is null)
        {
            return fallback;
        }

        text = text.Trim();
        if (text == "none")
        {
            return None;
        }

        if (text.EndsWith('+'))
        {
            return new Versions(short.Parse(text[..^1], System.Globalization.CultureInfo.InvariantCulture), short.MaxValue);
        }

        int dash = text.IndexOf('-', StringComparison.Ordinal);
        if (dash > 0)
        {
            return new Versions(
                short.Parse(text[..dash], System.Globalization.CultureInfo.InvariantCulture),
                short.Parse(text[(dash + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        }

        short single = short.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
        return new Versions(single, single);
    }

    /// <summary>A C# boolean expression testing <paramref name="variable"/> against this range.</summary>
    public string Test(string variable, Versions within)
    {
        // Only test the bounds that can matter inside the versions the code is reached with.
        Versions effective = Intersect(within);
        if (effective.IsEmpty)
        {
            return "false";
        }

        bool needLow = effective.Lowest > within.Lowest;
        bool needHigh = effective.Highest < within.Highest;
        return (needLow, needHigh) switch
        {
            (false, false) => "true",
            (true, false) => $"{variable} >= {effective.Lowest}",
            (false, true) => $"{variable} <= {effective.Highest}",
            _ when effective.Lowest == effective.Highest => $"{variable} == {effective.Lowest}",
            _ => $"{variable} >= {effective.Lowest} && {variable} <= {effective.Highest}",
        };
    }

    public string ToCSharp() => IsEmpty ? "VersionRange.None" : $"new VersionRange({Lowest}, {Highest})";

    public override string ToString() => IsEmpty ? "none" : Highest == short.MaxValue ? $"{Lowest}+" : Lowest == Highest ? $"{Lowest}" : $"{Lowest}-{Highest}";
}
