using System.Collections;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Reflection;
using System.Text;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Server;

/// <summary>
/// What the "kafka.request" span (started by the connection loop) learns from the dispatcher:
/// the API, version, client, partitions and the error code. Called only for a span a listener
/// records, so the reflection below never runs on an untraced request.
/// </summary>
/// <remarks>
/// Attributes: <c>rpc.system</c>=kafka, <c>rpc.method</c>=the API name, <c>kafka.api.key</c>,
/// <c>kafka.api.name</c>, <c>kafka.api.version</c>, <c>kafka.correlation.id</c>,
/// <c>kafka.client.id</c>, <c>client.address</c>/<c>client.port</c>, <c>kafka.partitions</c> (how
/// many partitions the request names, where it names any), <c>kafka.error.code</c> and
/// <c>error.type</c> (the response's top-level error code, else the first non-zero one of its
/// topics/partitions/groups; the span's status is Error then). The span's display name becomes the
/// API name. A Fetch answered with no records and no error is not exported (its Recorded flag is
/// cleared): idle long polls of followers and consumers would otherwise bury everything else.
/// </remarks>
public static class RequestSpan
{
    private static readonly ConcurrentDictionary<Type, Shape> Shapes = new();
    private static readonly ConcurrentDictionary<short, string> ErrorNames = new();

    /// <summary>Tags known from the request header.</summary>
    public static void OnRequest(Activity activity, ApiMessageType type, RequestHeader header, KafkaConnectionContext connection)
    {
        ArgumentNullException.ThrowIfNull(activity);
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(connection);
        activity.DisplayName = type.Name;
        activity.SetTag("rpc.system", "kafka");
        activity.SetTag("rpc.method", type.Name);
        activity.SetTag("kafka.api.key", (int)type.ApiKey);
        activity.SetTag("kafka.api.name", type.Name);
        activity.SetTag("kafka.api.version", (int)header.RequestApiVersion);
        activity.SetTag("kafka.correlation.id", header.CorrelationId);
        if (header.ClientId is { Length: > 0 } clientId)
        {
            activity.SetTag("kafka.client.id", clientId);
        }

        if (connection.RemoteEndPoint is IPEndPoint remote)
        {
            activity.SetTag("client.address", remote.Address.ToString());
            activity.SetTag("client.port", remote.Port);
        }
    }

    /// <summary>Tags known once the request is parsed.</summary>
    public static void OnParsed(Activity activity, IApiMessage request)
    {
        ArgumentNullException.ThrowIfNull(activity);
        ArgumentNullException.ThrowIfNull(request);
        int partitions = ShapeOf(request.GetType()).CountPartitions(request);
        if (partitions >= 0)
        {
            activity.SetTag("kafka.partitions", partitions);
        }
    }

    /// <summary>Tags known from the response (null: no response, Produce with acks=0).</summary>
    public static void OnResponse(Activity activity, IApiMessage? response)
    {
        ArgumentNullException.ThrowIfNull(activity);
        if (response is null)
        {
            activity.SetTag("kafka.response.none", true);
            return;
        }

        short error = FirstError(response);
        activity.SetTag("kafka.error.code", (int)error);
        if (error != 0)
        {
            string name = ErrorName(error);
            activity.SetTag("error.type", name);
            activity.SetStatus(ActivityStatusCode.Error, name);
        }
        else if (response is FetchResponse fetch && !HasRecords(fetch))
        {
            activity.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
        }
    }

    /// <summary>The top-level error code, else the first non-zero one found depth-first in the nested topics/partitions/groups.</summary>
    public static short FirstError(IApiMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return ShapeOf(message.GetType()).FirstError(message);
    }

    /// <summary>Kafka's name of an error code: NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION…</summary>
    public static string ErrorName(short code) => ErrorNames.GetOrAdd(code, static c =>
    {
        if (!Enum.IsDefined((ErrorCode)c))
        {
            return $"ERROR_{c}";
        }

        string pascal = ((ErrorCode)c).ToString();
        var snake = new StringBuilder(pascal.Length + 8);
        for (int i = 0; i < pascal.Length; i++)
        {
            if (i > 0 && char.IsUpper(pascal[i]))
            {
                snake.Append('_');
            }

            snake.Append(char.ToUpperInvariant(pascal[i]));
        }

        return snake.ToString();
    });

    private static bool HasRecords(FetchResponse fetch)
    {
        foreach (FetchResponse.FetchableTopicResponse topic in fetch.Responses)
        {
            foreach (FetchResponse.PartitionData partition in topic.Partitions)
            {
                if (partition.Records is { Length: > 0 })
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static Shape ShapeOf(Type type) => Shapes.GetOrAdd(type, static t => new Shape(t));

    /// <summary>The error-code property and the nested lists of one generated message class.</summary>
    private sealed class Shape
    {
        private readonly PropertyInfo? _errorCode;
        private readonly (PropertyInfo Property, Type Element)[] _children;
        private readonly PropertyInfo[] _partitionLists;

        public Shape(Type type)
        {
            PropertyInfo[] properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance);
            _errorCode = properties.FirstOrDefault(p => p.Name == "ErrorCode" && p.PropertyType == typeof(short));
            var children = new List<(PropertyInfo, Type)>();
            var partitionLists = new List<PropertyInfo>();
            foreach (PropertyInfo p in properties)
            {
                if (!p.PropertyType.IsGenericType || p.PropertyType.GetGenericTypeDefinition() != typeof(List<>))
                {
                    continue;
                }

                Type element = p.PropertyType.GetGenericArguments()[0];
                if (p.Name.StartsWith("Partition", StringComparison.Ordinal))
                {
                    partitionLists.Add(p);
                }

                // Generated nested message classes only (not RawTaggedField, strings or numbers);
                // forgotten topics of a fetch session are not partitions the request asks for.
                if (element.IsClass && element != typeof(string) && element.DeclaringType is not null && element.Namespace == type.Namespace
                    && !p.Name.StartsWith("Forgotten", StringComparison.Ordinal))
                {
                    children.Add((p, element));
                }
            }

            _children = [.. children];
            _partitionLists = [.. partitionLists];
        }

        public short FirstError(object message)
        {
            if (_errorCode?.GetValue(message) is short code && code != 0)
            {
                return code;
            }

            foreach ((PropertyInfo property, Type element) in _children)
            {
                if (property.GetValue(message) is not IList list)
                {
                    continue;
                }

                Shape shape = ShapeOf(element);
                foreach (object? item in list)
                {
                    if (item is not null && shape.FirstError(item) is var nested && nested != 0)
                    {
                        return nested;
                    }
                }
            }

            return 0;
        }

        /// <summary>Elements of every list named Partition… at any depth; -1 when the message has none.</summary>
        public int CountPartitions(object message)
        {
            int count = -1;
            foreach (PropertyInfo property in _partitionLists)
            {
                if (property.GetValue(message) is ICollection partitions)
                {
                    count = Math.Max(count, 0) + partitions.Count;
                }
            }

            if (count >= 0)
            {
                return count;
            }

            foreach ((PropertyInfo property, Type element) in _children)
            {
                if (property.GetValue(message) is not IList list)
                {
                    continue;
                }

                Shape shape = ShapeOf(element);
                foreach (object? item in list)
                {
                    if (item is not null && shape.CountPartitions(item) is var nested && nested >= 0)
                    {
                        count = Math.Max(count, 0) + nested;
                    }
                }
            }

            return count;
        }
    }
}
