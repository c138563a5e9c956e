namespace Aspire.Kafka.Metadata;

/// <summary>Kafka's topic name rules (Topic.validate), shared by the controller (CreateTopics) and the nodes (Metadata auto-creation).</summary>
public static class TopicNames
{
    public const int MaxLength = 249;

    /// <summary>Null when the name is legal, else why not: 1–249 characters of [a-zA-Z0-9._-], not "." or "..".</summary>
    public static string? Validate(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "Topic name is illegal, it can't be empty";
        }

        if (name is "." or "..")
        {
            return "Topic name cannot be \".\" or \"..\"";
        }

        if (name.Length > MaxLength)
        {
            return $"Topic name is illegal, it can't be longer than {MaxLength} characters, topic name: {name}";
        }

        foreach (char c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return $"Topic name \"{name}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'";
            }
        }

        return null;
    }
}
