namespace Aspire.Kafka.Raft.Tests;

public sealed class QuorumVotersTests
{
    [Fact]
    public void Parses_ids_hosts_and_ports_including_bracketed_ipv6()
    {
        IReadOnlyList<VoterEndpoint> voters = QuorumVoters.Parse("1@localhost:9093, 2@10.0.0.2:9094,3@[::1]:9095");

        Assert.Equal(
            [new VoterEndpoint(1, "localhost", 9093), new VoterEndpoint(2, "10.0.0.2", 9094), new VoterEndpoint(3, "::1", 9095)],
            voters);
        Assert.Equal("3@[::1]:9095", voters[2].ToString());
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("localhost:9093", "id@host:port")]
    [InlineData("x@localhost:9093", "invalid node id")]
    [InlineData("1@localhost", "no port")]
    [InlineData("1@localhost:0", "invalid port")]
    [InlineData("1@localhost:70000", "invalid port")]
    [InlineData("1@:9093", "no port")]
    [InlineData("1@[::1]9093", "IPv6")]
    [InlineData("1@a:1,1@b:2", "more than once")]
    public void Rejects_bad_input_with_one_clear_sentence(string value, string expected)
    {
        var error = Assert.Throws<FormatException>(() => QuorumVoters.Parse(value));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Config_from_voters_makes_a_node_outside_the_set_an_observer()
    {
        RaftConfig voter = RaftConfig.FromVoters(2, "1@a:1,2@b:2,3@c:3");
        RaftConfig observer = RaftConfig.FromVoters(7, "1@a:1,2@b:2,3@c:3");

        Assert.True(voter.IsVoter);
        Assert.False(observer.IsVoter);
        Assert.Equal(2, voter.Majority);
    }
}
