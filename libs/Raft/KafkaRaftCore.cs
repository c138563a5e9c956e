using System.Buffers;
using Aspire.Kafka.Protocol;
using Aspire.Kafka.Protocol.Messages;

namespace Aspire.Kafka.Raft;

/// <summary>
/// The KRaft (KIP-595) consensus core as a deterministic state machine, after etcd-io/raft's
/// shape and KafkaRaftClient's names. It owns no thread, timer, socket, clock or randomness:
/// the host feeds it <see cref="Step"/> (a message from a peer), <see cref="Tick"/> (the time),
/// <see cref="Propose"/> (records to append, on the leader) and <see cref="Resign"/>, then drains
/// <see cref="TakeReady"/>, performs it (persist, flush, send) and calls <see cref="Advance"/>.
/// Election jitter comes from the injected <see cref="Random"/>.
/// </summary>
public sealed class KafkaRaftCore
{
    private readonly RaftConfig _config;
    private readonly IRaftLog _log;
    private readonly Random _random;
    private readonly HashSet<int> _voters;

    private long _now;
    private RaftRole _role;
    private int _epoch;
    private int _leaderId = -1;
    private int _votedId = -1;
    private long _highWatermark;
    private long _flushedEndOffset;

    // Timers (absolute times in ms; long.MaxValue when not armed).
    private long _electionDeadline = long.MaxValue;
    private long _fetchDeadline = long.MaxValue;
    private long _backoffDeadline = long.MaxValue;
    private long _nextFetchAt;
    private OffsetAndEpoch _fetchPosition;

    // CandidateState.
    private readonly HashSet<int> _granted = [];
    private readonly HashSet<int> _rejected = [];
    private int _candidateRetries;
    private bool _backingOff;

    // LeaderState.
    private readonly Dictionary<int, ReplicaProgress> _replicas = [];
    private readonly HashSet<int> _beginEpochAcked = [];
    private long _epochStartOffset;
    private long _leaderSince;
    private readonly Dictionary<int, (RaftEnvelope Request, long Deadline)> _parkedFetches = [];

    // ResignedState.
    private readonly HashSet<int> _endEpochAcked = [];
    private IReadOnlyList<int> _preferredSuccessors = [];

    // Follower snapshot download.
    private (SnapshotId Id, ArrayBufferWriter<byte> Buffer)? _snapshotFetch;

    // Observer bootstrap target (a voter asked for the leader).
    private int _bootstrapIndex;

    // Requests in flight, one per destination.
    private readonly Dictionary<int, (long CorrelationId, long Deadline)> _inflight = [];
    private long _nextCorrelationId;

    // Outbox for the next Ready.
    private ElectionState? _stateToPersist;
    private bool _logDirty;
    private List<RaftEnvelope> _messages = [];
    private List<RaftEvent> _events = [];
    private bool _readyOutstanding;

    /// <summary>
    /// Starts a node from what its disk holds: the log and the persisted election state. A node
    /// that was leader of the stored epoch comes back Resigned (it never leads that epoch again),
    /// one that voted comes back Voted, one that knew a leader comes back its Follower.
    /// </summary>
    public KafkaRaftCore(RaftConfig config, IRaftLog log, IQuorumStateStore stateStore, Random random, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(stateStore);
        config.Validate();
        _config = config;
        _log = log ?? throw new ArgumentNullException(nameof(log));
        _random = random ?? throw new ArgumentNullException(nameof(random));
        _voters = [.. config.Voters];
        _now = nowMs;
        // Correlation ids start at a random point so responses meant for an earlier incarnation never match.
        _nextCorrelationId = random.NextInt64(1, long.MaxValue / 4);
        _highWatermark = log.StartOffset;
        _flushedEndOffset = log.EndOffset;

        ElectionState stored = stateStore.Read() ?? ElectionState.Initial;
        _epoch = stored.Epoch;
        _votedId = IsVoter ? stored.VotedId : -1;
        if (stored.LeaderId == config.NodeId)
        {
            _role = RaftRole.Resigned;
            _leaderId = config.NodeId;
            _preferredSuccessors = [];
            _endEpochAcked.Clear();
            _electionDeadline = _now + RandomElectionTimeout();
        }
        else if (stored.LeaderId >= 0)
        {
            _role = RaftRole.Follower;
            _leaderId = stored.LeaderId;
            _fetchDeadline = _now + FetchTimeout();
        }
        else if (stored.VotedId >= 0 && IsVoter)
        {
            _role = RaftRole.Voted;
            _electionDeadline = _now + RandomElectionTimeout();
        }
        else
        {
            _role = RaftRole.Unattached;
            _electionDeadline = _now + RandomElectionTimeout();
        }
    }

    public int NodeId => _config.NodeId;

    public RaftConfig Config => _config;

    public IRaftLog Log => _log;

    public bool IsVoter => _voters.Contains(_config.NodeId);

    public RaftRole Role => _role;

    public int Epoch => _epoch;

    /// <summary>The leader of the current epoch, -1 when unknown.</summary>
    public int LeaderId => _leaderId;

    public int VotedId => _votedId;

    /// <summary>Offset below which entries are committed (exclusive), as known to this node.</summary>
    public long HighWatermark => _highWatermark;

    public long LogEndOffset => _log.EndOffset;

    /// <summary>Whether there is something to do: call <see cref="TakeReady"/>.</summary>
    public bool HasReady => _stateToPersist is not null || _logDirty || _messages.Count > 0 || _events.Count > 0;

    /// <summary>The earliest time at which <see cref="Tick"/> has something to do; the host sleeps until then (or until a message comes).</summary>
    public long NextDeadlineMs
    {
        get
        {
            long next = long.MaxValue;
            foreach (var inflight in _inflight.Values)
            {
                next = Math.Min(next, inflight.Deadline);
            }

            foreach (var parked in _parkedFetches.Values)
            {
                next = Math.Min(next, parked.Deadline);
            }

            switch (_role)
            {
                // A fetch in flight is covered by its own deadline above: the next fetch is not due
                // before its response (counting it would make the host loop spin while it waits).
                case RaftRole.Unattached or RaftRole.Voted:
                    next = Math.Min(next, IsVoter ? _electionDeadline : _inflight.Count > 0 ? long.MaxValue : Math.Max(_nextFetchAt, _now));
                    break;
                case RaftRole.Follower:
                    next = Math.Min(next, Math.Min(_fetchDeadline, _inflight.ContainsKey(_leaderId) ? long.MaxValue : Math.Max(_nextFetchAt, _now)));
                    break;
                case RaftRole.Candidate:
                    next = Math.Min(next, _backingOff ? _backoffDeadline : _electionDeadline);
                    break;
                case RaftRole.Leader:
                    next = Math.Min(next, _now + 100);
                    break;
                case RaftRole.Resigned:
                    next = Math.Min(next, _electionDeadline);
                    break;
            }

            return next;
        }
    }

    // ---------------------------------------------------------------- inputs

    /// <summary>Advances the clock and fires whatever timer expired.</summary>
    public void Tick(long nowMs)
    {
        Enter(nowMs);
        ExpireInflight();
        switch (_role)
        {
            case RaftRole.Unattached or RaftRole.Voted:
                if (IsVoter)
                {
                    if (_now >= _electionDeadline)
                    {
                        TransitionToCandidate();
                    }
                }
                else
                {
                    MaybeSendFetch();
                }

                break;
            case RaftRole.Follower:
                if (_now >= _fetchDeadline)
                {
                    if (IsVoter)
                    {
                        TransitionToCandidate();
                    }
                    else
                    {
                        // An observer that lost its leader asks the voters again.
                        TransitionToUnattached(_epoch);
                        MaybeSendFetch();
                    }
                }
                else
                {
                    MaybeSendFetch();
                }

                break;
            case RaftRole.Candidate:
                PollCandidate();
                break;
            case RaftRole.Leader:
                PollLeader();
                break;
            case RaftRole.Resigned:
                if (_now >= _electionDeadline)
                {
                    TransitionToCandidate();
                }
                else
                {
                    SendEndQuorumEpochs();
                }

                break;
        }
    }

    /// <summary>Feeds one message received from a peer (request or response).</summary>
    public void Step(RaftEnvelope envelope, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        Enter(nowMs);
        if (envelope.Destination != NodeId)
        {
            throw new ArgumentException($"Message for node {envelope.Destination} stepped into node {NodeId}.", nameof(envelope));
        }

        switch (envelope.Message)
        {
            case VoteRequestData vote:
                HandleVoteRequest(envelope, vote);
                break;
            case VoteResponseData vote:
                HandleVoteResponse(envelope, vote);
                break;
            case BeginQuorumEpochRequestData begin:
                HandleBeginQuorumEpochRequest(envelope, begin);
                break;
            case BeginQuorumEpochResponseData begin:
                if (MatchInflight(envelope))
                {
                    if (!MaybeTransition(begin.LeaderId, begin.LeaderEpoch) && _role == RaftRole.Leader && begin.LeaderEpoch == _epoch)
                    {
                        _beginEpochAcked.Add(envelope.Source);
                    }
                }

                break;
            case EndQuorumEpochRequestData end:
                HandleEndQuorumEpochRequest(envelope, end);
                break;
            case EndQuorumEpochResponseData end:
                if (MatchInflight(envelope))
                {
                    if (!MaybeTransition(end.LeaderId, end.LeaderEpoch) && _role == RaftRole.Resigned)
                    {
                        _endEpochAcked.Add(envelope.Source);
                    }
                }

                break;
            case FetchRequestData fetch:
                HandleFetchRequest(envelope, fetch);
                break;
            case FetchResponseData fetch:
                HandleFetchResponse(envelope, fetch);
                break;
            case FetchSnapshotRequestData fetchSnapshot:
                HandleFetchSnapshotRequest(envelope, fetchSnapshot);
                break;
            case FetchSnapshotResponseData fetchSnapshot:
                HandleFetchSnapshotResponse(envelope, fetchSnapshot);
                break;
            default:
                throw new ArgumentException($"Unknown Raft message {envelope.Message.GetType().Name}.", nameof(envelope));
        }
    }

    /// <summary>
    /// Appends records to the log in the current epoch (leader only). They are committed once the
    /// high watermark passes <see cref="ProposeResult.LastOffset"/>; NOT_LEADER_OR_FOLLOWER otherwise.
    /// </summary>
    public ProposeResult Propose(IReadOnlyList<ReadOnlyMemory<byte>> records, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(records);
        Enter(nowMs);
        if (_role != RaftRole.Leader)
        {
            return new ProposeResult(RaftErrors.NotLeaderOrFollower, -1, -1, _epoch, _leaderId == NodeId ? -1 : _leaderId);
        }

        if (records.Count == 0)
        {
            return new ProposeResult(RaftErrors.InvalidRequest, -1, -1, _epoch, NodeId);
        }

        long baseOffset = _log.EndOffset;
        var entries = new RaftEntry[records.Count];
        for (int i = 0; i < records.Count; i++)
        {
            entries[i] = new RaftEntry(baseOffset + i, _epoch, records[i]);
        }

        AppendAsLeader(entries);
        return new ProposeResult(RaftErrors.None, baseOffset, baseOffset + records.Count - 1, _epoch, NodeId);
    }

    /// <summary>Graceful resignation (shutdown of the leader): EndQuorumEpoch to the voters, most caught-up first.</summary>
    public void Resign(long nowMs)
    {
        Enter(nowMs);
        if (_role == RaftRole.Leader)
        {
            TransitionToResigned();
        }
    }

    /// <summary>Starts an election now, as an expired election timeout would (voters only; for tests and operator tooling).</summary>
    public void Campaign(long nowMs)
    {
        Enter(nowMs);
        if (!IsVoter)
        {
            throw new InvalidOperationException($"Observer {NodeId} cannot campaign.");
        }

        if (_role != RaftRole.Leader)
        {
            TransitionToCandidate();
        }
    }

    /// <summary>
    /// Records a snapshot of the state machine up to <paramref name="endOffset"/> (exclusive,
    /// at most the high watermark) and deletes the log before it.
    /// </summary>
    public SnapshotId CreateSnapshot(long endOffset, ReadOnlyMemory<byte> data)
    {
        if (endOffset > _highWatermark)
        {
            throw new InvalidOperationException($"Snapshot end {endOffset} is above the high watermark {_highWatermark}: only committed entries may be snapshotted.");
        }

        if (endOffset <= _log.StartOffset)
        {
            throw new InvalidOperationException($"Snapshot end {endOffset} is not above the log start {_log.StartOffset}.");
        }

        int epoch = _log.EpochAt(endOffset - 1) ?? throw new InvalidOperationException($"Offset {endOffset - 1} is not in the log.");
        var id = new SnapshotId(endOffset, epoch);
        _log.StoreSnapshot(id, data);
        return id;
    }

    /// <summary>The leader's view of the quorum (DescribeQuorum); NOT_LEADER_OR_FOLLOWER elsewhere.</summary>
    public QuorumDescription DescribeQuorum()
    {
        if (_role != RaftRole.Leader)
        {
            return new QuorumDescription(RaftErrors.NotLeaderOrFollower, _leaderId, _epoch, _highWatermark, [], []);
        }

        var voters = new List<ReplicaDescription>();
        var observers = new List<ReplicaDescription>();
        foreach (int voter in _config.Voters)
        {
            if (voter == NodeId)
            {
                voters.Add(new ReplicaDescription(voter, _log.EndOffset, -1, _now));
            }
            else
            {
                ReplicaProgress p = _replicas[voter];
                voters.Add(new ReplicaDescription(voter, p.EndOffset, p.LastFetchMs, p.LastCaughtUpMs));
            }
        }

        foreach (var (id, p) in _replicas.OrderBy(r => r.Key))
        {
            if (!_voters.Contains(id))
            {
                observers.Add(new ReplicaDescription(id, p.EndOffset, p.LastFetchMs, p.LastCaughtUpMs));
            }
        }

        return new QuorumDescription(RaftErrors.None, NodeId, _epoch, _highWatermark, voters, observers);
    }

    // ---------------------------------------------------------------- outputs

    /// <summary>Hands over what to persist, send and report; perform it in <see cref="RaftReady"/>'s order, then call <see cref="Advance"/>.</summary>
    public RaftReady TakeReady()
    {
        if (_readyOutstanding)
        {
            throw new InvalidOperationException("The previous Ready was not advanced.");
        }

        var ready = new RaftReady
        {
            ElectionStateToPersist = _stateToPersist,
            FlushLog = _logDirty,
            FlushEndOffset = _log.EndOffset,
            Messages = _messages,
            Events = _events,
        };
        _stateToPersist = null;
        _logDirty = false;
        _messages = [];
        _events = [];
        _readyOutstanding = true;
        return ready;
    }

    /// <summary>Tells the core the Ready was performed: state persisted, log flushed, messages handed to the network.</summary>
    public void Advance(RaftReady ready)
    {
        ArgumentNullException.ThrowIfNull(ready);
        _readyOutstanding = false;
        if (ready.FlushLog)
        {
            _flushedEndOffset = Math.Min(ready.FlushEndOffset, _log.EndOffset);
            if (_role == RaftRole.Leader)
            {
                MaybeAdvanceHighWatermark();
            }
        }
    }

    // ---------------------------------------------------------------- transitions

    private void TransitionToUnattached(int epoch)
    {
        SetState(RaftRole.Unattached, epoch, -1, -1);
        _electionDeadline = _now + RandomElectionTimeout();
    }

    private void TransitionToVoted(int candidateId)
    {
        SetState(RaftRole.Voted, _epoch, -1, candidateId);
        _electionDeadline = _now + RandomElectionTimeout();
    }

    private void TransitionToFollower(int epoch, int leaderId)
    {
        int votedId = epoch == _epoch ? _votedId : -1;
        SetState(RaftRole.Follower, epoch, leaderId, votedId);
        _fetchDeadline = _now + FetchTimeout();
        _nextFetchAt = _now;
        MaybeSendFetch();
    }

    private void TransitionToCandidate()
    {
        if (!IsVoter)
        {
            throw new InvalidOperationException($"Observer {NodeId} cannot become a candidate.");
        }

        int retries = _role == RaftRole.Candidate ? _candidateRetries + 1 : 1;
        SetState(RaftRole.Candidate, _epoch + 1, -1, NodeId);
        _candidateRetries = retries;
        _granted.Clear();
        _rejected.Clear();
        _granted.Add(NodeId);
        _backingOff = false;
        _electionDeadline = _now + RandomElectionTimeout();
        if (_granted.Count >= _config.Majority)
        {
            TransitionToLeader();
            return;
        }

        SendVoteRequests();
    }

    private void TransitionToLeader()
    {
        SetState(RaftRole.Leader, _epoch, NodeId, _votedId);
        _leaderSince = _now;
        _replicas.Clear();
        _beginEpochAcked.Clear();
        foreach (int voter in _config.Voters)
        {
            if (voter != NodeId)
            {
                _replicas[voter] = new ReplicaProgress { EndOffset = -1, LastFetchMs = -1, LastCaughtUpMs = -1 };
            }
        }

        _epochStartOffset = _log.EndOffset;
        var leaderChange = new LeaderChangeMessage
        {
            Version = 0,
            LeaderId = NodeId,
            Voters = [.. _config.Voters.Select(v => new LeaderChangeMessage.Voter { VoterId = v })],
            GrantingVoters = [.. _granted.Order().Select(v => new LeaderChangeMessage.Voter { VoterId = v })],
        };
        using var writer = new KafkaWriter(64);
        leaderChange.Write(writer, 0);
        AppendAsLeader([new RaftEntry(_epochStartOffset, _epoch, writer.ToArray(), RaftEntryKind.LeaderChange)]);
        SendBeginQuorumEpochs();
    }

    private void TransitionToResigned()
    {
        _preferredSuccessors = [.. _replicas.Where(r => _voters.Contains(r.Key))
            .OrderByDescending(r => r.Value.EndOffset).ThenBy(r => r.Key).Select(r => r.Key)];
        SetState(RaftRole.Resigned, _epoch, NodeId, _votedId);
        _endEpochAcked.Clear();
        _electionDeadline = _now + RandomElectionTimeout();
        SendEndQuorumEpochs();
    }

    private void SetState(RaftRole role, int epoch, int leaderId, int votedId)
    {
        bool wasLeader = _role == RaftRole.Leader;
        ElectionState before = new(_epoch, _leaderId, _votedId);
        _role = role;
        _epoch = epoch;
        _leaderId = leaderId;
        _votedId = votedId;
        _inflight.Clear();
        _snapshotFetch = null;
        _backingOff = false;
        _candidateRetries = 0;
        _electionDeadline = long.MaxValue;
        _fetchDeadline = long.MaxValue;
        _backoffDeadline = long.MaxValue;
        ElectionState after = new(epoch, leaderId, votedId);
        if (after != before)
        {
            _stateToPersist = after;
        }

        _events.Add(new RoleChanged(role, epoch, leaderId));
        if (wasLeader && role != RaftRole.Leader)
        {
            // Parked long polls get an answer that names the new state.
            var parked = _parkedFetches.Values.Select(p => p.Request).ToList();
            _parkedFetches.Clear();
            foreach (RaftEnvelope request in parked)
            {
                HandleFetchRequest(request, (FetchRequestData)request.Message);
            }
        }
    }

    /// <summary>
    /// Learns an epoch and leader from a peer (Kafka's maybeTransition): a higher epoch makes this
    /// node a follower (leader known) or unattached; a leader newly learned in the current epoch
    /// makes it a follower. True when the state changed.
    /// </summary>
    private bool MaybeTransition(int leaderId, int epoch)
    {
        if (epoch > _epoch)
        {
            if (leaderId >= 0 && leaderId != NodeId)
            {
                TransitionToFollower(epoch, leaderId);
            }
            else
            {
                TransitionToUnattached(epoch);
            }

            return true;
        }

        if (epoch == _epoch && leaderId >= 0 && leaderId != NodeId && _leaderId != leaderId)
        {
            if (_role is RaftRole.Leader or RaftRole.Resigned)
            {
                throw new InvalidOperationException($"Node {NodeId} led epoch {epoch} but node {leaderId} claims it too.");
            }

            if (_role == RaftRole.Follower)
            {
                throw new InvalidOperationException($"Node {NodeId} follows {_leaderId} in epoch {epoch} but node {leaderId} claims it too.");
            }

            TransitionToFollower(epoch, leaderId);
            return true;
        }

        return false;
    }

    // ---------------------------------------------------------------- Vote

    private void SendVoteRequests()
    {
        foreach (int voter in _config.Voters)
        {
            if (voter != NodeId && !_granted.Contains(voter) && !_rejected.Contains(voter) && !_inflight.ContainsKey(voter))
            {
                SendRequest(voter, new VoteRequestData(_epoch, NodeId, _log.LastFetchedEpoch, _log.EndOffset));
            }
        }
    }

    private void HandleVoteRequest(RaftEnvelope envelope, VoteRequestData request)
    {
        if (!IsVoter || !_voters.Contains(request.CandidateId) || request.CandidateId != envelope.Source)
        {
            Reply(envelope, new VoteResponseData(RaftErrors.InconsistentVoterSet, _leaderId, _epoch, false));
            return;
        }

        if (request.CandidateEpoch < _epoch)
        {
            Reply(envelope, new VoteResponseData(RaftErrors.FencedLeaderEpoch, _leaderId, _epoch, false));
            return;
        }

        long runningTimer = _role switch
        {
            RaftRole.Follower => _fetchDeadline,
            RaftRole.Unattached or RaftRole.Voted or RaftRole.Resigned => _electionDeadline,
            _ => long.MaxValue,
        };
        if (request.CandidateEpoch > _epoch)
        {
            TransitionToUnattached(request.CandidateEpoch);
            // As in Raft (and etcd), only a granted vote restarts the election timer: a candidate
            // with a stale log that keeps bumping the epoch must not keep the up-to-date voters
            // from ever standing themselves.
            _electionDeadline = Math.Min(_electionDeadline, runningTimer);
        }

        bool logUpToDate = request.LastOffsetEpoch > _log.LastFetchedEpoch ||
            (request.LastOffsetEpoch == _log.LastFetchedEpoch && request.LastOffset >= _log.EndOffset);
        bool grant = _role switch
        {
            RaftRole.Unattached => logUpToDate,
            RaftRole.Voted => _votedId == request.CandidateId,
            _ => false,
        };
        if (grant && _role == RaftRole.Unattached)
        {
            TransitionToVoted(request.CandidateId);
        }

        Reply(envelope, new VoteResponseData(RaftErrors.None, _leaderId, _epoch, grant));
    }

    private void HandleVoteResponse(RaftEnvelope envelope, VoteResponseData response)
    {
        if (!MatchInflight(envelope))
        {
            return;
        }

        if (MaybeTransition(response.LeaderId, response.LeaderEpoch))
        {
            return;
        }

        if (_role != RaftRole.Candidate || response.LeaderEpoch != _epoch || response.ErrorCode != RaftErrors.None)
        {
            return;
        }

        if (response.VoteGranted)
        {
            _granted.Add(envelope.Source);
            if (_granted.Count >= _config.Majority)
            {
                TransitionToLeader();
            }
        }
        else
        {
            _rejected.Add(envelope.Source);
            if (_rejected.Count > _config.Voters.Count - _config.Majority && !_backingOff)
            {
                StartBackoff();
            }
        }
    }

    private void PollCandidate()
    {
        if (_backingOff)
        {
            if (_now >= _backoffDeadline)
            {
                TransitionToCandidate();
            }

            return;
        }

        if (_now >= _electionDeadline)
        {
            StartBackoff();
            return;
        }

        SendVoteRequests();
    }

    private void StartBackoff()
    {
        // Binary exponential backoff capped at election.backoff.max.ms, as Kafka's candidate.
        int window = 1 << Math.Min(_candidateRetries, 16);
        long backoff = Math.Min(_config.ElectionBackoffMaxMs, (long)_config.RetryBackoffMs * (1 + _random.Next(window)));
        _backingOff = true;
        _backoffDeadline = _now + backoff;
    }

    // ---------------------------------------------------------------- BeginQuorumEpoch / EndQuorumEpoch

    private void SendBeginQuorumEpochs()
    {
        foreach (int voter in _config.Voters)
        {
            if (voter != NodeId && !_beginEpochAcked.Contains(voter) && !_inflight.ContainsKey(voter))
            {
                SendRequest(voter, new BeginQuorumEpochRequestData(NodeId, _epoch));
            }
        }
    }

    private void HandleBeginQuorumEpochRequest(RaftEnvelope envelope, BeginQuorumEpochRequestData request)
    {
        if (!_voters.Contains(request.LeaderId) || request.LeaderId != envelope.Source)
        {
            Reply(envelope, new BeginQuorumEpochResponseData(RaftErrors.InconsistentVoterSet, _leaderId, _epoch));
            return;
        }

        if (request.LeaderEpoch < _epoch)
        {
            Reply(envelope, new BeginQuorumEpochResponseData(RaftErrors.FencedLeaderEpoch, _leaderId, _epoch));
            return;
        }

        MaybeTransition(request.LeaderId, request.LeaderEpoch);
        Reply(envelope, new BeginQuorumEpochResponseData(RaftErrors.None, _leaderId, _epoch));
    }

    private void SendEndQuorumEpochs()
    {
        foreach (int voter in _config.Voters)
        {
            if (voter != NodeId && !_endEpochAcked.Contains(voter) && !_inflight.ContainsKey(voter))
            {
                SendRequest(voter, new EndQuorumEpochRequestData(NodeId, _epoch, _preferredSuccessors));
            }
        }
    }

    private void HandleEndQuorumEpochRequest(RaftEnvelope envelope, EndQuorumEpochRequestData request)
    {
        if (request.LeaderEpoch < _epoch)
        {
            Reply(envelope, new EndQuorumEpochResponseData(RaftErrors.FencedLeaderEpoch, _leaderId, _epoch));
            return;
        }

        MaybeTransition(request.LeaderId, request.LeaderEpoch);
        if (IsVoter && request.LeaderEpoch == _epoch && _leaderId == request.LeaderId && _role == RaftRole.Follower)
        {
            // The first preferred successor stands at once, the others after a growing backoff, the rest after a random election timeout.
            int position = request.PreferredSuccessors is List<int> list ? list.IndexOf(NodeId) : request.PreferredSuccessors.ToList().IndexOf(NodeId);
            long backoff = position switch
            {
                < 0 => RandomElectionTimeout(),
                0 => 0,
                _ => Math.Min(_config.ElectionBackoffMaxMs, (long)_config.RetryBackoffMs << Math.Min(position, 16)),
            };
            _fetchDeadline = Math.Min(_fetchDeadline, _now + backoff);
        }

        Reply(envelope, new EndQuorumEpochResponseData(RaftErrors.None, _leaderId, _epoch));
    }

    // ---------------------------------------------------------------- Fetch (leader side)

    private void HandleFetchRequest(RaftEnvelope envelope, FetchRequestData request)
    {
        if (request.ReplicaId != envelope.Source)
        {
            Reply(envelope, FetchError(RaftErrors.InvalidRequest));
            return;
        }

        if (_role != RaftRole.Leader)
        {
            short error = request.CurrentLeaderEpoch < _epoch ? RaftErrors.FencedLeaderEpoch : RaftErrors.NotLeaderOrFollower;
            Reply(envelope, FetchError(error));
            return;
        }

        if (request.CurrentLeaderEpoch < _epoch)
        {
            Reply(envelope, FetchError(RaftErrors.FencedLeaderEpoch));
            return;
        }

        if (request.CurrentLeaderEpoch > _epoch)
        {
            Reply(envelope, FetchError(RaftErrors.UnknownLeaderEpoch));
            return;
        }

        if (request.FetchOffset < 0)
        {
            Reply(envelope, FetchError(RaftErrors.InvalidRequest));
            return;
        }

        _parkedFetches.Remove(envelope.Source);
        int replicaId = envelope.Source;
        if (_voters.Contains(replicaId))
        {
            _beginEpochAcked.Add(replicaId);
        }

        // Below the log start: the follower must fetch the snapshot first.
        if (request.FetchOffset < _log.StartOffset)
        {
            Reply(envelope, new FetchResponseData(RaftErrors.None, NodeId, _epoch, _highWatermark, _log.StartOffset, null, _log.LatestSnapshotId, []));
            return;
        }

        // Validate the follower's position against the leader's epoch cache.
        bool atStart = request.FetchOffset == _log.StartOffset && request.LastFetchedEpoch == (_log.LatestSnapshotId?.Epoch ?? 0);
        if (!atStart)
        {
            OffsetAndEpoch? end = _log.EndOffsetForEpoch(request.LastFetchedEpoch);
            if (end is null)
            {
                if (_log.LatestSnapshotId is { } snapshot)
                {
                    Reply(envelope, new FetchResponseData(RaftErrors.None, NodeId, _epoch, _highWatermark, _log.StartOffset, null, snapshot, []));
                }
                else
                {
                    Reply(envelope, new FetchResponseData(RaftErrors.None, NodeId, _epoch, _highWatermark, _log.StartOffset, new OffsetAndEpoch(0, 0), null, []));
                }

                return;
            }

            if (end.Value.Epoch != request.LastFetchedEpoch || request.FetchOffset > end.Value.Offset)
            {
                Reply(envelope, new FetchResponseData(RaftErrors.None, NodeId, _epoch, _highWatermark, _log.StartOffset, end, null, []));
                return;
            }
        }

        // A valid position: the follower holds everything below FetchOffset.
        if (!_replicas.TryGetValue(replicaId, out ReplicaProgress? progress))
        {
            progress = new ReplicaProgress { EndOffset = -1, LastFetchMs = -1, LastCaughtUpMs = -1 };
            _replicas[replicaId] = progress;
        }

        progress.EndOffset = request.FetchOffset;
        progress.LastFetchMs = _now;
        if (request.FetchOffset >= _log.EndOffset)
        {
            progress.LastCaughtUpMs = _now;
        }

        long hwBefore = _highWatermark;
        if (_voters.Contains(replicaId))
        {
            MaybeAdvanceHighWatermark();
        }

        IReadOnlyList<RaftEntry> entries = request.FetchOffset < _log.EndOffset
            ? _log.Read(request.FetchOffset, Math.Min(request.MaxBytes, _config.FetchMaxBytes))
            : [];
        if (entries.Count == 0 && request.MaxWaitMs > 0 && _highWatermark == hwBefore)
        {
            _parkedFetches[replicaId] = (envelope, _now + request.MaxWaitMs);
            return;
        }

        Reply(envelope, new FetchResponseData(RaftErrors.None, NodeId, _epoch, _highWatermark, _log.StartOffset, null, null, entries));
    }

    // A resigned leader names no leader, so nobody keeps fetching from it.
    private FetchResponseData FetchError(short error) =>
        new(error, _role == RaftRole.Resigned ? -1 : _leaderId, _epoch, -1, _log.StartOffset, null, null, []);

    private void AppendAsLeader(IReadOnlyList<RaftEntry> entries)
    {
        _log.Append(entries);
        _logDirty = true;
        CompleteParkedFetches();
    }

    private void CompleteParkedFetches(bool expiredOnly = false)
    {
        if (_parkedFetches.Count == 0)
        {
            return;
        }

        foreach (var (replica, parked) in _parkedFetches.OrderBy(p => p.Key).ToList())
        {
            if (expiredOnly && parked.Deadline > _now)
            {
                continue;
            }

            _parkedFetches.Remove(replica);
            var request = (FetchRequestData)parked.Request.Message;
            IReadOnlyList<RaftEntry> entries = request.FetchOffset < _log.EndOffset
                ? _log.Read(request.FetchOffset, Math.Min(request.MaxBytes, _config.FetchMaxBytes))
                : [];
            Reply(parked.Request, new FetchResponseData(RaftErrors.None, NodeId, _epoch, _highWatermark, _log.StartOffset, null, null, entries));
        }
    }

    private void MaybeAdvanceHighWatermark()
    {
        var offsets = new List<long>(_config.Voters.Count);
        foreach (int voter in _config.Voters)
        {
            offsets.Add(voter == NodeId ? Math.Min(_flushedEndOffset, _log.EndOffset) : _replicas[voter].EndOffset);
        }

        offsets.Sort();
        offsets.Reverse();
        long majorityOffset = offsets[_config.Majority - 1];
        // Only entries of the leader's own epoch commit by counting (Raft §5.4.2): the HW must pass the epoch's first entry.
        if (majorityOffset > _epochStartOffset && majorityOffset > _highWatermark)
        {
            _highWatermark = majorityOffset;
            _events.Add(new HighWatermarkAdvanced(_highWatermark));
            CompleteParkedFetches();
        }
    }

    private void PollLeader()
    {
        // Check quorum: a leader that has not heard from a majority within 1.5 fetch timeouts resigns.
        long checkQuorumMs = _config.FetchTimeoutMs * 3L / 2;
        if (_now - _leaderSince >= checkQuorumMs)
        {
            int recent = 1;
            foreach (int voter in _config.Voters)
            {
                if (voter != NodeId && _replicas[voter].LastFetchMs >= 0 && _now - _replicas[voter].LastFetchMs < checkQuorumMs)
                {
                    recent++;
                }
            }

            if (recent < _config.Majority)
            {
                TransitionToResigned();
                return;
            }
        }

        CompleteParkedFetches(expiredOnly: true);
        SendBeginQuorumEpochs();
    }

    // ---------------------------------------------------------------- Fetch (follower side)

    private void MaybeSendFetch()
    {
        if (_now < _nextFetchAt)
        {
            return;
        }

        int target;
        if (_role == RaftRole.Follower)
        {
            target = _leaderId;
        }
        else if (!IsVoter && _role == RaftRole.Unattached)
        {
            // An observer without a leader asks the voters in turn.
            if (_inflight.Count > 0)
            {
                return;
            }

            target = _config.Voters[_bootstrapIndex % _config.Voters.Count];
        }
        else
        {
            return;
        }

        if (_inflight.ContainsKey(target))
        {
            return;
        }

        if (_snapshotFetch is { } download)
        {
            SendRequest(target, new FetchSnapshotRequestData(NodeId, _epoch, download.Id, download.Buffer.WrittenCount, _config.SnapshotChunkBytes));
        }
        else
        {
            _fetchPosition = new OffsetAndEpoch(_log.EndOffset, _log.LastFetchedEpoch);
            SendRequest(target, new FetchRequestData(NodeId, _epoch, _log.EndOffset, _log.LastFetchedEpoch, _config.FetchMaxWaitMs, _config.FetchMaxBytes));
        }
    }

    private void HandleFetchResponse(RaftEnvelope envelope, FetchResponseData response)
    {
        if (!MatchInflight(envelope))
        {
            return;
        }

        if (response.ErrorCode != RaftErrors.None)
        {
            if (!MaybeTransition(response.LeaderId, response.LeaderEpoch))
            {
                _nextFetchAt = _now + _config.RetryBackoffMs;
                if (_role == RaftRole.Unattached)
                {
                    _bootstrapIndex = _random.Next(_config.Voters.Count);
                }
            }

            return;
        }

        MaybeTransition(envelope.Source, response.LeaderEpoch);
        if (_role != RaftRole.Follower || _leaderId != envelope.Source || response.LeaderEpoch != _epoch)
        {
            return;
        }

        _fetchDeadline = _now + FetchTimeout();
        _nextFetchAt = _now;
        if (_log.EndOffset != _fetchPosition.Offset || _log.LastFetchedEpoch != _fetchPosition.Epoch)
        {
            // The log moved since this fetch was sent: what the leader validated no longer describes it.
            MaybeSendFetch();
            return;
        }

        if (response.DivergingEpoch is { } diverging)
        {
            OffsetAndEpoch? local = _log.EndOffsetForEpoch(diverging.Epoch);
            long target = local is { } l ? Math.Min(l.Offset, diverging.Offset) : _log.StartOffset;
            target = Math.Min(target, _log.EndOffset);
            TruncateAsFollower(target);
        }
        else if (response.SnapshotId is { } snapshot)
        {
            if (snapshot.EndOffset <= _highWatermark)
            {
                throw new InvalidOperationException($"Node {NodeId}: leader offered snapshot {snapshot} at or below the high watermark {_highWatermark}.");
            }

            _snapshotFetch = (snapshot, new ArrayBufferWriter<byte>());
        }
        else
        {
            if (response.Entries.Count > 0)
            {
                _log.Append(response.Entries);
                _logDirty = true;
            }

            UpdateFollowerHighWatermark(response.HighWatermark);
        }

        MaybeSendFetch();
    }

    private void TruncateAsFollower(long offset)
    {
        if (offset < _highWatermark)
        {
            throw new InvalidOperationException($"Node {NodeId}: truncation to {offset} is below the high watermark {_highWatermark} (committed entries would be lost).");
        }

        if (offset < _log.EndOffset)
        {
            _log.TruncateTo(offset);
            _logDirty = true;
            _flushedEndOffset = Math.Min(_flushedEndOffset, offset);
            _events.Add(new LogTruncated(offset));
        }
    }

    private void UpdateFollowerHighWatermark(long leaderHighWatermark)
    {
        long hw = Math.Min(leaderHighWatermark, _log.EndOffset);
        if (hw > _highWatermark)
        {
            _highWatermark = hw;
            _events.Add(new HighWatermarkAdvanced(hw));
        }
    }

    // ---------------------------------------------------------------- FetchSnapshot

    private void HandleFetchSnapshotRequest(RaftEnvelope envelope, FetchSnapshotRequestData request)
    {
        if (_role != RaftRole.Leader || request.CurrentLeaderEpoch != _epoch)
        {
            short error = _role != RaftRole.Leader ? RaftErrors.NotLeaderOrFollower
                : request.CurrentLeaderEpoch < _epoch ? RaftErrors.FencedLeaderEpoch : RaftErrors.UnknownLeaderEpoch;
            Reply(envelope, new FetchSnapshotResponseData(error, _leaderId, _epoch, request.SnapshotId, -1, -1, ReadOnlyMemory<byte>.Empty));
            return;
        }

        int max = Math.Min(Math.Max(request.MaxBytes, 1), _config.SnapshotChunkBytes);
        if (!_log.TryReadSnapshot(request.SnapshotId, request.Position, max, out ReadOnlyMemory<byte> chunk, out long size))
        {
            short error = size < 0 ? RaftErrors.SnapshotNotFound : RaftErrors.PositionOutOfRange;
            Reply(envelope, new FetchSnapshotResponseData(error, NodeId, _epoch, request.SnapshotId, size, request.Position, ReadOnlyMemory<byte>.Empty));
            return;
        }

        if (_replicas.TryGetValue(envelope.Source, out ReplicaProgress? progress))
        {
            progress.LastFetchMs = _now;
        }

        Reply(envelope, new FetchSnapshotResponseData(RaftErrors.None, NodeId, _epoch, request.SnapshotId, size, request.Position, chunk));
    }

    private void HandleFetchSnapshotResponse(RaftEnvelope envelope, FetchSnapshotResponseData response)
    {
        if (!MatchInflight(envelope))
        {
            return;
        }

        if (response.ErrorCode != RaftErrors.None)
        {
            if (!MaybeTransition(response.LeaderId, response.LeaderEpoch))
            {
                // The snapshot is gone (a newer one replaced it): fetch again to learn the new id.
                _snapshotFetch = null;
                _nextFetchAt = _now + _config.RetryBackoffMs;
            }

            return;
        }

        if (_role != RaftRole.Follower || _leaderId != envelope.Source || response.LeaderEpoch != _epoch ||
            _snapshotFetch is not { } download || download.Id != response.SnapshotId || download.Buffer.WrittenCount != response.Position)
        {
            return;
        }

        _fetchDeadline = _now + FetchTimeout();
        download.Buffer.Write(response.Bytes.Span);
        if (download.Buffer.WrittenCount >= response.Size)
        {
            _log.InstallSnapshot(download.Id, download.Buffer.WrittenMemory);
            _snapshotFetch = null;
            _flushedEndOffset = _log.EndOffset;
            _events.Add(new SnapshotInstalled(download.Id));
            if (download.Id.EndOffset > _highWatermark)
            {
                _highWatermark = download.Id.EndOffset;
                _events.Add(new HighWatermarkAdvanced(_highWatermark));
            }
        }

        _nextFetchAt = _now;
        MaybeSendFetch();
    }

    // ---------------------------------------------------------------- plumbing

    private void Enter(long nowMs)
    {
        if (_readyOutstanding)
        {
            throw new InvalidOperationException("Advance the taken Ready before feeding the core again.");
        }

        if (nowMs > _now)
        {
            _now = nowMs;
        }
    }

    private void ExpireInflight()
    {
        if (_inflight.Count == 0)
        {
            return;
        }

        foreach (var (destination, inflight) in _inflight.ToList())
        {
            if (_now >= inflight.Deadline)
            {
                _inflight.Remove(destination);
                if (!IsVoter && _role == RaftRole.Unattached)
                {
                    _bootstrapIndex++;
                }
            }
        }
    }

    private bool MatchInflight(RaftEnvelope response)
    {
        if (_inflight.TryGetValue(response.Source, out var inflight) && inflight.CorrelationId == response.CorrelationId)
        {
            _inflight.Remove(response.Source);
            return true;
        }

        return false;
    }

    private void SendRequest(int destination, RaftMessage request)
    {
        long correlationId = _nextCorrelationId++;
        _inflight[destination] = (correlationId, _now + _config.RequestTimeoutMs);
        _messages.Add(new RaftEnvelope(NodeId, destination, correlationId, request));
    }

    private void Reply(RaftEnvelope request, RaftMessage response) =>
        _messages.Add(new RaftEnvelope(NodeId, request.Source, request.CorrelationId, response));

    private long RandomElectionTimeout() => _config.ElectionTimeoutMs + _random.Next(_config.ElectionTimeoutMs);

    /// <summary>
    /// The follower's fetch timeout, drawn anew each time the timer restarts: a voter's from
    /// (FetchTimeoutMs − FetchTimeoutJitterMs, FetchTimeoutMs], so followers whose timers a leader's
    /// last append restarted together do not stand at the same instant and split the vote.
    /// Observers never stand: theirs is fixed.
    /// </summary>
    private long FetchTimeout() => _config.FetchTimeoutJitterMs > 0 && IsVoter
        ? _config.FetchTimeoutMs - _random.Next(_config.FetchTimeoutJitterMs)
        : _config.FetchTimeoutMs;

    private sealed class ReplicaProgress
    {
        public long EndOffset { get; set; }

        public long LastFetchMs { get; set; }

        public long LastCaughtUpMs { get; set; }
    }
}
