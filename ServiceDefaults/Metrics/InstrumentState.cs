using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text;

namespace Aspire.Kafka.ServiceDefaults.Metrics;

/// <summary>The aggregated series of one instrument, keyed by its label set.</summary>
internal abstract class InstrumentState
{
    // Keyed by the tag set itself (up to four tags, in key order), so recording a tagged
    // measurement allocates nothing once its series exists; larger sets use a string key.
    private readonly ConcurrentDictionary<TagKey, Series> _series = new();

    protected InstrumentState(Instrument instrument, string prometheusType, bool isCounter)
    {
        Instrument = instrument;
        PrometheusType = prometheusType;
        (string? suffix, double scale) = PrometheusNaming.Unit(instrument.Unit);
        Scale = scale;
        FamilyName = PrometheusNaming.MetricName(instrument.Name, suffix, isCounter);
    }

    public Instrument Instrument { get; }

    public string PrometheusType { get; }

    public string FamilyName { get; }

    protected double Scale { get; }

    public static InstrumentState Create(Instrument instrument)
    {
        Type type = instrument.GetType();
        Type definition = type.IsGenericType ? type.GetGenericTypeDefinition() : type;
        if (definition == typeof(Counter<>))
        {
            return new SumState(instrument, "counter", isCounter: true);
        }

        if (definition == typeof(ObservableCounter<>))
        {
            return new SumState(instrument, "counter", isCounter: true);
        }

        if (definition == typeof(UpDownCounter<>))
        {
            return new SumState(instrument, "gauge", isCounter: false);
        }

        if (definition == typeof(Gauge<>))
        {
            return new SumState(instrument, "gauge", isCounter: false, lastValue: true);
        }

        if (definition == typeof(ObservableUpDownCounter<>) || definition == typeof(ObservableGauge<>))
        {
            return new SumState(instrument, "gauge", isCounter: false);
        }

        if (definition == typeof(Histogram<>))
        {
            return new HistogramState(instrument);
        }

        // An instrument kind this exporter does not know: treat its values as a gauge.
        return new SumState(instrument, "gauge", isCounter: false);
    }

    public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        TagKey key = tags.Length <= TagKey.MaxTags ? new TagKey(tags) : new TagKey(LabelKey(tags, out _));
        if (!_series.TryGetValue(key, out Series? series))
        {
            series = _series.GetOrAdd(key, NewSeries(tags.Length == 0 ? "" : RenderLabels(tags)));
        }

        series.Record(value * Scale);
    }

    public void ClearObservations() => _series.Clear();

    public void Render(StringBuilder builder, string name, HashSet<string> seen)
    {
        foreach (Series series in _series.Values.OrderBy(s => s.Labels, StringComparer.Ordinal))
        {
            if (seen.Add(series.Labels))
            {
                series.Render(builder, name);
            }
        }
    }

    [System.Runtime.CompilerServices.InlineArray(TagKey.MaxTags)]
    private struct TagPairs
    {
        private KeyValuePair<string, object?> _first;
    }

    /// <summary>A tag set as a dictionary key: up to <see cref="MaxTags"/> tags sorted by key, or a string for more.</summary>
    private readonly struct TagKey : IEquatable<TagKey>
    {
        public const int MaxTags = 4;

        private readonly TagPairs _pairs;
        private readonly int _count;
        private readonly string? _overflow;

        public TagKey(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            _count = tags.Length;
            Span<KeyValuePair<string, object?>> pairs = _pairs;
            tags.CopyTo(pairs);
            for (int i = 1; i < _count; i++)
            {
                KeyValuePair<string, object?> current = pairs[i];
                int j = i - 1;
                while (j >= 0 && string.CompareOrdinal(pairs[j].Key, current.Key) > 0)
                {
                    pairs[j + 1] = pairs[j];
                    j--;
                }

                pairs[j + 1] = current;
            }
        }

        public TagKey(string overflow)
        {
            _count = -1;
            _overflow = overflow;
        }

        public bool Equals(TagKey other)
        {
            if (_count != other._count || !string.Equals(_overflow, other._overflow, StringComparison.Ordinal))
            {
                return false;
            }

            ReadOnlySpan<KeyValuePair<string, object?>> mine = _pairs;
            ReadOnlySpan<KeyValuePair<string, object?>> theirs = other._pairs;
            for (int i = 0; i < _count; i++)
            {
                if (!string.Equals(mine[i].Key, theirs[i].Key, StringComparison.Ordinal) || !Equals(mine[i].Value, theirs[i].Value))
                {
                    return false;
                }
            }

            return true;
        }

        public override bool Equals(object? obj) => obj is TagKey other && Equals(other);

        public override int GetHashCode()
        {
            var hash = new HashCode();
            hash.Add(_count);
            hash.Add(_overflow, StringComparer.Ordinal);
            ReadOnlySpan<KeyValuePair<string, object?>> pairs = _pairs;
            for (int i = 0; i < _count; i++)
            {
                hash.Add(pairs[i].Key, StringComparer.Ordinal);
                hash.Add(pairs[i].Value);
            }

            return hash.ToHashCode();
        }
    }

    protected abstract Series NewSeries(string labels);

    private static string LabelKey(ReadOnlySpan<KeyValuePair<string, object?>> tags, out bool empty)
    {
        empty = tags.Length == 0;
        if (empty)
        {
            return "";
        }

        var builder = new StringBuilder();
        foreach (KeyValuePair<string, object?> tag in tags)
        {
            builder.Append(tag.Key).Append('\u0001').Append(Convert.ToString(tag.Value, System.Globalization.CultureInfo.InvariantCulture)).Append('\u0002');
        }

        return builder.ToString();
    }

    // Labels sorted by name, rendered once per series: name="value",…
    private static string RenderLabels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var sorted = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, object?> tag in tags)
        {
            string labelName = PrometheusNaming.LabelName(tag.Key);
            string value = Convert.ToString(tag.Value, System.Globalization.CultureInfo.InvariantCulture) ?? "";
            sorted[labelName] = sorted.TryGetValue(labelName, out string? existing) ? existing + ";" + value : value;
        }

        var builder = new StringBuilder();
        foreach ((string labelName, string value) in sorted)
        {
            if (builder.Length > 0)
            {
                builder.Append(',');
            }

            builder.Append(labelName).Append("=\"");
            PrometheusNaming.AppendLabelValue(builder, value);
            builder.Append('"');
        }

        return builder.ToString();
    }

    protected abstract class Series
    {
        protected Series(string labels) => Labels = labels;

        public string Labels { get; }

        public abstract void Record(double value);

        public abstract void Render(StringBuilder builder, string name);

        protected static void AppendSample(StringBuilder builder, string name, string labels, string? extraLabel, double value)
        {
            builder.Append(name);
            if (labels.Length > 0 || extraLabel is not null)
            {
                builder.Append('{').Append(labels);
                if (extraLabel is not null)
                {
                    if (labels.Length > 0)
                    {
                        builder.Append(',');
                    }

                    builder.Append(extraLabel);
                }

                builder.Append('}');
            }

            builder.Append(' ').Append(PrometheusNaming.FormatValue(value)).Append('\n');
        }
    }

    // Synchronous instruments report deltas that add up; observable ones report current values,
    // and their series are cleared before each collection, so adding is right for both (a
    // callback that reports one label set twice gets the sum, as OpenTelemetry does).
    // A synchronous Gauge keeps its last value.
    private sealed class SumState(Instrument instrument, string prometheusType, bool isCounter, bool lastValue = false)
        : InstrumentState(instrument, prometheusType, isCounter)
    {
        protected override Series NewSeries(string labels) => new SumSeries(labels, lastValue);

        private sealed class SumSeries(string labels, bool lastValue) : Series(labels)
        {
            private readonly Lock _lock = new();
            private double _value;

            public override void Record(double value)
            {
                lock (_lock)
                {
                    _value = lastValue ? value : _value + value;
                }
            }

            public override void Render(StringBuilder builder, string name)
            {
                double value;
                lock (_lock)
                {
                    value = _value;
                }

                AppendSample(builder, name, Labels, null, value);
            }
        }
    }

    private sealed class HistogramState : InstrumentState
    {
        private readonly double[] _bounds;

        public HistogramState(Instrument instrument)
            : base(instrument, "histogram", isCounter: false)
        {
            _bounds = Bounds(instrument, Scale);
        }

        private static double[] Bounds(Instrument instrument, double scale)
        {
            IReadOnlyList<double>? advice = instrument switch
            {
                Histogram<double> h => h.Advice?.HistogramBucketBoundaries,
                Histogram<float> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
                Histogram<long> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
                Histogram<int> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
                Histogram<short> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
                Histogram<byte> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
                Histogram<decimal> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
                _ => null,
            };
            if (advice is { Count: > 0 })
            {
                return advice.Select(b => b * scale).Distinct().Order().ToArray();
            }

            (string? suffix, _) = PrometheusNaming.Unit(instrument.Unit);
            return suffix switch
            {
                "seconds" => PrometheusExporter.DefaultSecondsBuckets,
                "bytes" => PrometheusExporter.DefaultBytesBuckets,
                _ => PrometheusExporter.DefaultBuckets,
            };
        }

        protected override Series NewSeries(string labels) => new HistogramSeries(labels, _bounds);

        private sealed class HistogramSeries(string labels, double[] bounds) : Series(labels)
        {
            private readonly Lock _lock = new();
            private readonly long[] _counts = new long[bounds.Length + 1];
            private double _sum;
            private long _count;

            public override void Record(double value)
            {
                int bucket = Array.BinarySearch(bounds, value);
                if (bucket < 0)
                {
                    bucket = ~bucket;
                }

                lock (_lock)
                {
                    _counts[bucket]++;
                    _sum += value;
                    _count++;
                }
            }

            public override void Render(StringBuilder builder, string name)
            {
                long[] counts;
                double sum;
                long count;
                lock (_lock)
                {
                    counts = (long[])_counts.Clone();
                    sum = _sum;
                    count = _count;
                }

                long cumulative = 0;
                for (int i = 0; i < bounds.Length; i++)
                {
                    cumulative += counts[i];
                    AppendSample(builder, name + "_bucket", Labels, $"le=\"{PrometheusNaming.FormatValue(bounds[i])}\"", cumulative);
                }

                AppendSample(builder, name + "_bucket", Labels, "le=\"+Inf\"", count);
                AppendSample(builder, name + "_sum", Labels, null, sum);
                AppendSample(builder, name + "_count", Labels, null, count);
            }
        }
    }
}
