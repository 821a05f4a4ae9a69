// Router: where each attempt of a call goes. Holds the latest Topology and a
// leader cache (partition id -> client address) that starts from the
// topology's leaders and follows the leader hints of ErrorDetail. Without a
// usable leader the router sends to the configured endpoints in turn; any node
// forwards. A node that could not be reached is avoided for down_period (the
// cluster map may still name it as a leader until a new one is elected). It
// also decides when the topology should be re-read, at most once per
// min_refresh_interval and one refresh at a time; the caller does the I/O.
// Thread-safe (one mutex); no I/O.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/topology.h"
#include "rkv/v1/kv.pb.h"

namespace rkv::client {

// One attempt's destination.
struct Route {
  std::string address;
  // The key's partition when known, else 0.
  uint64_t partition_id = 0;
  // The address came from the leader cache (not from the endpoint list).
  bool to_leader = false;
};

class Router final {
 public:
  // REQUIRES: !seeds.empty().
  Router(std::vector<std::string> seeds, bool route_to_leader, absl::Duration min_refresh_interval,
         absl::Duration down_period);
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // The destination of attempt `attempt` (0-based) of a call. key_hash is
  // empty for calls without a key (they go to the endpoints, rotating by
  // attempt). any_replica picks one of the partition's replicas by salt
  // instead of its leader (serializable reads). salt spreads calls over the
  // endpoints. Nodes marked down are avoided while another choice exists.
  Route Pick(std::optional<uint64_t> key_hash, bool any_replica, uint64_t salt, int attempt,
             absl::Time now) const;

  // The endpoint for attempt `attempt` of a call with this salt: the first in
  // turn from salt + attempt that is not down (or that one, if all are).
  std::string Seed(uint64_t salt, int attempt, absl::Time now) const;

  // Replaces the topology and resets the leader cache to its leaders.
  void Update(Topology topology);

  // Learns from a failed attempt to route.address. With a leader hint the
  // partition's cached leader becomes the hinted member; without one the
  // cached leader is dropped (so the next attempt goes through an endpoint)
  // and a refresh is wanted. node_unreachable marks route.address down until
  // now + down_period. Returns true when the next attempt will go to a
  // different address because of a hint (worth retrying at once).
  bool OnFailure(const Route& route, const v1::ErrorDetail* detail, bool node_unreachable,
                 absl::Time now);

  // Learns a partition's leader from the header of an answer that did not
  // come through the leader cache (an endpoint forwarded the call, or a
  // replica answered it): a partition without a cached leader gets the
  // leader the answering node named, if the topology knows its address. A
  // cached leader is never replaced here, only by OnFailure, so a node with
  // an outdated view cannot make the cache flap. Returns true when it cached
  // a leader.
  bool OnAnswer(uint64_t partition_id, uint64_t leader_id);

  // Marks that the topology should be re-read.
  void WantRefresh();
  // True when the caller should start a refresh now: one is wanted, none is in
  // flight, and the last one began at least min_refresh_interval ago. The
  // caller must then call EndRefresh.
  bool MaybeBeginRefresh(absl::Time now);
  // Ends the refresh begun by MaybeBeginRefresh; a failed one stays wanted.
  void EndRefresh(bool ok);

  // The current topology (null before the first Update).
  std::shared_ptr<const Topology> topology() const;
  // The cached leader address of a partition, if any.
  std::optional<std::string> CachedLeader(uint64_t partition_id) const;

 private:
  const std::vector<std::string> seeds_;
  const bool route_to_leader_;
  const absl::Duration min_refresh_interval_;
  const absl::Duration down_period_;

  mutable absl::Mutex mu_;
  std::shared_ptr<const Topology> topology_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, std::string> leaders_ ABSL_GUARDED_BY(mu_);
  // Address -> until when it is avoided. Holds at most the addresses of the
  // endpoints and members, which the channel pool bounds.
  absl::flat_hash_map<std::string, absl::Time> down_until_ ABSL_GUARDED_BY(mu_);
  bool refresh_wanted_ ABSL_GUARDED_BY(mu_) = false;
  bool refresh_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_refresh_start_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();

  bool IsDown(const std::string& address, absl::Time now) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  std::string SeedLocked(uint64_t salt, int attempt, absl::Time now) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
};

}  // namespace rkv::client
