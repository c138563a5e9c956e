using System.Diagnostics;
using System.Diagnostics.Metrics;
using Aspire.Kafka.Protocol;

namespace Aspire.Kafka.Server;

/// <summary>Instruments of the Kafka-protocol connection loop (meter <c>Aspire.Kafka.Network</c>), tagged by listener.</summary>
public sealed class KafkaNetworkMetrics
{
    public const string MeterName = "Aspire.Kafka.Network";

    /// <summary>The per-API latency histogram (Prometheus: kafka_network_requestmetrics_totaltime_seconds).</summary>
    public const string RequestTotalTimeName = "kafka.network.requestmetrics.totaltime";

    private const string UnknownApi = "unknown";

    private readonly Counter<long> _accepted;
    private readonly UpDownCounter<long> _active;
    private readonly Counter<long> _closedOnError;
    private readonly Counter<long> _requests;
    private readonly Counter<long> _received;
    private readonly Counter<long> _sent;
    private readonly Histogram<double> _totalTime;

    public KafkaNetworkMetrics(IMeterFactory meterFactory)
    {
        Meter meter = meterFactory.Create(MeterName);
        _accepted = meter.CreateCounter<long>("aspire.kafka.network.connections.accepted", "{connection}", "Kafka-protocol connections accepted.");
        _active = meter.CreateUpDownCounter<long>("aspire.kafka.network.connections.active", "{connection}", "Kafka-protocol connections open now.");
        _closedOnError = meter.CreateCounter<long>("aspire.kafka.network.connections.errors", "{connection}", "Connections closed because of a bad frame or a handler failure.");
        _requests = meter.CreateCounter<long>("aspire.kafka.network.requests", "{request}", "Kafka-protocol requests handled.");
        _received = meter.CreateCounter<long>("aspire.kafka.network.received", "By", "Bytes of Kafka-protocol requests received, size prefixes included.");
        _sent = meter.CreateCounter<long>("aspire.kafka.network.sent", "By", "Bytes of Kafka-protocol responses sent, size prefixes included.");
        // Kafka's kafka.network:type=RequestMetrics,name=TotalTimeMs,request=<api> (in seconds, as a histogram).
        _totalTime = meter.CreateHistogram<double>(RequestTotalTimeName, "s",
            "Time from a request's last byte read to its response written to the connection, by API (tag request; \"unknown\" for a key no Kafka API has). Long polls (Fetch) include their wait.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
    }

    internal void Opened(string listener)
    {
        var tag = new KeyValuePair<string, object?>("listener", listener);
        _accepted.Add(1, tag);
        _active.Add(1, tag);
    }

    internal void Closed(string listener, string? error)
    {
        var tag = new KeyValuePair<string, object?>("listener", listener);
        _active.Add(-1, tag);
        if (error is not null)
        {
            _closedOnError.Add(1, tag, new KeyValuePair<string, object?>("reason", error));
        }
    }

    internal void Request(string listener, short apiKey, long bytesIn, long bytesOut, long startTimestamp)
    {
        var tag = new KeyValuePair<string, object?>("listener", listener);
        _requests.Add(1, tag);
        _received.Add(bytesIn, tag);
        if (bytesOut > 0)
        {
            _sent.Add(bytesOut, tag);
        }

        _totalTime.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, tag, new KeyValuePair<string, object?>("request", ApiName(apiKey)));
    }

    /// <summary>Kafka's name of the API (Produce, Fetch…), a cached string; "unknown" when no API has the key.</summary>
    internal static string ApiName(short apiKey) => ApiMessageTypes.Find(apiKey)?.Name ?? UnknownApi;
}
