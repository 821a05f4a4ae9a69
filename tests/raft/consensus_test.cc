#include "raft/consensus.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/raft/test_network.h"

namespace rkv::raft {
namespace {

namespace pb = rkv::internal;
using testing::TestNetwork;

int CountMessages(const std::vector<Message>& ms, MessageType type, NodeId from, NodeId to) {
  return static_cast<int>(std::count_if(ms.begin(), ms.end(), [&](const Message& m) {
    return m.type() == type && (from == kNoNode || m.from() == from) && (to == kNoNode || m.to() == to);
  }));
}

ConfChange Change(std::vector<std::pair<pb::ConfChangeType, NodeId>> changes,
                  pb::ConfChangeTransition transition = pb::CONF_TRANSITION_AUTO) {
  ConfChange cc;
  cc.set_transition(transition);
  for (auto [type, id] : changes) {
    ConfChangeSingle* c = cc.add_changes();
    c->set_type(type);
    c->set_node_id(id);
  }
  return cc;
}

// ---------------------------------------------------------------------------
// Elections (Raft paper §5.2)

TEST(ElectionTest, CandidateWithMajorityBecomesLeader) {
  TestNetwork net(TestNetwork::Ids(3));
  net.Elect(1);
  EXPECT_EQ(net.Leaders(), std::vector<NodeId>{1});
  for (NodeId id : net.ids()) {
    EXPECT_EQ(net.raw(id).Term(), kBootstrapTerm + 1) << "pre-vote does not spend a term";
    EXPECT_EQ(net.raw(id).Leader(), 1u);
  }
}

TEST(ElectionTest, CandidateWithoutMajorityNeverBecomesLeader) {
  TestNetwork net(TestNetwork::Ids(5), [](Config& c) { c.pre_vote = false; });
  net.Cut(1, 2);
  net.Cut(1, 3);
  net.Cut(1, 4);
  net.Elect(1);
  EXPECT_TRUE(net.Leaders().empty());
  EXPECT_EQ(net.raw(1).GetStatus().soft_state.role, Role::kCandidate);
}

// Randomized election timeouts (Raft paper §5.2) elect exactly one leader
// when every node just ticks.
// Raft paper §5.1: a request with a stale term is rejected with the current
// term, so its sender steps down. Here node 3's term ran ahead while it was
// cut off and its own vote requests never reach the leader (in the simulator,
// seed 15391: a stale membership left the leader out of its voters), and the
// leader needs node 3 for a quorum. Without the reply, with neither pre-vote
// nor check-quorum, the leader kept its old term for ever and nothing
// committed again.
TEST(ElectionTest, StaleLeaderLearnsTheHigherTermFromTheReplyToItsHeartbeat) {
  TestNetwork net(TestNetwork::Ids(3), [](Config& c) {
    c.pre_vote = false;
    c.check_quorum = false;
  });
  net.Elect(1);
  ASSERT_TRUE(net.raw(1).IsLeader());
  net.Isolate(3);
  net.Tick(3, 100);
  const uint64_t term3 = net.raw(3).Term();
  ASSERT_GT(term3, net.raw(1).Term());
  net.Heal();
  net.Isolate(2);
  net.SetDropFilter([](const Message& m) { return m.from() == 3 && m.type() == pb::MSG_VOTE; });
  // One heartbeat round: node 3 answers it with its term.
  net.Tick(1, 3);
  net.Stabilize();
  EXPECT_FALSE(net.raw(1).IsLeader());
  EXPECT_GE(net.raw(1).Term(), term3);
  // With the links whole again, a leader commits and node 3 follows it.
  net.Heal();
  net.Isolate(2);
  for (int i = 0; i < 20 && net.Leaders().empty(); ++i) net.TickAll(10);
  ASSERT_EQ(net.Leaders().size(), 1u);
  const NodeId leader = net.Leaders()[0];
  ASSERT_TRUE(net.Propose(leader, "after").ok());
  net.Stabilize();
  EXPECT_EQ(net.AppliedData(3), std::vector<std::string>{"after"});
}

// Raft paper, Figure 2: only a current leader's append or a granted vote
// restarts the election timer. Simulator seeds 63390 and 98284 (no pre-vote):
// candidates with shorter logs, failing in turn, kept restarting the timer of
// the only node that could win, and no leader was ever elected.
TEST(ElectionTest, RefusedCandidateDoesNotRestartTheElectionTimer) {
  TestNetwork net(TestNetwork::Ids(3), [](Config& c) {
    c.pre_vote = false;
    c.check_quorum = false;
  });
  net.Elect(1);
  net.Crash(3);
  net.Cut(1, 2);
  ASSERT_TRUE(net.Propose(1, "only on 1").ok());
  net.Crash(1);  // it restarts a follower whose log is longer than 2's
  net.Start(1);
  net.Heal();
  net.Tick(1, 9);  // just short of the shortest election timeout, 10 ticks
  net.raw(2).Campaign();
  net.Stabilize();
  ASSERT_TRUE(net.Leaders().empty()) << "1 refuses 2's shorter log and 3 is down";
  net.Tick(1, 10);  // 19 ticks without a leader: past every timeout in [10, 20)
  EXPECT_EQ(net.Leaders(), std::vector<NodeId>{1});
}

TEST(ElectionTest, TicksAloneElectExactlyOneLeader) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    TestNetwork net(TestNetwork::Ids(5), [seed](Config& c) { c.seed = seed; });
    for (int i = 0; i < 100 && net.Leaders().empty(); ++i) net.TickAll(1);
    ASSERT_EQ(net.Leaders().size(), 1u) << "seed " << seed;
  }
}

// Raft paper §5.2 and §5.4.1: a vote is granted once per term, and only to a
// candidate whose log is at least as up to date.
TEST(ElectionTest, VoteGrantedOncePerTermAndOnlyToUpToDateLogs) {
  struct Case {
    uint64_t last_index, last_term;
    NodeId prior_vote;
    bool want_granted;
  };
  // The voter's log: 1/1 2/2 2/3.
  const std::vector<Case> cases = {
      {3, 2, kNoNode, true},  {4, 2, kNoNode, true}, {2, 2, kNoNode, false},
      {9, 1, kNoNode, false}, {1, 3, kNoNode, true}, {3, 2, 3, false},
      {3, 2, 2, true},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    MemoryLog log;
    ConfState cs;
    for (NodeId id : {1, 2, 3}) cs.add_voters(id);
    log.SetConfState(cs);
    std::vector<Entry> entries(3);
    for (int k = 0; k < 3; ++k) {
      entries[k].set_index(k + 1);
      entries[k].set_term(k == 0 ? 1 : 2);
    }
    log.Append(entries);
    HardState hs;
    hs.set_term(5);
    hs.set_vote(c.prior_vote);
    log.SetHardState(hs);
    Config config;
    config.id = 1;
    config.pre_vote = false;
    auto node = RawNode::Create(config, &log);
    ASSERT_TRUE(node.ok());
    Message m;
    m.set_type(pb::MSG_VOTE);
    m.set_from(2);
    m.set_to(1);
    m.set_term(5);
    m.set_index(c.last_index);
    m.set_log_term(c.last_term);
    ASSERT_TRUE((*node)->Step(m).ok());
    Ready ready = (*node)->TakeReady();
    ASSERT_EQ(ready.messages.size(), 1u) << "case " << i;
    EXPECT_EQ(!ready.messages[0].reject(), c.want_granted) << "case " << i;
    if (c.want_granted && c.prior_vote == kNoNode) {
      ASSERT_TRUE(ready.hard_state.has_value()) << "the vote is persisted before the reply";
      EXPECT_EQ(ready.hard_state->vote(), 2u);
      EXPECT_TRUE(ready.MustSync());
    }
  }
}

// ---------------------------------------------------------------------------
// Pre-vote and check-quorum (thesis §9.6, §6.2, §4.2.3)

// A node cut off from the cluster campaigns as a pre-candidate forever without
// raising its term, and on rejoining it does not depose the leader.
TEST(PreVoteTest, RejoiningIsolatedNodeDoesNotRaiseTermsOrDisruptTheLeader) {
  TestNetwork net(TestNetwork::Ids(3));
  net.Elect(1);
  const uint64_t term = net.raw(1).Term();
  net.Isolate(3);
  net.Tick(3, 100);
  EXPECT_EQ(net.raw(3).Term(), term);
  EXPECT_EQ(net.raw(3).GetStatus().soft_state.role, Role::kPreCandidate);
  net.Heal();
  net.TickAll(30);
  EXPECT_EQ(net.Leaders(), std::vector<NodeId>{1});
  for (NodeId id : net.ids()) EXPECT_EQ(net.raw(id).Term(), term) << "node " << id;
}

// Without pre-vote the same isolation inflates the term, and the rejoining
// node forces a new election: the behaviour pre-vote exists to prevent.
TEST(PreVoteTest, WithoutPreVoteTheRejoiningNodeForcesAnElection) {
  TestNetwork net(TestNetwork::Ids(3), [](Config& c) { c.pre_vote = false; });
  net.Elect(1);
  net.Isolate(3);
  net.Tick(3, 100);
  EXPECT_GT(net.raw(3).Term(), kBootstrapTerm + 2);
  net.Heal();
  net.TickAll(30);
  EXPECT_GT(net.raw(1).Term(), kBootstrapTerm + 2) << "the leader learned the inflated term";
}

TEST(CheckQuorumTest, IsolatedLeaderStepsDownAfterAnElectionTimeout) {
  TestNetwork net(TestNetwork::Ids(3));
  net.Elect(1);
  net.Isolate(1);
  // Within two election timeouts: the first check only clears the activity
  // heard before the cut.
  net.Tick(1, 20);
  EXPECT_NE(net.raw(1).GetStatus().soft_state.role, Role::kLeader);
  EXPECT_EQ(net.raw(1).Propose("x").code(), absl::StatusCode::kUnavailable);
}

// While followers hear from a leader they ignore vote requests (leader lease),
// so a node with a higher term cannot win while the leader is healthy.
TEST(CheckQuorumTest, FollowersInLeaseIgnoreVoteRequests) {
  TestNetwork net(TestNetwork::Ids(3), [](Config& c) { c.pre_vote = false; });
  net.Elect(1);
  Message vote;
  vote.set_type(pb::MSG_VOTE);
  vote.set_from(3);
  vote.set_to(2);
  vote.set_term(net.raw(2).Term() + 1);
  vote.set_index(100);
  vote.set_log_term(100);
  ASSERT_TRUE(net.raw(2).Step(vote).ok());
  EXPECT_EQ(net.raw(2).Term(), kBootstrapTerm + 1);
  EXPECT_EQ(net.raw(2).Leader(), 1u);
}

Message VoteRequest(NodeId from, NodeId to, uint64_t term) {
  Message vote;
  vote.set_type(pb::MSG_VOTE);
  vote.set_from(from);
  vote.set_to(to);
  vote.set_term(term);
  vote.set_index(100);
  vote.set_log_term(100);
  return vote;
}

// A restart forgets the leader a follower heard, and with it the promise to
// ignore rivals for an election timeout; without the option, the restarted
// node takes part in a rival's election at once.
TEST(CheckQuorumTest, RestartedNodeVotesAtOnceUnlessItIgnoresVotesAtStart) {
  for (bool ignore : {false, true}) {
    SCOPED_TRACE(ignore ? "ignore_votes_at_start" : "default");
    TestNetwork net(TestNetwork::Ids(3), [ignore](Config& c) {
      c.pre_vote = false;
      c.ignore_votes_at_start = ignore;
    });
    // Nodes that just started ignore votes too; let the option's window pass.
    net.TickAll(10);
    net.Elect(1);
    ASSERT_EQ(net.Leaders(), std::vector<NodeId>{1});
    net.Crash(2);
    net.Start(2);
    net.Isolate(2);
    const uint64_t term = net.raw(2).Term() + 10;
    ASSERT_TRUE(net.raw(2).Step(VoteRequest(3, 2, term)).ok());
    if (!ignore) {
      EXPECT_EQ(net.raw(2).Term(), term);
      continue;
    }
    EXPECT_LT(net.raw(2).Term(), term) << "ignored right after the start";
    net.Tick(2, 9);
    ASSERT_TRUE(net.raw(2).Step(VoteRequest(3, 2, term)).ok());
    EXPECT_LT(net.raw(2).Term(), term) << "ignored through tick 9";
    net.Tick(2, 1);
    ASSERT_TRUE(net.raw(2).Step(VoteRequest(3, 2, term)).ok());
    EXPECT_EQ(net.raw(2).Term(), term) << "heard after an election timeout";
  }
}

// ---------------------------------------------------------------------------
// Log replication (Raft paper §5.3)

TEST(ReplicationTest, ProposalsApplyInOrderOnEveryNode) {
  TestNetwork net(TestNetwork::Ids(3));
  net.Elect(1);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(net.Propose(1, absl::StrCat("v", i)).ok());
  net.TickAll(2);
  for (NodeId id : net.ids()) {
    std::vector<std::string> want;
    for (int i = 0; i < 10; ++i) want.push_back(absl::StrCat("v", i));
    EXPECT_EQ(net.AppliedData(id), want) << "node " << id;
  }
}

TEST(ReplicationTest, FollowerRefusesProposalsNamingTheLeader) {
  TestNetwork net(TestNetwork::Ids(3));
  net.Elect(1);
  absl::Status s = net.raw(2).Propose("x");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("the leader is node 1"), std::string::npos) << s;
}

// DESIGN §2 batching: one ProposeBatch becomes one append per follower.
TEST(ReplicationTest, ABatchOfProposalsTravelsInOneAppendPerFollower) {
  TestNetwork net(TestNetwork::Ids(3));
  net.Elect(1);
  net.delivered().clear();
  std::vector<std::string> batch(100, "payload");
  ASSERT_TRUE(net.raw(1).ProposeBatch(batch).ok());
  net.HandleReady(1);
  EXPECT_EQ(CountMessages({net.queue().begin(), net.queue().end()}, pb::MSG_APPEND, 1, kNoNode), 2);
  for (const Message& m : net.queue()) EXPECT_EQ(m.entries_size(), 100);
  net.Stabilize();
  EXPECT_EQ(net.AppliedData(3).size(), 100u);
}

// Pipelining: in replicate state the leader streams appends without waiting,
// up to max_inflight_msgs, then pauses until acknowledgements free the window.
TEST(ReplicationTest, PipelineIsBoundedByTheInflightWindow) {
  TestNetwork net(TestNetwork::Ids(2), [](Config& c) { c.max_inflight_msgs = 3; });
  net.Elect(1);
  net.SetDropFilter([](const Message& m) { return m.type() == pb::MSG_APPEND_RESPONSE; });
  net.delivered().clear();
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(net.Propose(1, "x").ok());
  EXPECT_EQ(CountMessages(net.delivered(), pb::MSG_APPEND, 1, 2), 3);
  net.Heal();
  net.TickAll(3);
  EXPECT_EQ(net.AppliedData(2).size(), 6u) << "a heartbeat round reveals the loss and recovers";
}

// Fast back-off (Raft paper §5.3): a follower with a long conflicting suffix is
// repaired in a number of round trips bounded by terms, not entries.
TEST(ReplicationTest, ConflictingSuffixIsRepairedInFewRoundTrips) {
  TestNetwork net(TestNetwork::Ids(3));
  // Entries 2..count+1 of one term after the bootstrap snapshot at 1/1.
  auto preset = [&net](NodeId id, uint64_t term, int count, uint64_t hard_term) {
    std::vector<Entry> entries;
    for (int i = 0; i < count; ++i) {
      Entry e;
      e.set_index(kBootstrapIndex + 1 + i);
      e.set_term(term);
      entries.push_back(e);
    }
    net.log(id).Append(entries);
    HardState hs;
    hs.set_term(hard_term);
    hs.set_commit(kBootstrapIndex);
    net.log(id).SetHardState(hs);
    net.Crash(id);
    net.Start(id);
  };
  preset(1, 3, 10, 3);
  preset(2, 2, 50, 3);
  preset(3, 3, 10, 3);
  net.Elect(1);
  net.TickAll(3);
  int rejections = 0;
  for (const Message& m : net.delivered()) {
    if (m.type() == pb::MSG_APPEND_RESPONSE && m.from() == 2 && m.reject()) ++rejections;
  }
  EXPECT_LE(rejections, 3);
  EXPECT_EQ(net.log(2).LastIndex(), net.log(1).LastIndex());
  EXPECT_EQ(*net.log(2).Term(11), 3u);
}

// Raft paper §5.4.2, Figure 8: a leader never commits an entry of an earlier
// term by counting replicas, even when a majority stores it; it commits it
// only together with an entry of its own term.
TEST(ReplicationTest, Figure8OldTermEntryCommitsOnlyWithCurrentTermEntry) {
  MemoryLog log;
  ConfState cs;
  for (NodeId id : {1, 2, 3, 4, 5}) cs.add_voters(id);
  log.SetConfState(cs);
  std::vector<Entry> entries(2);
  entries[0].set_index(1);
  entries[0].set_term(1);
  entries[1].set_index(2);
  entries[1].set_term(2);
  log.Append(entries);
  HardState hs;
  hs.set_term(3);
  hs.set_commit(1);
  log.SetHardState(hs);
  Config config;
  config.id = 1;
  config.pre_vote = false;
  auto node = std::move(*RawNode::Create(config, &log));

  auto persist = [&] {
    Ready r = node->TakeReady();
    if (r.hard_state) log.SetHardState(*r.hard_state);
    log.Append(r.entries);
    node->Advance();
  };
  auto step = [&](MessageType type, NodeId from, uint64_t index) {
    Message m;
    m.set_type(type);
    m.set_from(from);
    m.set_to(1);
    m.set_term(4);
    m.set_index(index);
    ASSERT_TRUE(node->Step(m).ok());
  };
  node->Campaign();
  persist();
  step(pb::MSG_VOTE_RESPONSE, 2, 0);
  step(pb::MSG_VOTE_RESPONSE, 3, 0);
  ASSERT_TRUE(node->IsLeader());
  persist();  // The leader's no-op 4/3 is now durable.
  // Followers 2 and 3 store the term-2 entry at index 2: a majority holds it.
  step(pb::MSG_APPEND_RESPONSE, 2, 2);
  step(pb::MSG_APPEND_RESPONSE, 3, 2);
  EXPECT_EQ(node->GetStatus().hard_state.commit(), 1u) << "Figure 8 (c): must not commit 2/2";
  // Once a majority also stores the leader's own entry, both commit.
  step(pb::MSG_APPEND_RESPONSE, 2, 3);
  step(pb::MSG_APPEND_RESPONSE, 3, 3);
  EXPECT_EQ(node->GetStatus().hard_state.commit(), 3u);
}

// The leader counts itself for commit only after persisting: a single-node
// cluster commits at Advance, never inside Propose.
TEST(ReplicationTest, LeaderCountsItselfOnlyAfterPersisting) {
  TestNetwork net(TestNetwork::Ids(1));
  net.Elect(1);
  const uint64_t commit = net.raw(1).GetStatus().hard_state.commit();
  ASSERT_TRUE(net.raw(1).Propose("x").ok());
  EXPECT_EQ(net.raw(1).GetStatus().hard_state.commit(), commit);
  net.Stabilize();
  EXPECT_EQ(net.raw(1).GetStatus().hard_state.commit(), commit + 1);
  EXPECT_EQ(net.AppliedData(1), std::vector<std::string>{"x"});
}

// raft/ready.h lets a leader send its appends before its own synced write
// (rkvd does). A follower's acknowledgement alone is then not a quorum of
// durable copies: the entry commits only once the leader's Advance reports
// its own copy persisted.
TEST(ReplicationTest, AppendsSentBeforeTheLeaderPersistsCommitOnlyAfterItDoes) {
  TestNetwork net(TestNetwork::Ids(3));
  net.Elect(1);
  net.Cut(1, 3);
  const uint64_t commit = net.raw(1).GetStatus().hard_state.commit();
  ASSERT_TRUE(net.raw(1).Propose("x").ok());
  Ready ready = net.raw(1).TakeReady();
  ASSERT_EQ(ready.entries.size(), 1u);
  for (const Message& m : ready.messages) {
    if (m.to() == 2 && m.type() == pb::MSG_APPEND) {
      ASSERT_TRUE(net.raw(2).Step(m).ok());
    }
  }
  net.HandleReady(2);
  ASSERT_EQ(net.queue().size(), 1u);
  const Message ack = net.queue().front();
  net.queue().clear();
  ASSERT_EQ(ack.type(), pb::MSG_APPEND_RESPONSE);
  ASSERT_TRUE(net.raw(1).Step(ack).ok());
  EXPECT_EQ(net.raw(1).GetStatus().hard_state.commit(), commit) << "committed on one durable copy";

  net.log(1).Append(ready.entries);
  net.raw(1).Advance();
  EXPECT_EQ(net.raw(1).GetStatus().hard_state.commit(), commit + 1);
}

// A crash loses what the Ready did not persist; the rest of the cluster
// carries on and the node catches up after restarting.
TEST(ReplicationTest, CrashedNodeLosesOnlyUnpersistedStateAndCatchesUp) {
  TestNetwork net(TestNetwork::Ids(3));
  net.Elect(1);
  ASSERT_TRUE(net.Propose(1, "a").ok());
  ASSERT_TRUE(net.raw(1).Propose("lost").ok());  // Never persisted.
  net.Crash(1);
  net.TickAll(40);
  ASSERT_EQ(net.Leaders().size(), 1u);
  const NodeId leader = net.Leaders()[0];
  ASSERT_TRUE(net.Propose(leader, "b").ok());
  net.Start(1);
  net.TickAll(5);
  EXPECT_EQ(net.AppliedData(1), (std::vector<std::string>{"a", "b"}));
}

// Duplicated, reordered and stale messages change nothing (Raft's messages
// are idempotent by term and index).
TEST(ReplicationTest, ReplayedAndReorderedMessagesAreHarmless) {
  TestNetwork net(TestNetwork::Ids(3));
  net.Elect(1);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(net.Propose(1, absl::StrCat("v", i)).ok());
  std::vector<Message> old = net.delivered();
  std::mt19937_64 rng(7);
  std::shuffle(old.begin(), old.end(), rng);
  for (const Message& m : old) (void)net.raw(m.to()).Step(m);
  net.Stabilize();
  for (int i = 5; i < 8; ++i) ASSERT_TRUE(net.Propose(1, absl::StrCat("v", i)).ok());
  net.TickAll(2);
  EXPECT_EQ(net.Leaders(), std::vector<NodeId>{1});
  for (NodeId id : net.ids()) EXPECT_EQ(net.AppliedData(id).size(), 8u) << "node " << id;
}

TEST(ReplicationTest, MalformedMessagesAreRejectedWithInvalidArgument) {
  TestNetwork net(TestNetwork::Ids(3));
  net.Elect(1);
  auto base = [] {
    Message m;
    m.set_type(pb::MSG_APPEND);
    m.set_from(1);
    m.set_to(2);
    m.set_term(1);
    m.set_index(1);
    m.set_log_term(1);
    return m;
  };
  std::vector<std::pair<std::string, Message>> cases;
  Message wrong_node = base();
  wrong_node.set_to(3);
  cases.emplace_back("addressed to another node", wrong_node);
  Message no_term = base();
  no_term.set_term(0);
  cases.emplace_back("no term", no_term);
  Message gap = base();
  gap.add_entries()->set_index(5);
  gap.mutable_entries(0)->set_term(1);
  cases.emplace_back("entry index gap", gap);
  Message future = base();
  future.add_entries()->set_index(2);
  future.mutable_entries(0)->set_term(9);
  cases.emplace_back("entry term past message term", future);
  Message local = base();
  local.set_type(static_cast<MessageType>(10));
  cases.emplace_back("local message type", local);
  Message from_self = base();
  from_self.set_from(2);
  cases.emplace_back("from itself", from_self);
  for (auto& [name, m] : cases) {
    EXPECT_EQ(net.raw(2).Step(m).code(), absl::StatusCode::kInvalidArgument) << name;
  }
  EXPECT_EQ(net.log(2).LastIndex(), net.log(1).LastIndex()) << "nothing was appended";
}

// ---------------------------------------------------------------------------
// Snapshots and compaction (Raft paper §7)

TEST(SnapshotTest, FollowerBehindTheFirstIndexInstallsASnapshot) {
  TestNetwork net(TestNetwork::Ids(3));
  net.Elect(1);
  net.Isolate(3);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(net.Propose(1, absl::StrCat("v", i)).ok());
  const uint64_t applied = net.node(1).applied_index;
  ConfState cs = net.raw(1).GetStatus().conf_state;
  ASSERT_TRUE(net.log(1).CreateSnapshot(applied, cs, "state").ok());
  ASSERT_TRUE(net.log(1).Compact(applied).ok());
  net.Heal();
  net.TickAll(3);
  EXPECT_TRUE(std::any_of(net.delivered().begin(), net.delivered().end(),
                          [](const Message& m) { return m.type() == pb::MSG_SNAPSHOT && m.to() == 3; }));
  EXPECT_EQ(net.log(3).FirstIndex(), applied + 1);
  EXPECT_EQ(net.log(3).GetSnapshot()->data(), "state");
  ASSERT_TRUE(net.Propose(1, "after").ok());
  net.TickAll(1);
  EXPECT_EQ(net.AppliedData(3), std::vector<std::string>{"after"});
  EXPECT_EQ(net.raw(1).GetStatus().peers.at(3).state, "replicate");
}

// ---------------------------------------------------------------------------
// Linearizable reads (thesis §6.4)

TEST(ReadIndexTest, LeaderServesReadAfterAQuorumConfirmsLeadership) {
  TestNetwork net(TestNetwork::Ids(3));
  net.Elect(1);
  ASSERT_TRUE(net.Propose(1, "x").ok());
  net.raw(1).ReadIndex("r1");
  net.Stabilize();
  ASSERT_EQ(net.node(1).read_states.size(), 1u);
  EXPECT_EQ(net.node(1).read_states[0].request_context, "r1");
  EXPECT_EQ(net.node(1).read_states[0].index, net.raw(1).GetStatus().hard_state.commit());
}

// A leader cut off from the quorum never answers a read (it could be stale).
TEST(ReadIndexTest, PartitionedLeaderNeverServesARead) {
  TestNetwork net(TestNetwork::Ids(3));
  net.Elect(1);
  net.Isolate(1);
  net.raw(1).ReadIndex("r1");
  net.Stabilize();
  EXPECT_TRUE(net.node(1).read_states.empty());
  net.Tick(1, 12);
  EXPECT_TRUE(net.node(1).read_states.empty());
}

// The follower's ReadIndex request as it would reach the leader.
Message TakeReadIndexRequest(TestNetwork& net, NodeId follower, const std::string& context) {
  net.raw(follower).ReadIndex(context);
  net.HandleReady(follower);
  if (net.queue().size() != 1) {
    ADD_FAILURE() << "node " << follower << " sent " << net.queue().size() << " messages";
    return Message();
  }
  Message m = net.queue().front();
  net.queue().clear();
  EXPECT_EQ(m.type(), pb::MSG_READ_INDEX);
  return m;
}

// Thesis §6.4 step 1: a new leader first commits an entry of its own term,
// since its commit index may be stale until then. This holds for a
// follower's read stepped under the leader's lease too: the leader holds it,
// and answers it with a round once the entry commits.
TEST(ReadIndexTest, NewLeaderAnswersOnlyAfterCommittingInItsTerm) {
  TestNetwork net(TestNetwork::Ids(3));
  net.SetDropFilter([](const Message& m) { return m.type() == pb::MSG_APPEND && m.from() == 1; });
  net.Elect(1);
  ASSERT_TRUE(net.raw(1).IsLeader());
  // Node 2 learns its leader from a heartbeat.
  net.Tick(1, 1);
  net.raw(1).ReadIndex("r1");
  ASSERT_TRUE(net.raw(1).StepReadIndexUnderLease(TakeReadIndexRequest(net, 2, "f1")).ok());
  net.Stabilize();
  EXPECT_TRUE(net.node(1).read_states.empty());
  EXPECT_TRUE(net.node(2).read_states.empty());
  net.Heal();
  net.TickAll(2);
  ASSERT_EQ(net.node(1).read_states.size(), 1u);
  EXPECT_GE(net.node(1).read_states[0].index, 1u);
  ASSERT_EQ(net.node(2).read_states.size(), 1u);
  EXPECT_GE(net.node(2).read_states[0].index, 1u);
}

TEST(ReadIndexTest, FollowerReadIsForwardedToTheLeader) {
  TestNetwork net(TestNetwork::Ids(3));
  net.Elect(1);
  ASSERT_TRUE(net.Propose(1, "x").ok());
  net.raw(2).ReadIndex("f1");
  net.Stabilize();
  ASSERT_EQ(net.node(2).read_states.size(), 1u);
  EXPECT_EQ(net.node(2).read_states[0].index, net.raw(1).GetStatus().hard_state.commit());
}

// A leader whose own acknowledgement is a quorum answers at once, also in a
// joint configuration of itself alone (found by the simulator, seed 2117: a
// joint change that removed the only learner left reads waiting for ever for
// heartbeat replies nobody would send).
TEST(ReadIndexTest, LeaderThatIsItsOwnQuorumAnswersInAJointConfiguration) {
  TestNetwork net({1});
  net.Elect(1);
  ASSERT_TRUE(net.raw(1).IsLeader());
  net.AddNode(2, ConfState());
  ASSERT_TRUE(net.raw(1).ProposeConfChange(Change({{pb::CONF_CHANGE_ADD_LEARNER, 2}})).ok());
  net.Stabilize();
  ASSERT_TRUE(net.raw(1)
                  .ProposeConfChange(Change({{pb::CONF_CHANGE_REMOVE_NODE, 2}},
                                            pb::CONF_TRANSITION_JOINT_EXPLICIT))
                  .ok());
  net.Stabilize();
  net.Isolate(2);
  ASSERT_FALSE(net.raw(1).GetStatus().conf_state.voters_outgoing().empty());
  net.raw(1).ReadIndex("r1");
  net.Stabilize();
  ASSERT_EQ(net.node(1).read_states.size(), 1u);
  EXPECT_EQ(net.node(1).read_states[0].index, net.raw(1).GetStatus().hard_state.commit());
}

// Thesis §6.4.1: with a lease (requires check-quorum) the leader answers at
// once, without a heartbeat round.
TEST(ReadIndexTest, LeaseReadAnswersWithoutAHeartbeatRound) {
  TestNetwork net(TestNetwork::Ids(3), [](Config& c) { c.read_only = ReadOnlyOption::kLeaseBased; });
  net.Elect(1);
  net.delivered().clear();
  net.raw(1).ReadIndex("r1");
  net.Stabilize();
  EXPECT_EQ(net.node(1).read_states.size(), 1u);
  EXPECT_EQ(CountMessages(net.delivered(), pb::MSG_HEARTBEAT, 1, kNoNode), 0);
}

// A follower's read reaching a leader whose caller holds the read lease is
// answered with the commit index without a heartbeat round; without the lease
// the same request takes one.
TEST(ReadIndexTest, FollowerReadUnderTheLeadersLeaseTakesNoHeartbeatRound) {
  TestNetwork net(TestNetwork::Ids(3));
  net.Elect(1);
  ASSERT_TRUE(net.Propose(1, "x").ok());
  net.delivered().clear();
  ASSERT_TRUE(net.raw(1).StepReadIndexUnderLease(TakeReadIndexRequest(net, 2, "f1")).ok());
  net.Stabilize();
  ASSERT_EQ(net.node(2).read_states.size(), 1u);
  EXPECT_EQ(net.node(2).read_states[0].request_context, "f1");
  EXPECT_EQ(net.node(2).read_states[0].index, net.raw(1).GetStatus().hard_state.commit());
  EXPECT_EQ(CountMessages(net.delivered(), pb::MSG_HEARTBEAT, 1, kNoNode), 0);

  ASSERT_TRUE(net.raw(1).Step(TakeReadIndexRequest(net, 2, "f2")).ok());
  net.Stabilize();
  EXPECT_EQ(net.node(2).read_states.size(), 2u);
  EXPECT_GT(CountMessages(net.delivered(), pb::MSG_HEARTBEAT, 1, kNoNode), 0);
}

TEST(ReadIndexTest, OnlyAReadIndexRequestStepsUnderALease) {
  TestNetwork net(TestNetwork::Ids(3));
  net.Elect(1);
  Message m;
  m.set_type(pb::MSG_HEARTBEAT);
  m.set_from(2);
  m.set_to(1);
  m.set_term(net.raw(1).Term());
  EXPECT_EQ(net.raw(1).StepReadIndexUnderLease(m).code(), absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------
// Leader transfer (thesis §3.10)

TEST(LeaderTransferTest, CaughtUpTargetBecomesLeaderAtTheNextTerm) {
  TestNetwork net(TestNetwork::Ids(3));
  net.Elect(1);
  net.raw(1).TransferLeader(2);
  net.Stabilize();
  EXPECT_EQ(net.Leaders(), std::vector<NodeId>{2});
  EXPECT_EQ(net.raw(2).Term(), net.raw(1).Term());
  EXPECT_EQ(net.raw(2).Term(), kBootstrapTerm + 2) << "one term after the first leader's";
}

TEST(LeaderTransferTest, LaggingTargetIsCaughtUpFirst) {
  TestNetwork net(TestNetwork::Ids(3));
  net.Elect(1);
  net.Isolate(3);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(net.Propose(1, "x").ok());
  net.Heal();
  net.raw(1).TransferLeader(3);
  net.Stabilize();
  EXPECT_EQ(net.Leaders(), std::vector<NodeId>{3});
  EXPECT_EQ(net.AppliedData(3).size(), 5u);
}

// Proposals are refused during a transfer; a transfer that cannot finish is
// abandoned after an election timeout and the leader serves again.
TEST(LeaderTransferTest, RefusesProposalsAndAbortsAfterAnElectionTimeout) {
  TestNetwork net(TestNetwork::Ids(3));
  net.Elect(1);
  net.Cut(1, 3);
  net.raw(1).TransferLeader(3);
  net.Stabilize();
  EXPECT_EQ(net.raw(1).GetStatus().lead_transferee, 3u);
  EXPECT_EQ(net.raw(1).LeadTransferee(), 3u);
  EXPECT_EQ(net.raw(1).Propose("x").code(), absl::StatusCode::kUnavailable);
  net.Tick(1, 10);
  EXPECT_TRUE(net.raw(1).IsLeader());
  EXPECT_EQ(net.raw(1).GetStatus().lead_transferee, kNoNode);
  EXPECT_EQ(net.raw(1).LeadTransferee(), kNoNode);
  EXPECT_TRUE(net.raw(1).Propose("x").ok());
}

// ---------------------------------------------------------------------------
// Membership changes (thesis §4)

class MembershipTest : public ::testing::Test {
 protected:
  MembershipTest() : net_(TestNetwork::Ids(3)) { net_.Elect(1); }
  // Adds node id with an empty state, waiting to be added by the leader.
  void AddEmptyNode(NodeId id) { net_.AddNode(id, ConfState()); }
  void ProposeAndCommit(const ConfChange& cc) {
    ASSERT_TRUE(net_.raw(1).ProposeConfChange(cc).ok());
    net_.Stabilize();
    net_.TickAll(2);
  }
  std::vector<uint64_t> Voters(NodeId id) {
    auto cs = net_.raw(id).GetStatus().conf_state;
    return {cs.voters().begin(), cs.voters().end()};
  }
  TestNetwork net_;
};

// A learner receives the log but never votes, never campaigns and never
// counts toward commit.
TEST_F(MembershipTest, LearnerReplicatesButNeverVotesOrCounts) {
  AddEmptyNode(4);
  ProposeAndCommit(Change({{pb::CONF_CHANGE_ADD_LEARNER, 4}}));
  ASSERT_TRUE(net_.Propose(1, "x").ok());
  EXPECT_EQ(net_.AppliedData(4), std::vector<std::string>{"x"});
  net_.Isolate(1);
  net_.Tick(4, 100);
  EXPECT_FALSE(net_.raw(4).IsLeader());
  net_.Heal();
  net_.Cut(1, 2);
  net_.Cut(1, 3);
  const uint64_t commit = net_.raw(1).GetStatus().hard_state.commit();
  ASSERT_TRUE(net_.raw(1).Propose("y").ok());
  net_.Stabilize();
  EXPECT_EQ(net_.log(4).LastIndex(), commit + 1) << "the learner stores it";
  EXPECT_EQ(net_.raw(1).GetStatus().hard_state.commit(), commit) << "but it does not count";
}

TEST_F(MembershipTest, PromotedLearnerVotesAndCounts) {
  AddEmptyNode(4);
  ProposeAndCommit(Change({{pb::CONF_CHANGE_ADD_LEARNER, 4}}));
  ProposeAndCommit(Change({{pb::CONF_CHANGE_ADD_VOTER, 4}}));
  EXPECT_EQ(Voters(1), (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(Voters(4), (std::vector<uint64_t>{1, 2, 3, 4}));
  net_.Cut(1, 2);
  const uint64_t commit = net_.raw(1).GetStatus().hard_state.commit();
  ASSERT_TRUE(net_.Propose(1, "y").ok());
  EXPECT_EQ(net_.raw(1).GetStatus().hard_state.commit(), commit + 1) << "1, 3 and 4 are a quorum of 4";
}

TEST_F(MembershipTest, OneChangeAtATime) {
  ASSERT_TRUE(net_.raw(1).ProposeConfChange(Change({{pb::CONF_CHANGE_ADD_LEARNER, 4}})).ok());
  absl::Status second = net_.raw(1).ProposeConfChange(Change({{pb::CONF_CHANGE_ADD_LEARNER, 5}}));
  EXPECT_EQ(second.code(), absl::StatusCode::kFailedPrecondition) << second;
  absl::Status invalid = net_.raw(1).ProposeConfChange(Change({}));
  EXPECT_FALSE(invalid.ok());
}

TEST_F(MembershipTest, RemovingTheLastVoterIsRefused) {
  ProposeAndCommit(Change({{pb::CONF_CHANGE_REMOVE_NODE, 3}}));
  ProposeAndCommit(Change({{pb::CONF_CHANGE_REMOVE_NODE, 2}}));
  EXPECT_EQ(Voters(1), std::vector<uint64_t>{1});
  EXPECT_EQ(net_.raw(1).ProposeConfChange(Change({{pb::CONF_CHANGE_REMOVE_NODE, 1}})).code(),
            absl::StatusCode::kInvalidArgument);
}

// Thesis §4.2.2: a leader that removes itself leads until the change commits,
// then steps down; the rest elect a new leader.
TEST_F(MembershipTest, LeaderRemovingItselfStepsDownAfterCommit) {
  ProposeAndCommit(Change({{pb::CONF_CHANGE_REMOVE_NODE, 1}}));
  EXPECT_FALSE(net_.raw(1).IsLeader());
  net_.TickAll(40);
  auto leaders = net_.Leaders();
  ASSERT_EQ(leaders.size(), 1u);
  EXPECT_NE(leaders[0], 1u);
  EXPECT_EQ(Voters(leaders[0]), (std::vector<uint64_t>{2, 3}));
}

// Thesis §4.3: replacing two voters at once goes through a joint
// configuration that the leader leaves automatically.
TEST_F(MembershipTest, JointConsensusReplacesSeveralVoters) {
  AddEmptyNode(4);
  AddEmptyNode(5);
  ProposeAndCommit(Change({{pb::CONF_CHANGE_ADD_VOTER, 4},
                           {pb::CONF_CHANGE_ADD_VOTER, 5},
                           {pb::CONF_CHANGE_REMOVE_NODE, 2},
                           {pb::CONF_CHANGE_REMOVE_NODE, 3}}));
  net_.TickAll(3);
  for (NodeId id : {1, 4, 5}) {
    auto cs = net_.raw(id).GetStatus().conf_state;
    EXPECT_EQ(std::vector<uint64_t>(cs.voters().begin(), cs.voters().end()),
              (std::vector<uint64_t>{1, 4, 5}))
        << "node " << id;
    EXPECT_EQ(cs.voters_outgoing_size(), 0) << "node " << id << " left the joint config";
  }
  ASSERT_TRUE(net_.Propose(1, "after").ok());
  net_.TickAll(1);
  EXPECT_EQ(net_.AppliedData(5), std::vector<std::string>{"after"});
}

TEST_F(MembershipTest, ExplicitJointConfigWaitsForAnExplicitLeave) {
  ProposeAndCommit(Change({{pb::CONF_CHANGE_ADD_LEARNER, 4}, {pb::CONF_CHANGE_REMOVE_NODE, 3}},
                          pb::CONF_TRANSITION_JOINT_EXPLICIT));
  net_.TickAll(3);
  EXPECT_EQ(net_.raw(1).GetStatus().conf_state.voters_outgoing_size(), 3);
  ProposeAndCommit(ConfChange());
  auto cs = net_.raw(1).GetStatus().conf_state;
  EXPECT_EQ(cs.voters_outgoing_size(), 0);
  EXPECT_EQ(Voters(1), (std::vector<uint64_t>{1, 2}));
}

}  // namespace
}  // namespace rkv::raft

namespace rkv::raft {
namespace {

// Simulator finding: a leader demoted by a committed change, still leader in
// its old term, must not answer a read from its single-voter shortcut (the
// sole voter is another node, which may already lead a newer term), and it
// hands leadership to that voter instead of going silent.
TEST_F(MembershipTest, DemotedLeaderServesNoReadAndHandsLeadershipOver) {
  net_.SetDropFilter([](const Message& m) { return m.from() == 1 && m.type() == pb::MSG_TIMEOUT_NOW; });
  ProposeAndCommit(Change({{pb::CONF_CHANGE_ADD_LEARNER, 1}, {pb::CONF_CHANGE_REMOVE_NODE, 3}},
                          pb::CONF_TRANSITION_JOINT_IMPLICIT));
  net_.TickAll(3);
  ASSERT_EQ(Voters(2), std::vector<uint64_t>{2});
  ASSERT_TRUE(net_.raw(1).IsLeader()) << "the hand-off was blocked, so 1 still leads its term";
  EXPECT_EQ(net_.raw(1).Propose("x").code(), absl::StatusCode::kUnavailable);
  net_.raw(1).ReadIndex("stale?");
  net_.Stabilize();
  EXPECT_TRUE(net_.node(1).read_states.empty());
  net_.Heal();
  net_.TickAll(15);
  EXPECT_EQ(net_.Leaders(), std::vector<NodeId>{2});
}

}  // namespace
}  // namespace rkv::raft

namespace rkv::raft {
namespace {

// Simulator finding (seed 30633): a leader demoted by a joint change holds
// entries past the entry that leaves the joint configuration, and loses its
// term before the remaining voter learns that the leave committed. That voter
// still counts the outgoing voters, so it needs the demoted node's vote, which
// the demoted node's longer log refuses; and no voter holds those entries.
// The demoted node therefore campaigns among its own configuration's voters,
// wins only to catch them up, and hands leadership over.
TEST(MembershipLivenessTest, NodeOutsideTheVotersCampaignsWhenAJointVoterNeedsItsLog) {
  TestNetwork net(TestNetwork::Ids(3), [](Config& c) {
    c.pre_vote = false;
    c.check_quorum = false;
    c.max_msg_bytes = 1;  // one entry per append, so single entries can be held back
  });
  net.Elect(1);
  net.Crash(3);  // without 3, voter 2 needs 1's vote while it is joint
  const uint64_t leave_index = net.raw(1).LastIndex() + 2;  // enter joint, then leave
  bool hold_leave_ack = true;
  net.SetDropFilter([&](const Message& m) {
    if (m.from() == 2 && m.to() == 1) {
      return hold_leave_ack && m.type() == pb::MSG_APPEND_RESPONSE && !m.reject() &&
             m.index() >= leave_index;
    }
    if (m.from() != 1 || m.to() != 2) return false;
    // 2 must neither learn that the leave committed nor get the entries after it.
    if (m.type() == pb::MSG_TIMEOUT_NOW || m.commit() >= leave_index) return true;
    return std::any_of(m.entries().begin(), m.entries().end(),
                       [&](const Entry& e) { return e.index() > leave_index; });
  });
  ASSERT_TRUE(net.raw(1)
                  .ProposeConfChange(Change({{pb::CONF_CHANGE_ADD_LEARNER, 1},
                                             {pb::CONF_CHANGE_REMOVE_NODE, 3}},
                                            pb::CONF_TRANSITION_JOINT_IMPLICIT))
                  .ok());
  net.Stabilize();
  ASSERT_EQ(net.raw(1).LastIndex(), leave_index) << "the leader proposed leaving the joint config";
  ASSERT_TRUE(net.raw(1).Propose("x").ok()) << "still a voter until the leave applies";
  net.Stabilize();
  hold_leave_ack = false;
  net.Tick(1, 3);  // heartbeats; 2 acknowledges the leave again, 1 commits and applies it
  ASSERT_EQ(net.raw(1).GetStatus().conf_state.voters_outgoing_size(), 0);
  ASSERT_GT(net.raw(2).GetStatus().conf_state.voters_outgoing_size(), 0) << "2 is still joint";
  net.Tick(2, 40);  // 2 campaigns at a higher term; 1 steps down and refuses its shorter log
  ASSERT_FALSE(net.raw(1).IsLeader());
  ASSERT_TRUE(net.Leaders().empty());

  net.Heal();
  net.TickAll(100);
  EXPECT_EQ(net.Leaders(), std::vector<NodeId>{2});
  const ConfState cs = net.raw(2).GetStatus().conf_state;
  EXPECT_EQ(std::vector<uint64_t>(cs.voters().begin(), cs.voters().end()), std::vector<uint64_t>{2});
  EXPECT_EQ(cs.voters_outgoing_size(), 0);
  EXPECT_EQ(net.AppliedData(2), std::vector<std::string>{"x"});
}

// ready.h: the caller may move a Ready's contents away (the server hands the
// committed entries to its apply thread) before Advance. Advance must still
// mark those entries as handed out: otherwise every later Ready repeats them
// from the start, and once the log is compacted past them none is ever
// handed out again (a stall found by the write benchmark).
// PeerProgress is GetStatus's view of one peer, on the leader only.
TEST(RawNodeTest, PeerProgressMatchesTheLeadersStatus) {
  TestNetwork net(TestNetwork::Ids(3));
  net.Elect(1);
  net.Isolate(3);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(net.Propose(1, "x").ok());
  net.Stabilize();
  const Status status = net.raw(1).GetStatus();
  for (NodeId id : {1, 2, 3}) {
    std::optional<PeerStatus> peer = net.raw(1).PeerProgress(id);
    ASSERT_TRUE(peer.has_value()) << id;
    EXPECT_EQ(peer->match, status.peers.at(id).match) << id;
    EXPECT_EQ(peer->next, status.peers.at(id).next) << id;
    EXPECT_EQ(peer->state, status.peers.at(id).state) << id;
    EXPECT_EQ(peer->recent_active, status.peers.at(id).recent_active) << id;
  }
  EXPECT_EQ(net.raw(1).PeerProgress(2)->match, net.raw(1).LastIndex());
  EXPECT_LT(net.raw(1).PeerProgress(3)->match, net.raw(1).LastIndex());
  EXPECT_FALSE(net.raw(1).PeerProgress(4).has_value()) << "not a member";
  EXPECT_FALSE(net.raw(2).PeerProgress(1).has_value()) << "a follower tracks no progress";
}

TEST(RawNodeTest, AdvanceActsOnWhatWasHandedOutEvenIfTheReadyWasEmptied) {
  MemoryLog log;
  ConfState cs;
  cs.add_voters(1);
  BootstrapState boot = Bootstrap(cs);
  RKV_CHECK_OK(log.ApplySnapshot(boot.snapshot));
  log.SetHardState(boot.hard_state);
  Config config;
  config.id = 1;
  auto node = std::move(*RawNode::Create(config, &log));

  uint64_t last_applied = kBootstrapIndex;
  // Persists and "applies" by moving everything out of the Ready, as the
  // server's driver does.
  auto handle = [&] {
    Ready r = node->TakeReady();
    if (r.hard_state) log.SetHardState(*r.hard_state);
    log.Append(r.entries);
    std::vector<Entry> entries = std::move(r.entries);
    std::vector<Entry> committed = std::move(r.committed_entries);
    for (const Entry& e : committed) {
      EXPECT_EQ(e.index(), last_applied + 1) << "an entry was handed out twice or skipped";
      last_applied = e.index();
    }
    node->Advance();
  };
  // A few Readys settle each step; a node that keeps handing out the same
  // entries never settles (STYLE §1.6: the loop is bounded).
  auto settle = [&] {
    for (int i = 0; i < 10 && node->HasReady(); ++i) handle();
    return !node->HasReady();
  };
  node->Campaign();
  ASSERT_TRUE(settle());
  ASSERT_TRUE(node->IsLeader());
  for (int round = 0; round < 5; ++round) {
    ASSERT_TRUE(node->Propose(absl::StrCat("x", round)).ok());
    ASSERT_TRUE(settle()) << "round " << round;
    EXPECT_EQ(last_applied, node->LastIndex());
  }
  EXPECT_EQ(node->GetStatus().applied, node->LastIndex());
  EXPECT_FALSE(node->HasReady());
}

}  // namespace
}  // namespace rkv::raft
