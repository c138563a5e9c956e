using System.Diagnostics;
using Aspire.Kafka.Broker.Apis;
using Aspire.Kafka.Protocol.Messages;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aspire.Kafka.Broker.Tests;

/// <summary>
/// The broker's APIs called as the dispatcher calls them, on a <see cref="ReplicaManager"/> the
/// test built: each goes through the API file's wire translation (services/broker/Apis) into the
/// ReplicaManager's domain methods, as a request from the socket does.
/// </summary>
internal static class WireApis
{
    public static ValueTask<ProduceResponse?> HandleProduceAsync(this ReplicaManager replicaManager, ProduceRequest request, short version, string? listenerName,
        CancellationToken cancellationToken, Activity? span = null) =>
        new ProduceApi(replicaManager).HandleAsync(request, version, listenerName, span, cancellationToken);

    /// <summary>Fetch; with <paramref name="spliceRecords"/> the records are spliced from the segment files as on the wire, else read into arrays.</summary>
    public static ValueTask<FetchResponse> HandleFetchAsync(this ReplicaManager replicaManager, FetchRequest request, short version, string? listenerName,
        CancellationToken cancellationToken, bool spliceRecords = false) =>
        new FetchApi(replicaManager, NullLogger<FetchApi>.Instance).HandleAsync(request, version, listenerName, spliceRecords, cancellationToken);

    public static ListOffsetsResponse HandleListOffsets(this ReplicaManager replicaManager, ListOffsetsRequest request, short version) =>
        new ListOffsetsApi(replicaManager).Handle(request, version);

    public static OffsetForLeaderEpochResponse HandleOffsetForLeaderEpoch(this ReplicaManager replicaManager, OffsetForLeaderEpochRequest request) =>
        new OffsetForLeaderEpochApi(replicaManager).Handle(request);

    public static DeleteRecordsResponse HandleDeleteRecords(this ReplicaManager replicaManager, DeleteRecordsRequest request) =>
        new DeleteRecordsApi(replicaManager).Handle(request);

    public static DescribeLogDirsResponse HandleDescribeLogDirs(this ReplicaManager replicaManager, DescribeLogDirsRequest request, short version) =>
        new DescribeLogDirsApi(replicaManager).Handle(request, version);

    public static DescribeProducersResponse HandleDescribeProducers(this ReplicaManager replicaManager, DescribeProducersRequest request) =>
        new DescribeProducersApi(replicaManager).Handle(request);
}
