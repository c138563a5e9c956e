using Aspire.Kafka.Metadata;
using Aspire.Kafka.Protocol.MetadataRecords;

namespace Aspire.Kafka.Controller;

/// <summary>
/// Assigns every <c>__consumer_offsets</c> partition to an active coordinator node, balanced
/// (each node owns ⌊N/C⌋ or ⌈N/C⌉ partitions) with as few moves as possible; partitions of a
/// fenced, shutting-down or unregistered coordinator move to the others; with no active
/// coordinator they are unassigned (-1) and FindCoordinator answers COORDINATOR_NOT_AVAILABLE.
/// Every change of a partition's owner bumps its assignment epoch.
/// </summary>
internal static class CoordinatorControlManager
{
    /// <summary>Adds the CoordinatorAssignmentRecords that bring the assignment to balance; returns how many.</summary>
    public static int Rebalance(ControllerWriteContext ctx)
    {
        MetadataImage image = ctx.Image;
        TopicImage? offsets = image.Topics.GetTopic(CoordinatorsImage.ConsumerOffsetsTopic);
        if (offsets is null)
        {
            return 0;
        }

        int[] partitions = [.. offsets.Partitions.Keys];
        int[] live = [.. image.Cluster.Coordinators.Values.Where(c => c.IsActive).Select(c => c.Id)];
        var target = new Dictionary<int, int>(); // partition -> coordinator (-1 unassigned)
        if (live.Length == 0)
        {
            foreach (int p in partitions)
            {
                target[p] = -1;
            }
        }
        else
        {
            // Keep what live coordinators own, up to their quota; the most loaded get the ⌈N/C⌉ quotas.
            var owned = live.ToDictionary(c => c, c => new List<int>());
            foreach (int p in partitions)
            {
                if (image.Coordinators.Assignment(p) is { IsAssigned: true } a && owned.TryGetValue(a.CoordinatorId, out var list))
                {
                    list.Add(p);
                }
            }

            int baseQuota = partitions.Length / live.Length;
            int extra = partitions.Length % live.Length;
            var quota = new Dictionary<int, int>();
            int i = 0;
            foreach (int c in live.OrderByDescending(c => owned[c].Count).ThenBy(c => c))
            {
                quota[c] = baseQuota + (i++ < extra ? 1 : 0);
            }

            var free = new List<int>();
            var counts = new Dictionary<int, int>();
            foreach (int c in live)
            {
                List<int> keep = [.. owned[c].Take(quota[c])];
                counts[c] = keep.Count;
                foreach (int p in keep)
                {
                    target[p] = c;
                }
            }

            free.AddRange(partitions.Where(p => !target.ContainsKey(p)));
            foreach (int p in free)
            {
                int c = live.Where(c => counts[c] < quota[c]).OrderBy(c => counts[c]).ThenBy(c => c).First();
                target[p] = c;
                counts[c]++;
            }
        }

        int written = 0;
        foreach (int p in partitions)
        {
            CoordinatorAssignment? current = image.Coordinators.Assignment(p);
            int wanted = target[p];
            if (current is not null && current.CoordinatorId == wanted)
            {
                continue;
            }

            if (current is null && wanted == -1)
            {
                continue;
            }

            ctx.Add(RecordVersions.Of(new CoordinatorAssignmentRecord
            {
                PartitionId = p,
                CoordinatorId = wanted,
                AssignmentEpoch = current is null ? 0 : current.AssignmentEpoch + 1,
            }));
            written++;
        }

        return written;
    }
}
