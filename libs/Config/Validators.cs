using System.Globalization;

namespace Aspire.Kafka.Config;

/// <summary>Checks a parsed value; throws <see cref="ConfigException"/> (one sentence) when it is not acceptable.</summary>
public interface IConfigValidator
{
    void EnsureValid(string name, object? value);

    /// <summary>What the validator accepts, for documentation ("[1,...]", "[INFO, WARN]").</summary>
    string Describe();
}

/// <summary>A numeric range, inclusive on both ends (Kafka's <c>ConfigDef.Range</c>).</summary>
public sealed class Range : IConfigValidator
{
    private readonly double? _min;
    private readonly double? _max;

    private Range(double? min, double? max)
    {
        _min = min;
        _max = max;
    }

    public static Range AtLeast(double min) => new(min, null);

    public static Range Between(double min, double max) => new(min, max);

    public void EnsureValid(string name, object? value)
    {
        if (value is null)
        {
            return;
        }

        double number = Convert.ToDouble(value, CultureInfo.InvariantCulture);
        if (_min is double min && number < min)
        {
            throw new ConfigException(name, value, $"Value must be at least {min.ToString(CultureInfo.InvariantCulture)}");
        }

        if (_max is double max && number > max)
        {
            throw new ConfigException(name, value, $"Value must be no more than {max.ToString(CultureInfo.InvariantCulture)}");
        }
    }

    public string Describe() => _max is null
        ? $"[{_min?.ToString(CultureInfo.InvariantCulture)},...]"
        : $"[{_min?.ToString(CultureInfo.InvariantCulture)},...,{_max?.ToString(CultureInfo.InvariantCulture)}]";
}

/// <summary>One of a fixed set of strings (Kafka's <c>ConfigDef.ValidString</c>); case-insensitive when asked.</summary>
public sealed class ValidString : IConfigValidator
{
    private readonly string[] _allowed;
    private readonly StringComparison _comparison;

    private ValidString(string[] allowed, StringComparison comparison)
    {
        _allowed = allowed;
        _comparison = comparison;
    }

    public static ValidString In(params string[] allowed) => new(allowed, StringComparison.Ordinal);

    public static ValidString InIgnoreCase(params string[] allowed) => new(allowed, StringComparison.OrdinalIgnoreCase);

    public void EnsureValid(string name, object? value)
    {
        if (value is string s && !_allowed.Any(a => a.Equals(s, _comparison)))
        {
            throw new ConfigException(name, s, $"String must be one of: {string.Join(", ", _allowed)}");
        }
    }

    public string Describe() => $"[{string.Join(", ", _allowed)}]";
}

/// <summary>Every element of a list is one of a fixed set (Kafka's <c>ConfigDef.ValidList</c>).</summary>
public sealed class ValidList : IConfigValidator
{
    private readonly string[] _allowed;

    private ValidList(string[] allowed) => _allowed = allowed;

    public static ValidList In(params string[] allowed) => new(allowed);

    public void EnsureValid(string name, object? value)
    {
        if (value is IEnumerable<string> list)
        {
            foreach (string item in list)
            {
                if (!_allowed.Contains(item, StringComparer.Ordinal))
                {
                    throw new ConfigException(name, value, $"Invalid value {item}: String must be one of: {string.Join(", ", _allowed)}");
                }
            }
        }
    }

    public string Describe() => $"[{string.Join(", ", _allowed)}]";
}

/// <summary>A string that is not empty (Kafka's <c>ConfigDef.NonEmptyString</c>).</summary>
public sealed class NonEmptyString : IConfigValidator
{
    public static NonEmptyString Instance { get; } = new();

    public void EnsureValid(string name, object? value)
    {
        if (value is string s && s.Trim().Length == 0)
        {
            throw new ConfigException(name, s, "String must be non-empty");
        }
    }

    public string Describe() => "non-empty string";
}

/// <summary>A validator from a function returning the reason a value is invalid, or null when it is valid.</summary>
public sealed class Validator : IConfigValidator
{
    private readonly Func<object?, string?> _check;
    private readonly string _description;

    private Validator(Func<object?, string?> check, string description)
    {
        _check = check;
        _description = description;
    }

    public static Validator From(Func<object?, string?> check, string description) => new(check, description);

    public void EnsureValid(string name, object? value)
    {
        if (_check(value) is string reason)
        {
            throw new ConfigException(name, value, reason);
        }
    }

    public string Describe() => _description;
}
