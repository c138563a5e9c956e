using System.Collections;
using System.Reflection;

namespace Aspire.Kafka.Protocol.Tests;

/// <summary>
/// Builds seeded random instances of generated classes for a given version, guided by each
/// class's <c>SchemaFields</c>: fields the version lacks keep their defaults, null appears only
/// where the version allows it.
/// </summary>
internal sealed class RandomMessages
{
    private static readonly string[] Words = ["", "a", "topic-1", "grüße", "€uro", "__consumer_offsets", "x y z", "日本"];
    private readonly Random _random;

    public RandomMessages(int seed) => _random = new Random(seed);

    public object Create(Type type, short version, int depth = 0)
    {
        object instance = Activator.CreateInstance(type)!;
        var fields = (IReadOnlyList<FieldDescriptor>)type.GetProperty("SchemaFields", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;
        foreach (FieldDescriptor field in fields)
        {
            if (!field.Versions.Contains(version))
            {
                continue;
            }

            PropertyInfo property = type.GetProperty(field.Name)!;
            bool nullable = field.NullableVersions.Contains(version);
            property.SetValue(instance, Value(property.PropertyType, field, nullable, version, depth));
        }

        return instance;
    }

    private object? Value(Type type, FieldDescriptor field, bool nullable, short version, int depth)
    {
        if (nullable && _random.Next(5) == 0)
        {
            return null;
        }

        Type underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (underlying.IsGenericType && underlying.GetGenericTypeDefinition() == typeof(List<>))
        {
            Type element = underlying.GetGenericArguments()[0];
            var list = (IList)Activator.CreateInstance(underlying)!;
            int count = depth > 3 ? 0 : _random.Next(4);
            for (int i = 0; i < count; i++)
            {
                list.Add(field.StructType is not null ? Create(field.StructType, version, depth + 1) : Primitive(element));
            }

            return list;
        }

        if (field.StructType is not null)
        {
            return Create(field.StructType, version, depth + 1);
        }

        return Primitive(underlying);
    }

    private object Primitive(Type type)
    {
        if (type == typeof(bool)) return _random.Next(2) == 1;
        if (type == typeof(sbyte)) return (sbyte)_random.Next(sbyte.MinValue, sbyte.MaxValue + 1);
        if (type == typeof(short)) return (short)_random.Next(short.MinValue, short.MaxValue + 1);
        if (type == typeof(ushort)) return (ushort)_random.Next(ushort.MaxValue + 1);
        if (type == typeof(int)) return _random.Next(3) == 0 ? -1 : _random.Next();
        if (type == typeof(uint)) return (uint)_random.NextInt64(uint.MaxValue + 1L);
        if (type == typeof(long)) return _random.Next(3) == 0 ? -1L : _random.NextInt64();
        if (type == typeof(double)) return _random.NextDouble() * 1e6;
        if (type == typeof(string)) return Words[_random.Next(Words.Length)] + _random.Next(1000);
        if (type == typeof(KafkaUuid)) return new KafkaUuid(_random.NextInt64(), _random.NextInt64());
        if (type == typeof(byte[])) return Bytes();
        if (type == typeof(ReadOnlyMemory<byte>)) return new ReadOnlyMemory<byte>(Bytes());
        throw new NotSupportedException($"No random value for {type}.");
    }

    private byte[] Bytes()
    {
        byte[] bytes = new byte[_random.Next(12)];
        _random.NextBytes(bytes);
        return bytes;
    }
}
