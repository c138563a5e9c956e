using System.Diagnostics;

namespace Aspire.Kafka.Mirror;

/// <summary>The mirror's spans: one per topic refresh ("mirror.refresh") and one per MirrorAppend to a target broker ("mirror.append").</summary>
public static class MirrorTelemetry
{
    public const string SourceName = "Aspire.Kafka.Mirror";

    public static readonly ActivitySource Source = new(SourceName);
}
