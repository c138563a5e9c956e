namespace Aspire.Kafka.Client;

/// <summary>
/// Kafka's ExponentialBackoff: initial × multiplier^attempts, times a random factor in
/// [1 − jitter, 1 + jitter], capped at max. attempts counts from 0 (the first backoff is about
/// the initial value). Used for reconnect.backoff.ms/.max.ms and retry.backoff.ms/.max.ms.
/// </summary>
public sealed class ExponentialBackoff
{
    private readonly double _initialMs;
    private readonly double _maxMs;
    private readonly double _multiplier;
    private readonly double _jitter;
    private readonly double _expMax;
    private readonly Random _random;

    public ExponentialBackoff(TimeSpan initial, int multiplier, TimeSpan max, double jitter, Random? random = null)
    {
        _initialMs = initial.TotalMilliseconds;
        _maxMs = Math.Max(max.TotalMilliseconds, _initialMs);
        _multiplier = multiplier;
        _jitter = jitter;
        _expMax = _maxMs > _initialMs && _initialMs > 0 ? Math.Log(_maxMs / _initialMs) / Math.Log(multiplier) : 0;
        _random = random ?? Random.Shared;
    }

    /// <summary>Kafka's reconnect backoff: multiplier 2, jitter 0.2.</summary>
    public static ExponentialBackoff Reconnect(KafkaClientOptions options, Random? random = null) =>
        new(options.ReconnectBackoff, 2, options.ReconnectBackoffMax, 0.2, random);

    /// <summary>Kafka's retry backoff (KIP-580): multiplier 2, jitter 0.2.</summary>
    public static ExponentialBackoff Retry(KafkaClientOptions options, Random? random = null) =>
        new(options.RetryBackoff, 2, options.RetryBackoffMax, 0.2, random);

    /// <summary>Bounds of <see cref="Backoff"/> for an attempt count, for tests and logs.</summary>
    public (TimeSpan Min, TimeSpan Max) Bounds(int attempts)
    {
        double term = Term(attempts);
        return (TimeSpan.FromMilliseconds(Math.Min(term * (1 - _jitter), _maxMs)), TimeSpan.FromMilliseconds(Math.Min(term * (1 + _jitter), _maxMs)));
    }

    public TimeSpan Backoff(int attempts)
    {
        double term = Term(attempts);
        double factor;
        lock (_random)
        {
            factor = _jitter <= 0 ? 1.0 : 1 - _jitter + (_random.NextDouble() * 2 * _jitter);
        }

        return TimeSpan.FromMilliseconds(Math.Min(Math.Floor(term * factor), _maxMs));
    }

    private double Term(int attempts)
    {
        if (_expMax == 0)
        {
            return _initialMs;
        }

        double exp = Math.Min(Math.Max(attempts, 0), _expMax);
        return _initialMs * Math.Pow(_multiplier, exp);
    }
}
