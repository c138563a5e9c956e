using System.Text;

namespace Aspire.Kafka.ServiceDefaults.Metrics;

/// <summary>
/// OpenTelemetry → Prometheus naming: sanitized names, unit suffixes in base units, counters
/// ending in <c>_total</c>. Units in milliseconds/microseconds/nanoseconds/minutes/hours/days are
/// converted to seconds and KiBy/MiBy… to bytes (values scaled), so every name is in a base
/// unit as Prometheus' conventions (and promtool's linter) ask.
/// </summary>
internal static class PrometheusNaming
{
    /// <summary>The Prometheus unit word for an OTel/UCUM unit, and the factor that converts a value to it.</summary>
    public static (string? Suffix, double Scale) Unit(string? unit)
    {
        if (string.IsNullOrWhiteSpace(unit))
        {
            return (null, 1);
        }

        // Annotations in braces ({request}) carry no unit.
        string stripped = StripBraces(unit).Trim();
        if (stripped.Length == 0)
        {
            return (null, 1);
        }

        int slash = stripped.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0)
        {
            (string? top, double topScale) = Simple(stripped[..slash]);
            (string? bottom, double bottomScale) = PerUnit(stripped[(slash + 1)..]);
            if (top is null || bottom is null)
            {
                return (null, 1);
            }

            return ($"{top}_per_{bottom}", topScale / bottomScale);
        }

        return Simple(stripped);
    }

    private static (string?, double) Simple(string unit) => unit switch
    {
        "d" => ("seconds", 86400),
        "h" => ("seconds", 3600),
        "min" => ("seconds", 60),
        "s" => ("seconds", 1),
        "ms" => ("seconds", 1e-3),
        "us" => ("seconds", 1e-6),
        "ns" => ("seconds", 1e-9),
        "By" => ("bytes", 1),
        "KiBy" => ("bytes", 1024),
        "MiBy" => ("bytes", 1024 * 1024),
        "GiBy" => ("bytes", 1024d * 1024 * 1024),
        "TiBy" => ("bytes", 1024d * 1024 * 1024 * 1024),
        "KBy" => ("bytes", 1e3),
        "MBy" => ("bytes", 1e6),
        "GBy" => ("bytes", 1e9),
        "TBy" => ("bytes", 1e12),
        "bit" => ("bits", 1),
        "m" => ("meters", 1),
        "V" => ("volts", 1),
        "A" => ("amperes", 1),
        "J" => ("joules", 1),
        "W" => ("watts", 1),
        "g" => ("grams", 1),
        "Cel" => ("celsius", 1),
        "Hz" => ("hertz", 1),
        "%" => ("percent", 1),
        "1" => (null, 1),
        _ => (SanitizeName(unit).Trim('_'), 1),
    };

    private static (string?, double) PerUnit(string unit) => unit switch
    {
        "s" => ("second", 1),
        "m" => ("minute", 1.0 / 60),
        "min" => ("minute", 1.0 / 60),
        "h" => ("hour", 1.0 / 3600),
        "d" => ("day", 1.0 / 86400),
        "w" => ("week", 1.0 / 604800),
        "mo" => ("month", 1),
        "y" => ("year", 1),
        _ => (SanitizeName(unit).Trim('_'), 1),
    };

    private static string StripBraces(string unit)
    {
        var builder = new StringBuilder(unit.Length);
        int depth = 0;
        foreach (char c in unit)
        {
            if (c == '{')
            {
                depth++;
            }
            else if (c == '}')
            {
                depth = Math.Max(0, depth - 1);
            }
            else if (depth == 0)
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    /// <summary>The metric family name for an instrument.</summary>
    public static string MetricName(string instrumentName, string? unitSuffix, bool isCounter)
    {
        string name = SanitizeName(instrumentName);
        if (isCounter && name.EndsWith("_total", StringComparison.Ordinal))
        {
            name = name[..^"_total".Length];
        }

        // A last word that already names the unit (Kafka's "bytesin", "replicationbytesout") gets
        // no suffix: kafka_server_brokertopicmetrics_bytesin_total, as Kafka's JMX exporter setups
        // (Strimzi's dashboards) know it.
        if (unitSuffix is not null && name[(name.LastIndexOf('_') + 1)..].Contains(unitSuffix, StringComparison.Ordinal))
        {
            unitSuffix = null;
        }

        if (unitSuffix is not null && !name.EndsWith("_" + unitSuffix, StringComparison.Ordinal) && name != unitSuffix)
        {
            name = $"{name}_{unitSuffix}";
        }

        if (isCounter)
        {
            name += "_total";
        }
        else
        {
            // _count, _sum and _bucket belong to histograms and summaries, _total to counters
            // (promtool rejects them elsewhere): keep the word and add "_value".
            foreach (string reserved in (ReadOnlySpan<string>)["_count", "_sum", "_bucket", "_total"])
            {
                if (name.EndsWith(reserved, StringComparison.Ordinal))
                {
                    name += "_value";
                    break;
                }
            }
        }

        return name;
    }

    /// <summary>Any character outside [a-zA-Z0-9_] becomes '_', runs of '_' collapse, a leading digit gets a '_'.</summary>
    public static string SanitizeName(string name)
    {
        var builder = new StringBuilder(name.Length + 1);
        foreach (char c in name)
        {
            char mapped = char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_';
            if (mapped == '_' && builder.Length > 0 && builder[^1] == '_')
            {
                continue;
            }

            // Prometheus' conventions are snake_case: split camelCase words.
            if (char.IsAsciiLetterUpper(mapped))
            {
                if (builder.Length > 0 && builder[^1] != '_' && !char.IsAsciiLetterUpper(builder[^1]))
                {
                    builder.Append('_');
                }

                mapped = char.ToLowerInvariant(mapped);
            }

            builder.Append(mapped);
        }

        if (builder.Length == 0 || char.IsAsciiDigit(builder[0]))
        {
            builder.Insert(0, '_');
        }

        return builder.ToString();
    }

    /// <summary>Label names: [a-zA-Z_][a-zA-Z0-9_]*, never starting with "__" (reserved).</summary>
    public static string LabelName(string key)
    {
        var builder = new StringBuilder(key.Length + 4);
        foreach (char c in key)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
        }

        if (builder.Length == 0 || char.IsAsciiDigit(builder[0]))
        {
            builder.Insert(0, "key_");
        }
        else if (builder.Length >= 2 && builder[0] == '_' && builder[1] == '_')
        {
            builder.Insert(0, "key");
        }

        return builder.ToString();
    }

    public static void AppendLabelValue(StringBuilder builder, string value)
    {
        foreach (char c in value)
        {
            switch (c)
            {
                case '\\': builder.Append(@"\\"); break;
                case '"': builder.Append("\\\""); break;
                case '\n': builder.Append(@"\n"); break;
                default: builder.Append(c); break;
            }
        }
    }

    public static void AppendHelp(StringBuilder builder, string help)
    {
        foreach (char c in help)
        {
            switch (c)
            {
                case '\\': builder.Append(@"\\"); break;
                case '\n': builder.Append(@"\n"); break;
                case '\r': break;
                default: builder.Append(c); break;
            }
        }
    }

    public static string FormatValue(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        double.NaN => "NaN",
        _ => value.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
    };
}
