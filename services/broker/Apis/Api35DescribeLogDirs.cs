using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Server;
using Aspire.Kafka.Storage;

namespace Aspire.Kafka.Broker.Apis;

/// <summary>
/// DescribeLogDirs (key 35): v1–v4. Every log dir with the partitions it holds (all, or the
/// requested ones), each with its size and its lag behind the high watermark (0 on the leader);
/// v4 adds the disk's total and usable bytes (-1 when the disk cannot be read).
/// </summary>
public sealed class DescribeLogDirsApi(ReplicaManager replicaManager) : KafkaApi<DescribeLogDirsRequest, DescribeLogDirsResponse>
{
    public override VersionRange SupportedVersions { get; } = new(1, 4);

    protected override ValueTask<DescribeLogDirsResponse?> HandleAsync(RequestContext context, DescribeLogDirsRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult<DescribeLogDirsResponse?>(Handle(request, context.ApiVersion));

    internal DescribeLogDirsResponse Handle(DescribeLogDirsRequest request, short version)
    {
        ArgumentNullException.ThrowIfNull(request);
        HashSet<TopicPartition>? wanted = request.Topics is null
            ? null
            : [.. request.Topics.SelectMany(t => t.Partitions.Select(p => new TopicPartition(t.Topic, p)))];
        var response = new DescribeLogDirsResponse();
        foreach (LogDirDescription dir in replicaManager.DescribeLogDirs(wanted))
        {
            var result = new DescribeLogDirsResponse.DescribeLogDirsResult { LogDir = dir.Dir };
            if (version >= 4)
            {
                result.TotalBytes = dir.TotalBytes;
                result.UsableBytes = dir.UsableBytes;
            }

            foreach (IGrouping<string, LogDirPartition> topic in dir.Partitions.GroupBy(p => p.TopicPartition.Topic))
            {
                var t = new DescribeLogDirsResponse.DescribeLogDirsTopic { Name = topic.Key };
                foreach (LogDirPartition p in topic)
                {
                    t.Partitions.Add(new DescribeLogDirsResponse.DescribeLogDirsPartition { PartitionIndex = p.TopicPartition.Partition, PartitionSize = p.Size, OffsetLag = p.OffsetLag });
                }

                result.Topics.Add(t);
            }

            response.Results.Add(result);
        }

        return response;
    }
}
