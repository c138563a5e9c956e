using System.Diagnostics;

namespace Aspire.Kafka.ServiceDefaults.Kafka;

/// <summary>Helpers for the services' own spans (replication, controller writes, group rebalances).</summary>
public static class KafkaTracing
{
    /// <summary>
    /// Starts a span that begins its own trace whatever <see cref="Activity.Current"/> is (a
    /// background loop's work, or a long-lived operation a request only triggers), and leaves
    /// <see cref="Activity.Current"/> as it was. Null when no listener samples it.
    /// </summary>
    public static Activity? StartRootActivity(this ActivitySource source, string name, ActivityKind kind = ActivityKind.Internal, IEnumerable<ActivityLink>? links = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!source.HasListeners())
        {
            return null;
        }

        Activity? previous = Activity.Current;
        Activity.Current = null;
        try
        {
            return source.StartActivity(kind, parentContext: default, tags: null, links: links, startTime: default, name: name);
        }
        finally
        {
            Activity.Current = previous;
        }
    }

    /// <summary>Drops a finished-but-uninteresting span from export (e.g. an idle long poll): clears its Recorded flag.</summary>
    public static void DoNotExport(this Activity activity)
    {
        ArgumentNullException.ThrowIfNull(activity);
        activity.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
    }
}
