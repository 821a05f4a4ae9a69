#include "raft/conf_change.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace rkv::raft {
namespace {

namespace pb = rkv::internal;

ConfChangeSingle Add(NodeId id) {
  ConfChangeSingle c;
  c.set_type(pb::CONF_CHANGE_ADD_VOTER);
  c.set_node_id(id);
  return c;
}
ConfChangeSingle Learner(NodeId id) {
  ConfChangeSingle c;
  c.set_type(pb::CONF_CHANGE_ADD_LEARNER);
  c.set_node_id(id);
  return c;
}
ConfChangeSingle Remove(NodeId id) {
  ConfChangeSingle c;
  c.set_type(pb::CONF_CHANGE_REMOVE_NODE);
  c.set_node_id(id);
  return c;
}

ConfChange Change(std::vector<ConfChangeSingle> changes,
                  pb::ConfChangeTransition transition = pb::CONF_TRANSITION_AUTO) {
  ConfChange cc;
  cc.set_transition(transition);
  for (auto& c : changes) *cc.add_changes() = c;
  return cc;
}

// Applies a sequence of changes from a three-voter configuration and reports
// each resulting configuration (or the error) as text.
std::vector<std::string> ApplyFromThreeVoters(const std::vector<ConfChange>& steps) {
  ProgressTracker tracker(16, 0);
  ConfState initial;
  for (NodeId id : {1, 2, 3}) initial.add_voters(id);
  auto restored = RestoreConfig(initial, tracker, 10);
  EXPECT_TRUE(restored.ok());
  tracker.Reset(restored->config, restored->progress);
  std::vector<std::string> out;
  for (const ConfChange& cc : steps) {
    auto next = ConfChanger(tracker, 10).Apply(cc);
    if (!next.ok()) {
      out.push_back(std::string("error: ") + std::string(next.status().message()));
      continue;
    }
    tracker.Reset(next->config, next->progress);
    out.push_back(tracker.config().ToString());
  }
  return out;
}

// Thesis §4.1: one voter at a time applies directly; learners never vote.
TEST(ConfChangeTest, SimpleChangesAlterAtMostOneVoter) {
  EXPECT_EQ(ApplyFromThreeVoters({Change({Add(4)}), Change({Remove(1)}), Change({Learner(5)}), Change({Add(5)})}),
            (std::vector<std::string>{
                "voters=(1 2 3 4)",
                "voters=(2 3 4)",
                "voters=(2 3 4) learners=(5)",
                "voters=(2 3 4 5)",  // Promotes the learner.
            }));
}

TEST(ConfChangeTest, InvalidChangesAreRefusedWithAReason) {
  auto results = ApplyFromThreeVoters({
      Change({Remove(1), Remove(2), Remove(3)}, pb::CONF_TRANSITION_JOINT_EXPLICIT),
      Change({}),  // Leave joint when not joint.
      Change({Add(0)}),
  });
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0], "error: the change removes every voter");
  EXPECT_EQ(results[1], "error: the configuration is not joint; there is nothing to leave");
  EXPECT_EQ(results[2], "error: a change names node id 0");
}

// Thesis §4.3: replacing several voters goes through a joint configuration;
// a voter demoted to learner stays an outgoing voter until it is left.
TEST(ConfChangeTest, JointConsensusEntersAndLeaves) {
  EXPECT_EQ(ApplyFromThreeVoters({
                Change({Add(4), Add(5), Remove(1), Learner(2)}, pb::CONF_TRANSITION_JOINT_EXPLICIT),
                Change({Add(6)}),  // Simple change while joint: refused.
                Change({}),        // Leave.
            }),
            (std::vector<std::string>{
                "voters=(3 4 5)&&(1 2 3) learners_next=(2)",
                "error: a simple change cannot apply to a joint configuration",
                "voters=(3 4 5) learners=(2)",
            }));
  // Two changes with the automatic transition also go through joint, left automatically.
  EXPECT_EQ(ApplyFromThreeVoters({Change({Add(4), Remove(1)})}),
            (std::vector<std::string>{"voters=(2 3 4)&&(1 2 3) autoleave"}));
}

// A ConfState restores to exactly the configuration it was taken from,
// joint ones included.
TEST(ConfChangeTest, RestoreRoundTripsEveryShape) {
  std::vector<ConfState> shapes(4);
  for (NodeId id : {1, 2, 3}) shapes[0].add_voters(id);
  shapes[1] = shapes[0];
  shapes[1].add_learners(7);
  for (NodeId id : {3, 4, 5}) shapes[2].add_voters(id);
  for (NodeId id : {1, 2, 3}) shapes[2].add_voters_outgoing(id);
  shapes[2].add_learners_next(2);
  shapes[2].set_auto_leave(true);
  // Empty: a node that has not been added yet.
  for (size_t i = 0; i < shapes.size(); ++i) {
    ProgressTracker tracker(16, 0);
    auto restored = RestoreConfig(shapes[i], tracker, 1);
    ASSERT_TRUE(restored.ok()) << "shape " << i << ": " << restored.status();
    ConfState back = restored->config.ToConfState();
    // voters in ToConfState come from the incoming half; learners_next removed
    // 2 from the incoming voters, which matches the original incoming set.
    EXPECT_EQ(back.SerializeAsString(), shapes[i].SerializeAsString()) << "shape " << i;
  }
}

}  // namespace
}  // namespace rkv::raft
