using System.Globalization;
using Aspire.Kafka.Client;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;
using Aspire.Kafka.Topology;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Aspire.Kafka.AppHost;

/// <summary>
/// The dashboard commands that make the failure stories one click away, next to Aspire's own
/// stop/start/restart: "kill -9" (a crash: no controlled shutdown, no flush), "pause 15 s"
/// (SIGSTOP, then SIGCONT: a hung node that keeps its sockets open) and, on brokers, "preferred
/// leader election" (ElectLeaders for every partition, as kafka-leader-election.sh
/// --election-type PREFERRED --all-topic-partitions). Each logs what it did to the node's log.
/// </summary>
internal static class NodeCommands
{
    public const string Kill = "kill-9";
    public const string Pause = "pause-15s";
    public const string PreferredLeaderElection = "preferred-leader-election";
    public static readonly TimeSpan PauseTime = TimeSpan.FromSeconds(15);

    public static void Add(IResourceBuilder<ProjectResource> resource, NodeSpec node)
    {
        resource.WithCommand(Kill, "kill -9", context => KillAsync(context), new CommandOptions
        {
            Description = "Crash the node: SIGKILL to its process (no graceful shutdown). Aspire's Start brings it back.",
            ConfirmationMessage = $"Kill {node.Name} with SIGKILL?",
            IconName = "Flash",
            UpdateState = RunningOnly,
        });
        resource.WithCommand(Pause, "pause 15 s", context => PauseAsync(context), new CommandOptions
        {
            Description = "Hang the node: SIGSTOP, and SIGCONT 15 s later (its connections stay open, it answers nothing).",
            IconName = "Pause",
            UpdateState = RunningOnly,
        });
        if (node.Role == NodeRole.Broker)
        {
            string address = node.Listener(KafkaTopology.ClientListener).Address;
            resource.WithCommand(PreferredLeaderElection, "preferred leader election", context => ElectPreferredAsync(context, address), new CommandOptions
            {
                Description = "Move the leadership of every partition back to its preferred replica (the first of its replica list), through this broker.",
                IconName = "ArrowSync",
                UpdateState = RunningOnly,
            });
        }
    }

    private static ResourceCommandState RunningOnly(UpdateCommandStateContext context) =>
        context.ResourceSnapshot.State?.Text == KnownResourceStates.Running ? ResourceCommandState.Enabled : ResourceCommandState.Disabled;

    private static Task<ExecuteCommandResult> KillAsync(ExecuteCommandContext context)
    {
        if (ProcessOf(context) is not int pid)
        {
            return Task.FromResult(CommandResults.Failure($"{context.ResourceName} has no running process."));
        }

        List<int> tree = UnixProcesses.Tree(pid);
        UnixProcesses.Signal(tree, UnixProcesses.SigKill);
        context.Logger.LogWarning("kill -9 from the dashboard: SIGKILL sent to {Pids}", string.Join(' ', tree));
        return Task.FromResult(CommandResults.Success());
    }

    private static Task<ExecuteCommandResult> PauseAsync(ExecuteCommandContext context)
    {
        if (ProcessOf(context) is not int pid)
        {
            return Task.FromResult(CommandResults.Failure($"{context.ResourceName} has no running process."));
        }

        List<int> tree = UnixProcesses.Tree(pid);
        UnixProcesses.Signal(tree, UnixProcesses.SigStop);
        context.Logger.LogWarning("pause from the dashboard: SIGSTOP sent to {Pids}; SIGCONT in {Seconds} s", string.Join(' ', tree), PauseTime.TotalSeconds);
        ILogger logger = context.Logger;
        // The pause itself is the feature: resume after its length, whatever else happens.
        _ = Task.Delay(PauseTime).ContinueWith(
            _ =>
            {
                UnixProcesses.Signal(tree, UnixProcesses.SigCont);
                logger.LogWarning("pause over: SIGCONT sent to {Pids}", string.Join(' ', tree));
            },
            CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        return Task.FromResult(CommandResults.Success());
    }

    private static async Task<ExecuteCommandResult> ElectPreferredAsync(ExecuteCommandContext context, string address)
    {
        await using var client = new KafkaClient(new KafkaClientOptions { BootstrapServers = [address], ClientId = "apphost-dashboard" });
        var request = new ElectLeadersRequest { ElectionType = 0, TopicPartitions = null, TimeoutMs = 30_000 };
        ElectLeadersResponse response;
        try
        {
            response = await client.Network.SendAsync<ElectLeadersRequest, ElectLeadersResponse>(client.BootstrapNodes[0], request, cancellationToken: context.CancellationToken);
        }
        catch (Exception e) when (e is IOException or TimeoutException or KafkaClientException or System.Net.Sockets.SocketException)
        {
            context.Logger.LogError("preferred leader election through {Address} failed: {Message}", address, e.Message);
            return CommandResults.Failure(e.Message);
        }

        if (response.ErrorCode != 0)
        {
            string error = ((ErrorCode)response.ErrorCode).ToString();
            context.Logger.LogError("preferred leader election failed: {Error}", error);
            return CommandResults.Failure(error);
        }

        var moved = new List<string>();
        var failed = new List<string>();
        foreach (ElectLeadersResponse.ReplicaElectionResult topic in response.ReplicaElectionResults)
        {
            foreach (ElectLeadersResponse.PartitionResult partition in topic.PartitionResult)
            {
                string name = $"{topic.Topic}-{partition.PartitionId.ToString(CultureInfo.InvariantCulture)}";
                if (partition.ErrorCode == 0)
                {
                    moved.Add(name);
                }
                else if (partition.ErrorCode != (short)ErrorCode.ElectionNotNeeded)
                {
                    failed.Add($"{name}: {(ErrorCode)partition.ErrorCode}");
                }
            }
        }

        string summary = $"preferred leader election: {moved.Count} partition(s) moved to their preferred leader" +
            (moved.Count > 0 ? $" ({string.Join(", ", moved)})" : "") +
            (failed.Count > 0 ? $"; failed: {string.Join(", ", failed)}" : "");
        context.Logger.LogInformation("{Summary}", summary);
        return failed.Count == 0 ? CommandResults.Success(summary) : CommandResults.Failure(summary);
    }

    /// <summary>The process DCP started for the resource (for a project, `dotnet` running it).</summary>
    private static int? ProcessOf(ExecuteCommandContext context)
    {
        ResourceNotificationService notifications = context.Services.GetRequiredService<ResourceNotificationService>();
        if (!notifications.TryGetCurrentState(context.ResourceName, out ResourceEvent? state))
        {
            return null;
        }

        object? value = state.Snapshot.Properties.FirstOrDefault(p => p.Name == "executable.pid")?.Value;
        return value switch
        {
            int i => i,
            long l => (int)l,
            string s when int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int parsed) => parsed,
            _ => null,
        };
    }
}
