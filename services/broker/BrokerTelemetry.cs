using System.Diagnostics;

namespace Aspire.Kafka.Broker;

/// <summary>
/// The broker's own spans (ActivitySource <c>Aspire.Kafka.Broker</c>), besides the per-request
/// "kafka.request" server span of the connection loop.
/// </summary>
/// <remarks>
/// <c>kafka.replica.fetch</c> (Client): one replica fetcher round against a leader — attributes
/// <c>kafka.leader.id</c>, <c>kafka.replica.id</c>, <c>kafka.partitions</c>, <c>kafka.fetch.partitions_with_records</c>,
/// <c>kafka.fetch.bytes</c> (record bytes appended), <c>kafka.error.code</c>/<c>error.type</c>.
/// Rounds that brought nothing and failed nothing are not exported.
/// <c>kafka.replica.truncate</c> (Client): the OffsetForLeaderEpoch exchange of partitions a fetcher
/// starts following, with <c>kafka.partitions</c> and an event per truncated partition.
/// </remarks>
public static class BrokerTelemetry
{
    public const string SourceName = "Aspire.Kafka.Broker";

    public static readonly ActivitySource ActivitySource = new(SourceName);
}
