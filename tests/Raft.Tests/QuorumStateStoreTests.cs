using System.Text.Json;

namespace Aspire.Kafka.Raft.Tests;

public sealed class QuorumStateStoreTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "raft-qs-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void File_store_writes_kafkas_json_and_reads_it_back()
    {
        string path = Path.Combine(_dir, "quorum-state");
        var store = new FileQuorumStateStore(path, [1, 2, 3]);
        Assert.Null(store.Read());

        store.Write(new ElectionState(Epoch: 4, LeaderId: 1, VotedId: 2));

        Assert.Equal(new ElectionState(4, 1, 2), store.Read());
        using JsonDocument json = JsonDocument.Parse(File.ReadAllText(path));
        JsonElement root = json.RootElement;
        Assert.Equal(0, root.GetProperty("data_version").GetInt32());
        Assert.Equal(1, root.GetProperty("leaderId").GetInt32());
        Assert.Equal(4, root.GetProperty("leaderEpoch").GetInt32());
        Assert.Equal(2, root.GetProperty("votedId").GetInt32());
        Assert.Equal([1, 2, 3], root.GetProperty("currentVoters").EnumerateArray().Select(v => v.GetProperty("voterId").GetInt32()));
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void File_store_reads_a_file_written_by_kafka()
    {
        Directory.CreateDirectory(_dir);
        string path = Path.Combine(_dir, "quorum-state");
        File.WriteAllText(path, """{"clusterId":"","leaderId":3,"leaderEpoch":12,"votedId":-1,"appliedOffset":0,"currentVoters":[{"voterId":1},{"voterId":2},{"voterId":3}],"data_version":0}""");

        Assert.Equal(new ElectionState(12, 3, -1), new FileQuorumStateStore(path, [1, 2, 3]).Read());
    }

    [Fact]
    public void File_store_overwrites_atomically_and_rejects_garbage()
    {
        string path = Path.Combine(_dir, "quorum-state");
        var store = new FileQuorumStateStore(path, [1]);
        store.Write(new ElectionState(1, -1, 1));
        store.Write(new ElectionState(2, 1, 1));
        Assert.Equal(new ElectionState(2, 1, 1), store.Read());

        File.WriteAllText(path, "{not json");
        var error = Assert.Throws<InvalidDataException>(() => store.Read());
        Assert.Contains("not valid JSON", error.Message, StringComparison.Ordinal);

        File.WriteAllText(path, """{"leaderEpoch":1}""");
        Assert.Contains("data_version", Assert.Throws<InvalidDataException>(() => store.Read()).Message, StringComparison.Ordinal);
    }
}
