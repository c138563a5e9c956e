using System.Reflection;

namespace Aspire.Kafka.Protocol.Tests;

/// <summary>Every generated top-level class and how to call its static members.</summary>
internal static class GeneratedMessages
{
    public static IReadOnlyList<Type> All { get; } = typeof(IKafkaMessage).Assembly.GetTypes()
        .Where(t => t.IsClass && !t.IsNested && t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IKafkaMessage<>)))
        .OrderBy(t => t.FullName, StringComparer.Ordinal)
        .ToList();

    public static VersionRange ValidVersions(Type type) =>
        (VersionRange)type.GetProperty("ValidVersions", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;

    public static VersionRange FlexibleVersions(Type type) =>
        (VersionRange)type.GetProperty("FlexibleVersions", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;

    public static byte[] Write(object message, short version)
    {
        using var writer = new KafkaWriter();
        ((IKafkaMessage)message).Write(writer, version);
        return writer.ToArray();
    }

    /// <summary>Reads with the static Read(ref KafkaReader, short) through the generic interface.</summary>
    public static object Read(Type type, byte[] bytes, short version, out int consumed)
    {
        MethodInfo method = typeof(GeneratedMessages).GetMethod(nameof(ReadTyped), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(type);
        object?[] args = [bytes, version, 0];
        object result = method.Invoke(null, args)!;
        consumed = (int)args[2]!;
        return result;
    }

    private static T ReadTyped<T>(byte[] bytes, short version, out int consumed)
        where T : IKafkaMessage<T>
    {
        var reader = new KafkaReader(bytes);
        T result = T.Read(ref reader, version);
        consumed = reader.Position;
        return result;
    }
}
