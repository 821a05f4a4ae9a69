// Driver: the one thread that owns every RawNode of the node (STYLE §1.2).
// Each pass it drains the inbox (client proposals and reads, peer messages,
// transport feedback), ticks on time, proposes every partition's queued
// proposals as one batch and asks one ReadIndex per partition for all queued
// reads, then collects every partition's Ready, persists all of them with ONE
// synced write (group commit, DESIGN §3), sends the messages, hands committed
// entries to the apply worker and advances. Thread-safe entry points push into
// the inbox; nothing else touches a RawNode.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "rkv/internal/peer.pb.h"
#include "server/apply_worker.h"
#include "server/inbox.h"
#include "server/metrics.h"
#include "server/replica.h"
#include "server/requests.h"
#include "server/transport.h"
#include "storage/engine.h"
#include "storage/limits.h"

namespace rkv::server {

struct DriverOptions {
  uint64_t node_id = 0;
  absl::Duration tick = absl::Milliseconds(100);
  storage::LogLimits log_limits;
  // Entries kept below the applied index before the log is compacted.
  uint64_t log_retain_entries = 10000;
  // Proposals and reads admitted but not yet completed, node-wide.
  uint64_t max_pending_proposals = 20000;
  uint64_t max_pending_reads = 20000;
  // A ReadIndex request unanswered for this many ticks (its message lost, or
  // dropped by a leader handing over) no longer holds back the next one.
  // Raft's periodic heartbeats re-confirm the newest request, so one
  // heartbeat interval plus a tick is enough.
  uint64_t read_retry_ticks = 2;
  // Client addresses by member id, for leader hints.
  std::map<uint64_t, std::string> client_addresses;
  // A synced write slower than this is logged as a warning.
  absl::Duration slow_fsync = absl::Milliseconds(500);
  // Hand each partition's leadership to its preferred voter (PreferredLeader)
  // once that voter is active and caught up, so every node leads its share of
  // the partitions (as Kafka's preferred-replica election and TiKV's leader
  // balancing do); elections alone pile leaders on whichever node started first.
  bool balance_leaders = true;
  // Not owned; must outlive the driver.
  Metrics* metrics = nullptr;
};

class Driver final {
 public:
  // Starts a snapshot transfer of partition to a peer; the result comes back
  // through ReportSnapshot.
  using SendSnapshotFn = std::function<void(uint64_t to_node, uint64_t partition_id, raft::Message)>;

  // REQUIRES: every pointer outlives the driver; replicas have started raft.
  Driver(const DriverOptions& options, storage::Engine* engine, Transport* transport,
         ApplyWorker* apply_worker, std::map<uint64_t, Replica*> replicas,
         SendSnapshotFn send_snapshot);
  ~Driver();
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  void Start();
  // Stops the loop; pending requests get UNAVAILABLE.
  void Stop();

  // Thread-safe inputs. Propose and Read complete `done` themselves when they
  // refuse (RESOURCE_EXHAUSTED past the pending bounds, UNAVAILABLE when
  // stopping or for an unknown partition). Read completes `done` at once
  // when the partition's read lease covers it and the state machine has
  // applied the commit index.
  void Propose(uint64_t partition_id, std::string data, absl::Time deadline, ProposalDone done);
  void Read(uint64_t partition_id, absl::Time deadline, ReadDone done);
  void Deliver(rkv::internal::MessageBatch batch);
  void ReportUnreachable(uint64_t peer, std::vector<uint64_t> partitions);
  void ReportSnapshot(uint64_t partition_id, uint64_t peer, bool succeeded);
  void OnSnapshotReceived(uint64_t partition_id, raft::Message message,
                          std::unique_ptr<storage::StagedSnapshot> staged);
  void OnApplied(uint64_t partition_id, uint64_t applied_index,
                 std::optional<raft::ConfState> new_conf_state);
  // Runs fn on the driver thread (admin operations on a RawNode). Returns
  // false when stopping.
  bool Call(absl::AnyInvocable<void() &&> fn);

  uint64_t pending_proposals() const { return pending_proposals_.load(); }
  uint64_t pending_reads() const { return pending_reads_.load(); }

 private:
  struct ProposeInput {
    uint64_t partition_id;
    std::string data;
    PendingProposal proposal;
  };
  struct ReadInput {
    uint64_t partition_id;
    PendingRead read;
  };
  struct UnreachableInput {
    uint64_t peer;
    std::vector<uint64_t> partitions;
  };
  struct SnapshotStatusInput {
    uint64_t partition_id;
    uint64_t peer;
    bool succeeded;
  };
  struct SnapshotReceivedInput {
    uint64_t partition_id;
    raft::Message message;
    std::unique_ptr<storage::StagedSnapshot> staged;
  };
  struct AppliedInput {
    uint64_t partition_id;
    uint64_t applied_index;
    std::optional<raft::ConfState> conf_state;
  };
  struct CallInput {
    absl::AnyInvocable<void() &&> fn;
  };
  using Input = std::variant<ProposeInput, ReadInput, rkv::internal::MessageBatch, UnreachableInput,
                             SnapshotStatusInput, SnapshotReceivedInput, AppliedInput, CallInput>;

  void Run();
  void Handle(Input& input);
  void HandleMessages(rkv::internal::MessageBatch& batch);
  void HandleApplied(AppliedInput& applied);
  void Tick();
  void BalanceLeaders();
  void ProposeQueued();
  void RequestReads();
  // Asks a ReadIndex (a round of heartbeats) and returns its context; a
  // leader's round may extend its read lease.
  std::string StartReadRound(Replica& replica);
  // Hands reads to the apply worker at the commit index. REQUIRES: the
  // replica's lease covers now.
  void ServeUnderLease(Replica& replica, std::vector<PendingRead>& reads);
  // Steps a follower's ReadIndex request, which a leader answers at once
  // while its lease covers now.
  absl::Status StepReadIndex(Replica& replica, raft::Message request);
  // Rounds that keep the leases reads use from running out.
  void RenewLeases();
  // Revokes the lease unless this node still leads in the lease's term; for
  // the rest of the term once `ready` sends a TimeoutNow (a transfer that has
  // not sent one yet leaves voters bound by their promise).
  void CheckLease(Replica& replica, const raft::Ready& ready);
  // Returns whether any replica had a Ready.
  bool ProcessReadys();
  // Moves the Ready's messages into outgoing, by peer (snapshots go to their
  // own stream): with before_sync, only those that may leave before the
  // synced log write, leaving the others in the Ready.
  void TakeMessages(Replica& replica, raft::Ready& ready, bool before_sync,
                    std::map<uint64_t, std::vector<PartitionMessage>>* outgoing);
  void CompleteCommitted(Replica& replica, raft::Ready& ready, ApplyTask& task);
  void OnLeaderChange(Replica& replica, const raft::SoftState& soft);
  // Lists a replica whose raft state a call may have changed, for this
  // pass's Ready check; TouchAll lists every replica (each tick).
  void Touch(Replica* replica);
  void TouchAll();
  SteadyClock::duration TickInterval() const { return absl::ToChronoNanoseconds(options_.tick); }
  void ExpireRequests(SteadyClock::time_point now);
  // Fails the reads past their deadline and removes them from `reads`.
  void ExpireReads(uint64_t partition_id, SteadyClock::time_point now, std::vector<PendingRead>& reads);
  void MaybeCompact(Replica& replica);
  void FailEverything(const absl::Status& status);

  Replica* Find(uint64_t partition_id);
  PartitionMetrics* MetricsOf(uint64_t partition_id);
  absl::Status NotLeader(const Replica& replica) const;
  void FinishProposal(PendingProposal& proposal, absl::StatusOr<storage::EntryResult> result,
                      PartitionMetrics* metrics);
  void FinishRead(PendingRead& read, absl::Status status);

  const DriverOptions options_;
  storage::Engine* const engine_;
  Transport* const transport_;
  ApplyWorker* const apply_worker_;
  const std::map<uint64_t, Replica*> replicas_;
  SendSnapshotFn send_snapshot_;

  Inbox<Input> inbox_;
  std::atomic<uint64_t> pending_proposals_{0};
  std::atomic<uint64_t> pending_reads_{0};
  std::thread thread_;

  // Driver thread only.
  std::map<uint64_t, std::vector<std::pair<std::string, PendingProposal>>> queued_proposals_;
  uint64_t read_sequence_ = 0;
  // The replicas a pass checks for a Ready, instead of every replica: with
  // thousands of partitions, scanning all of them each pass cost more than
  // the work (HasReady alone was 19% of the driver at 4,096 partitions).
  std::vector<Replica*> touched_;
  // Partitions whose reads wait for a ReadIndex request.
  std::set<uint64_t> reads_waiting_;
  uint64_t ticks_ = 0;
  // What BalanceLeaders knows of a partition it leads. Erased when the
  // partition's leader or voters change.
  struct BalanceState {
    // Skipped before this tick: after a transfer it started, or for good
    // once this node is the preferred leader.
    uint64_t next_check_tick = 0;
    // The preferred voter, once computed from the (non-joint) voters.
    uint64_t preferred = 0;
  };
  std::map<uint64_t, BalanceState> balance_;
  // On the monotonic clock: a wall-clock step must neither stall ticks (a
  // leader that stops heartbeating) nor fire them in a burst.
  SteadyClock::time_point next_tick_;
};

}  // namespace rkv::server
