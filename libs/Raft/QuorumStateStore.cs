using System.Text.Json;
using System.Text.Json.Nodes;

namespace Aspire.Kafka.Raft;

/// <summary>Where the election state (<c>quorum-state</c>) lives. <see cref="Write"/> must be durable when it returns.</summary>
public interface IQuorumStateStore
{
    /// <summary>The stored state, or null when none was ever written.</summary>
    ElectionState? Read();

    void Write(ElectionState state);
}

/// <summary>An <see cref="IQuorumStateStore"/> in memory (survives a simulated crash; it is the "disk").</summary>
public sealed class InMemoryQuorumStateStore : IQuorumStateStore
{
    public ElectionState? State { get; private set; }

    public int WriteCount { get; private set; }

    public ElectionState? Read() => State;

    public void Write(ElectionState state)
    {
        State = state;
        WriteCount++;
    }
}

/// <summary>
/// The <c>quorum-state</c> file in Kafka's format: QuorumStateData as JSON with a
/// <c>data_version</c> field, e.g.
/// <c>{"clusterId":"","leaderId":1,"leaderEpoch":4,"votedId":-1,"appliedOffset":0,"currentVoters":[{"voterId":1}],"data_version":0}</c>.
/// Written atomically: a temporary file, fsync, rename over the old one, fsync of the directory.
/// </summary>
public sealed class FileQuorumStateStore : IQuorumStateStore
{
    private readonly string _path;
    private readonly IReadOnlyList<int> _voters;
    private readonly string _clusterId;

    public FileQuorumStateStore(string path, IReadOnlyList<int> voters, string clusterId = "")
    {
        _path = path;
        _voters = voters;
        _clusterId = clusterId;
    }

    public string FilePath => _path;

    public ElectionState? Read()
    {
        if (!File.Exists(_path))
        {
            return null;
        }

        string text = File.ReadAllText(_path);
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(text);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"quorum-state file {_path} is not valid JSON: {e.Message}", e);
        }

        if (root is not JsonObject obj)
        {
            throw new InvalidDataException($"quorum-state file {_path} does not hold a JSON object.");
        }

        int version = obj["data_version"]?.GetValue<int>() ?? throw new InvalidDataException($"quorum-state file {_path} has no data_version.");
        if (version is < 0 or > 1)
        {
            throw new InvalidDataException($"quorum-state file {_path} has data_version {version}; versions 0 and 1 are known.");
        }

        int epoch = obj["leaderEpoch"]?.GetValue<int>() ?? -1;
        int leaderId = obj["leaderId"]?.GetValue<int>() ?? -1;
        int votedId = obj["votedId"]?.GetValue<int>() ?? -1;
        return new ElectionState(Math.Max(epoch, 0), leaderId, votedId);
    }

    public void Write(ElectionState state)
    {
        var obj = new JsonObject
        {
            ["clusterId"] = _clusterId,
            ["leaderId"] = state.LeaderId,
            ["leaderEpoch"] = state.Epoch,
            ["votedId"] = state.VotedId,
            ["appliedOffset"] = 0,
            ["currentVoters"] = new JsonArray(_voters.Select(v => (JsonNode)new JsonObject { ["voterId"] = v }).ToArray()),
            ["data_version"] = 0,
        };

        string directory = Path.GetDirectoryName(Path.GetFullPath(_path))!;
        Directory.CreateDirectory(directory);
        string temp = _path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            byte[] bytes = System.Text.Encoding.UTF8.GetBytes(obj.ToJsonString());
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, _path, overwrite: true);
        FsyncDirectory(directory);
    }

    private static void FsyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        // Opening a directory for reading and flushing it makes the rename durable on Linux.
        try
        {
            using var handle = File.OpenHandle(directory, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, FileOptions.None);
            RandomAccess.FlushToDisk(handle);
        }
        catch (UnauthorizedAccessException)
        {
        }
        catch (IOException)
        {
        }
    }
}
