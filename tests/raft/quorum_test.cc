#include "raft/quorum.h"

#include <map>
#include <vector>

#include "gtest/gtest.h"

namespace rkv::raft {
namespace {

// Raft paper §5.3: an index is committed once a majority of voters hold it;
// thesis §4.3: a joint configuration needs a majority of each half.
TEST(QuorumTest, CommittedIndexIsTheMajorityAcknowledgedIndex) {
  struct Case {
    std::set<NodeId> incoming;
    std::set<NodeId> outgoing;
    std::map<NodeId, uint64_t> acked;
    uint64_t want;
  };
  const std::vector<Case> cases = {
      {{1}, {}, {{1, 5}}, 5},
      {{1, 2, 3}, {}, {{1, 5}, {2, 3}, {3, 1}}, 3},
      {{1, 2, 3}, {}, {{1, 5}}, 0},
      {{1, 2, 3}, {}, {{1, 5}, {2, 5}}, 5},
      {{1, 2, 3, 4}, {}, {{1, 9}, {2, 8}, {3, 2}, {4, 1}}, 2},
      {{1, 2, 3, 4, 5}, {}, {{1, 9}, {2, 8}, {3, 7}, {4, 1}, {5, 1}}, 7},
      // Joint: the smaller of the two halves' committed indexes.
      {{1, 2, 3}, {3, 4, 5}, {{1, 9}, {2, 9}, {3, 9}, {4, 2}, {5, 1}}, 2},
      {{1, 2, 3}, {3, 4, 5}, {{1, 9}, {2, 9}, {3, 6}, {4, 7}, {5, 1}}, 6},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    JointConfig config{MajorityConfig(c.incoming), MajorityConfig(c.outgoing)};
    uint64_t got = config.CommittedIndex([&c](NodeId id, uint64_t* index) {
      auto it = c.acked.find(id);
      if (it == c.acked.end()) return false;
      *index = it->second;
      return true;
    });
    EXPECT_EQ(got, c.want) << "case " << i;
  }
}

// Raft paper §5.2: a candidate wins with votes from a majority; thesis §4.3:
// in a joint configuration, from a majority of each half.
TEST(QuorumTest, VoteResultNeedsAMajorityOfEachHalf) {
  struct Case {
    std::set<NodeId> incoming;
    std::set<NodeId> outgoing;
    std::map<NodeId, bool> votes;
    VoteResult want;
  };
  const std::vector<Case> cases = {
      {{}, {}, {}, VoteResult::kWon},
      {{1}, {}, {}, VoteResult::kPending},
      {{1}, {}, {{1, true}}, VoteResult::kWon},
      {{1, 2, 3}, {}, {{1, true}}, VoteResult::kPending},
      {{1, 2, 3}, {}, {{1, true}, {2, true}}, VoteResult::kWon},
      {{1, 2, 3}, {}, {{1, true}, {2, false}}, VoteResult::kPending},
      {{1, 2, 3}, {}, {{1, true}, {2, false}, {3, false}}, VoteResult::kLost},
      {{1, 2, 3, 4}, {}, {{1, true}, {2, true}}, VoteResult::kPending},
      {{1, 2, 3, 4}, {}, {{1, false}, {2, false}}, VoteResult::kLost},
      {{1, 2, 3}, {4, 5, 6}, {{1, true}, {2, true}}, VoteResult::kPending},
      {{1, 2, 3}, {4, 5, 6}, {{1, true}, {2, true}, {4, true}, {5, true}}, VoteResult::kWon},
      {{1, 2, 3}, {4, 5, 6}, {{1, true}, {2, true}, {4, false}, {5, false}}, VoteResult::kLost},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    JointConfig config{MajorityConfig(c.incoming), MajorityConfig(c.outgoing)};
    VoteResult got = config.Vote([&c](NodeId id) {
      auto it = c.votes.find(id);
      if (it == c.votes.end()) return -1;
      return it->second ? 1 : 0;
    });
    EXPECT_EQ(got, c.want) << "case " << i;
  }
}

}  // namespace
}  // namespace rkv::raft
