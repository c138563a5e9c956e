using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Client;

/// <summary>
/// Produce batches of different partitions that wait for the same leader travel in one request,
/// as Kafka's producer drains every ready batch of a node into one Produce. Per leader (and acks)
/// at most one request is in flight; whatever is queued while it is out goes as the next request,
/// one batch per partition per request (a second batch of a partition waits for the request after,
/// so a partition's batches keep their order). A lone caller waits for nothing but its own request.
/// <para>
/// Each caller gets its partition's answer: the caller checks the error and retries on its own
/// (a retried batch queues again). A request that fails as a whole (the connection) fails every
/// batch it carried with the same exception. A caller that gives up (its token) stops waiting; a
/// batch not yet sent is then not sent.
/// </para>
/// </summary>
internal sealed class ProduceCoalescer(NetworkClient network)
{
    private readonly Dictionary<(string Endpoint, short Acks), Lane> _lanes = [];

    /// <summary>Requests sent so far (each carrying one or more partition batches).</summary>
    public long RequestsSent => Interlocked.Read(ref _requests);

    private long _requests;

    /// <summary>Batches queued and not yet sent, over all leaders.</summary>
    public int Queued
    {
        get
        {
            lock (_lanes)
            {
                return _lanes.Values.Sum(l => l.Queue.Count);
            }
        }
    }

    /// <summary>Queues one partition batch for <paramref name="leader"/> and returns that partition's answer (acks 1 or -1).</summary>
    public Task<ProduceResponse.PartitionProduceResponse> ProduceAsync(KafkaNode leader, string topic, int partition, ReadOnlyMemory<byte> records, short acks,
        int timeoutMs, TimeSpan requestTimeout, CancellationToken cancellationToken)
    {
        var pending = new Pending(topic, partition, records, timeoutMs, requestTimeout);
        if (cancellationToken.CanBeCanceled)
        {
            pending.Registration = cancellationToken.Register(static p => ((Pending)p!).Completion.TrySetCanceled(), pending);
        }

        Lane lane;
        bool start;
        lock (_lanes)
        {
            if (!_lanes.TryGetValue((leader.Endpoint, acks), out lane!))
            {
                lane = new Lane(leader, acks);
                _lanes.Add((leader.Endpoint, acks), lane);
            }

            lane.Queue.Add(pending);
            start = !lane.Sending;
            lane.Sending = true;
        }

        if (start)
        {
            // Runs on this caller's thread up to the first wait (a lone produce goes out at once,
            // without a hop through the thread pool); later rounds run on the response's continuation.
            _ = DrainAsync(lane);
        }

        return pending.Completion.Task;
    }

    private async Task DrainAsync(Lane lane)
    {
        while (true)
        {
            List<Pending> batch;
            lock (_lanes)
            {
                lane.Queue.RemoveAll(p => p.Completion.Task.IsCompleted); // given up before being sent
                if (lane.Queue.Count == 0)
                {
                    lane.Sending = false;
                    return;
                }

                batch = [];
                var taken = new HashSet<(string, int)>();
                foreach (Pending p in lane.Queue)
                {
                    if (taken.Add((p.Topic, p.Partition)))
                    {
                        batch.Add(p);
                    }
                }

                lane.Queue.RemoveAll(batch.Contains);
            }

            await SendAsync(lane, batch).ConfigureAwait(false);
        }
    }

    private async Task SendAsync(Lane lane, List<Pending> batch)
    {
        try
        {
            KafkaConnection connection = await network.GetConnectionAsync(lane.Leader).ConfigureAwait(false);
            // v3+: record batches v2 (magic 2) only.
            short version = connection.ApiVersions?.LatestUsableVersion(ApiKeys.Produce, new VersionRange(3, 11), connection.Endpoint) ?? 9;
            var request = new ProduceRequest { Acks = lane.Acks, TimeoutMs = batch.Max(p => p.TimeoutMs) };
            foreach (IGrouping<string, Pending> topic in batch.GroupBy(p => p.Topic))
            {
                request.TopicData.Add(new ProduceRequest.TopicProduceData
                {
                    Name = topic.Key,
                    PartitionData = [.. topic.Select(p => new ProduceRequest.PartitionProduceData { Index = p.Partition, Records = p.Records })],
                });
            }

            Interlocked.Increment(ref _requests);
            ProduceResponse response = await connection.SendAsync<ProduceRequest, ProduceResponse>(request, version, batch.Max(p => p.RequestTimeout)).ConfigureAwait(false);
            foreach (Pending p in batch)
            {
                ProduceResponse.PartitionProduceResponse? answer = response.Responses.FirstOrDefault(t => t.Name == p.Topic)?.PartitionResponses.FirstOrDefault(x => x.Index == p.Partition);
                if (answer is null)
                {
                    p.Completion.TrySetException(new KafkaProtocolViolationException(connection.Endpoint, $"the Produce response has no result for {p.Topic}-{p.Partition}"));
                }
                else
                {
                    p.Completion.TrySetResult(answer);
                }
            }
        }
        catch (Exception e)
        {
            foreach (Pending p in batch)
            {
                p.Completion.TrySetException(e);
            }
        }
        finally
        {
            foreach (Pending p in batch)
            {
                p.Registration.Dispose();
            }
        }
    }

    private sealed class Lane(KafkaNode leader, short acks)
    {
        public KafkaNode Leader { get; } = leader;

        public short Acks { get; } = acks;

        public List<Pending> Queue { get; } = [];

        public bool Sending { get; set; }
    }

    private sealed class Pending(string topic, int partition, ReadOnlyMemory<byte> records, int timeoutMs, TimeSpan requestTimeout)
    {
        public string Topic { get; } = topic;

        public int Partition { get; } = partition;

        public ReadOnlyMemory<byte> Records { get; } = records;

        public int TimeoutMs { get; } = timeoutMs;

        public TimeSpan RequestTimeout { get; } = requestTimeout;

        public CancellationTokenRegistration Registration { get; set; }

        public TaskCompletionSource<ProduceResponse.PartitionProduceResponse> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
