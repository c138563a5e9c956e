using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Protocol.Tests;

/// <summary>Rules of the spec format checked on concrete messages with hand-computed bytes.</summary>
public sealed class MessageSemanticsTests
{
    private static byte[] Write(IKafkaMessage message, short version)
    {
        using var writer = new KafkaWriter();
        message.Write(writer, version);
        return writer.ToArray();
    }

    [Fact]
    public void Non_default_value_in_a_non_ignorable_field_the_version_lacks_is_an_error()
    {
        // FetchRequest.ForgottenTopicsData exists from v7 and is not ignorable.
        var request = new FetchRequest { ForgottenTopicsData = [new FetchRequest.ForgottenTopic { Topic = "t", Partitions = [1] }] };
        var error = Assert.Throws<UnsupportedVersionException>(() => Write(request, 6));
        Assert.Contains("ForgottenTopicsData", error.Message, StringComparison.Ordinal);
        Write(request, 7);
    }

    [Fact]
    public void Non_default_value_in_an_ignorable_field_is_dropped_silently()
    {
        // FetchRequest.IsolationLevel (v4+) is ignorable.
        var request = new FetchRequest { IsolationLevel = 1 };
        byte[] v3 = Write(request, 3);
        var reader = new KafkaReader(v3);
        Assert.Equal(0, FetchRequest.Read(ref reader, 3).IsolationLevel);
    }

    [Fact]
    public void Writing_an_unknown_version_is_an_error()
    {
        Assert.Throws<UnsupportedVersionException>(() => Write(new ApiVersionsRequest(), 99));
    }

    [Fact]
    public void Request_header_v2_keeps_the_old_string_encoding_for_ClientId()
    {
        var header = new RequestHeader { RequestApiKey = 18, RequestApiVersion = 3, CorrelationId = 7, ClientId = "ab" };
        byte[] bytes = Write(header, 2);
        // api key, api version, correlation id, int16-length "ab" (not compact), empty tagged fields.
        Assert.Equal(new byte[] { 0, 18, 0, 3, 0, 0, 0, 7, 0, 2, (byte)'a', (byte)'b', 0 }, bytes);
    }

    [Fact]
    public void Header_versions_follow_flexible_versions_except_ApiVersions_responses()
    {
        ApiMessageType apiVersions = ApiMessageTypes.Find(ApiKeys.ApiVersions)!;
        Assert.Equal(2, apiVersions.RequestHeaderVersion(3));
        Assert.Equal(1, apiVersions.RequestHeaderVersion(2));
        Assert.Equal(0, apiVersions.ResponseHeaderVersion(3));
        ApiMessageType fetch = ApiMessageTypes.Find(ApiKeys.Fetch)!;
        Assert.Equal(1, fetch.RequestHeaderVersion(11));
        Assert.Equal(2, fetch.RequestHeaderVersion(12));
        Assert.Equal(0, fetch.ResponseHeaderVersion(11));
        Assert.Equal(1, fetch.ResponseHeaderVersion(12));
        Assert.Equal(0, ApiMessageTypes.Find(ApiKeys.ControlledShutdown)!.RequestHeaderVersion(0));
        Assert.Null(ApiMessageTypes.Find(-1));
    }

    [Fact]
    public void Compact_encodings_and_tagged_fields_match_hand_computed_bytes()
    {
        // ApiVersionsRequest v3: compact strings (length+1 varint) and an empty tagged-field section.
        var request = new ApiVersionsRequest { ClientSoftwareName = "k", ClientSoftwareVersion = "1" };
        Assert.Equal(new byte[] { 2, (byte)'k', 2, (byte)'1', 0 }, Write(request, 3));

        // FetchRequest v12 with ClusterId set: the tagged field (tag 0) follows all regular fields.
        var fetch = new FetchRequest { ClusterId = "c", MaxWaitMs = 1, MinBytes = 2, SessionEpoch = -1 };
        byte[] bytes = Write(fetch, 12);
        // ... empty RackId (compact length+1 = 1), one tagged field, tag 0, 2 bytes: compact "c".
        Assert.Equal(new byte[] { 1, 1, 0, 2, 2, (byte)'c' }, bytes[^6..]);
    }

    [Fact]
    public void Unknown_tagged_fields_are_kept_and_written_back()
    {
        var request = new ApiVersionsRequest { ClientSoftwareName = "k", ClientSoftwareVersion = "1" };
        request.UnknownTaggedFields = [new RawTaggedField(42, [9, 8])];
        byte[] bytes = Write(request, 3);
        Assert.Equal(new byte[] { 2, (byte)'k', 2, (byte)'1', 1, 42, 2, 9, 8 }, bytes);
        var reader = new KafkaReader(bytes);
        var decoded = ApiVersionsRequest.Read(ref reader, 3);
        Assert.Equal(request, decoded);
        Assert.Equal(bytes, Write(decoded, 3));
    }

    [Fact]
    public void Nullable_struct_uses_a_one_byte_presence_marker()
    {
        var response = new DescribeTopicPartitionsResponse { NextCursor = null };
        byte[] withoutCursor = Write(response, 0);
        response.NextCursor = new DescribeTopicPartitionsResponse.Cursor { TopicName = "t", PartitionIndex = 3 };
        byte[] withCursor = Write(response, 0);
        Assert.Equal(0xFF, withoutCursor[^2]);
        Assert.Equal(1, withCursor[withoutCursor.Length - 2]);
        var reader = new KafkaReader(withCursor);
        Assert.Equal(response, DescribeTopicPartitionsResponse.Read(ref reader, 0));
    }

    [Fact]
    public void Hostile_lengths_fail_without_allocating()
    {
        // MetadataRequest v0: topics array claiming 2^31-1 elements with nothing after it.
        byte[] bytes = [0x7f, 0xff, 0xff, 0xff];
        var error = Assert.Throws<KafkaProtocolException>(() =>
        {
            var reader = new KafkaReader(bytes);
            MetadataRequest.Read(ref reader, 0);
        });
        Assert.Contains("cannot fit", error.Message, StringComparison.Ordinal);

        byte[] truncated = [0, 0, 0, 1, 0, 5, (byte)'a'];
        Assert.Throws<KafkaProtocolException>(() =>
        {
            var reader = new KafkaReader(truncated);
            MetadataRequest.Read(ref reader, 0);
        });
    }
}
