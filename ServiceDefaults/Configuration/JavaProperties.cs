using Aspire.Kafka.Config;
using System.Globalization;
using System.Text;

namespace Aspire.Kafka.ServiceDefaults.Configuration;

/// <summary>
/// Reads Java <c>.properties</c> text as <c>java.util.Properties.load</c> does: '#' and '!'
/// comment lines, <c>key=value</c>, <c>key: value</c> and <c>key value</c>, a backslash at the
/// end of a line continues it (leading blanks of the next line dropped), escapes <c>\t \n \r \f
/// \uXXXX</c> and <c>\x</c> for any other x. A later duplicate wins. Read as UTF-8.
/// </summary>
public static class JavaProperties
{
    public static IReadOnlyList<KeyValuePair<string, string>> Parse(string text)
    {
        var result = new List<KeyValuePair<string, string>>();
        foreach (string logical in LogicalLines(text))
        {
            int i = 0;
            var key = new StringBuilder();
            bool escaped = false;
            while (i < logical.Length)
            {
                char c = logical[i];
                if (!escaped && (c == '=' || c == ':' || IsBlank(c)))
                {
                    break;
                }

                if (!escaped && c == '\\')
                {
                    escaped = true;
                    i++;
                    continue;
                }

                if (escaped)
                {
                    i = Unescape(logical, i, key);
                    escaped = false;
                    continue;
                }

                key.Append(c);
                i++;
            }

            while (i < logical.Length && IsBlank(logical[i]))
            {
                i++;
            }

            if (i < logical.Length && (logical[i] == '=' || logical[i] == ':'))
            {
                i++;
            }

            while (i < logical.Length && IsBlank(logical[i]))
            {
                i++;
            }

            var value = new StringBuilder();
            while (i < logical.Length)
            {
                char c = logical[i];
                if (c == '\\' && i + 1 < logical.Length)
                {
                    i = Unescape(logical, i + 1, value);
                    continue;
                }

                if (c != '\\')
                {
                    value.Append(c);
                }

                i++;
            }

            result.Add(new KeyValuePair<string, string>(key.ToString(), value.ToString()));
        }

        return result;
    }

    public static IReadOnlyList<KeyValuePair<string, string>> Load(string path) => Parse(File.ReadAllText(path, Encoding.UTF8));

    private static bool IsBlank(char c) => c is ' ' or '\t' or '\f';

    // The character after a backslash starts at i; appends what it means and returns the next index.
    private static int Unescape(string s, int i, StringBuilder into)
    {
        char c = s[i];
        switch (c)
        {
            case 't': into.Append('\t'); return i + 1;
            case 'n': into.Append('\n'); return i + 1;
            case 'r': into.Append('\r'); return i + 1;
            case 'f': into.Append('\f'); return i + 1;
            case 'u':
                if (i + 5 <= s.Length && int.TryParse(s.AsSpan(i + 1, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int code))
                {
                    into.Append((char)code);
                    return i + 5;
                }

                throw new ConfigException($"Malformed \\uxxxx escape in properties line '{s}'.");
            default:
                into.Append(c);
                return i + 1;
        }
    }

    private static IEnumerable<string> LogicalLines(string text)
    {
        string[] physical = text.ReplaceLineEndings("\n").Split('\n');
        var current = new StringBuilder();
        bool continuing = false;
        foreach (string raw in physical)
        {
            string line = continuing ? raw.TrimStart(' ', '\t', '\f') : raw;
            if (!continuing)
            {
                string trimmed = line.TrimStart(' ', '\t', '\f');
                if (trimmed.Length == 0 || trimmed[0] == '#' || trimmed[0] == '!')
                {
                    continue;
                }

                line = trimmed;
            }

            int trailing = 0;
            for (int j = line.Length - 1; j >= 0 && line[j] == '\\'; j--)
            {
                trailing++;
            }

            if (trailing % 2 == 1)
            {
                current.Append(line, 0, line.Length - 1);
                continuing = true;
                continue;
            }

            current.Append(line);
            continuing = false;
            yield return current.ToString();
            current.Clear();
        }

        if (current.Length > 0)
        {
            yield return current.ToString();
        }
    }
}
