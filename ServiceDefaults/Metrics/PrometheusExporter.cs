using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text;

namespace Aspire.Kafka.ServiceDefaults.Metrics;

/// <summary>
/// Listens to every <see cref="Instrument"/> of the process (ours, the runtime's
/// <c>System.Runtime</c>, Kestrel's…) through a <see cref="MeterListener"/>, aggregates the
/// measurements, and renders them in the Prometheus text exposition format 0.0.4: counters as
/// <c>_total</c>, up-down counters and gauges as gauge, histograms as <c>_bucket</c>/<c>_sum</c>/<c>_count</c>.
/// </summary>
public sealed class PrometheusExporter : IDisposable
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Buckets for histograms in seconds without advice (Prometheus client defaults).</summary>
    internal static readonly double[] DefaultSecondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    /// <summary>Buckets for bytes without advice: powers of 4 from 64 B to 64 MiB.</summary>
    internal static readonly double[] DefaultBytesBuckets = [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

    /// <summary>Buckets for anything else without advice (OpenTelemetry SDK defaults).</summary>
    internal static readonly double[] DefaultBuckets = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

    private readonly MeterListener _listener;
    private readonly ConcurrentDictionary<Instrument, InstrumentState> _instruments = new();
    private readonly SemaphoreSlim _scrapeLock = new(1, 1);

    public PrometheusExporter()
    {
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                InstrumentState state = _instruments.GetOrAdd(instrument, InstrumentState.Create);
                listener.EnableMeasurementEvents(instrument, state);
            },
            MeasurementsCompleted = (instrument, state) => _instruments.TryRemove(instrument, out InstrumentState? _),
        };
        _listener.SetMeasurementEventCallback<byte>((i, v, t, s) => Record(i, v, t, s));
        _listener.SetMeasurementEventCallback<short>((i, v, t, s) => Record(i, v, t, s));
        _listener.SetMeasurementEventCallback<int>((i, v, t, s) => Record(i, v, t, s));
        _listener.SetMeasurementEventCallback<long>((i, v, t, s) => Record(i, v, t, s));
        _listener.SetMeasurementEventCallback<float>((i, v, t, s) => Record(i, v, t, s));
        _listener.SetMeasurementEventCallback<double>((i, v, t, s) => Record(i, v, t, s));
        _listener.SetMeasurementEventCallback<decimal>((i, v, t, s) => Record(i, (double)v, t, s));
        _listener.Start();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        InstrumentState? instrumentState = state as InstrumentState;
        if (instrumentState is null && !_instruments.TryGetValue(instrument, out instrumentState))
        {
            return;
        }

        instrumentState.Record(value, tags);
    }

    /// <summary>Collects the observable instruments and renders every metric family.</summary>
    public async Task<string> ScrapeAsync(CancellationToken cancellationToken = default)
    {
        await _scrapeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (InstrumentState state in _instruments.Values)
            {
                if (state.Instrument.IsObservable)
                {
                    state.ClearObservations();
                }
            }

            _listener.RecordObservableInstruments();
            return Render();
        }
        finally
        {
            _scrapeLock.Release();
        }
    }

    private string Render()
    {
        // Group by family name; two instruments with the same name and type share the family,
        // a clash of types is resolved by prefixing the meter name.
        var families = new SortedDictionary<string, List<InstrumentState>>(StringComparer.Ordinal);
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (InstrumentState state in _instruments.Values.OrderBy(s => s.Instrument.Meter.Name, StringComparer.Ordinal))
        {
            string name = state.FamilyName;
            if (types.TryGetValue(name, out string? type) && type != state.PrometheusType)
            {
                name = PrometheusNaming.SanitizeName(state.Instrument.Meter.Name) + "_" + name;
            }

            types[name] = state.PrometheusType;
            if (!families.TryGetValue(name, out List<InstrumentState>? list))
            {
                families[name] = list = [];
            }

            list.Add(state);
        }

        var builder = new StringBuilder(16 * 1024);
        foreach ((string name, List<InstrumentState> states) in families)
        {
            int headerAt = builder.Length;
            builder.Append("# HELP ").Append(name).Append(' ');
            string help = states[0].Instrument.Description ?? "";
            PrometheusNaming.AppendHelp(builder, help.Length > 0 ? help : $"{states[0].Instrument.Name} ({states[0].Instrument.Meter.Name})");
            builder.Append('\n').Append("# TYPE ").Append(name).Append(' ').Append(states[0].PrometheusType).Append('\n');
            int bodyAt = builder.Length;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (InstrumentState state in states)
            {
                state.Render(builder, name, seen);
            }

            if (builder.Length == bodyAt)
            {
                // No series yet: leave the family out rather than print an empty one.
                builder.Length = headerAt;
            }
        }

        return builder.ToString();
    }

    public void Dispose()
    {
        _listener.Dispose();
        _scrapeLock.Dispose();
    }
}
