#include "client/router.h"

#include <utility>

namespace rkv::client {

Router::Router(std::vector<std::string> seeds, bool route_to_leader,
               absl::Duration min_refresh_interval, absl::Duration down_period)
    : seeds_(std::move(seeds)),
      route_to_leader_(route_to_leader),
      min_refresh_interval_(min_refresh_interval),
      down_period_(down_period) {}

bool Router::IsDown(const std::string& address, absl::Time now) const {
  auto it = down_until_.find(address);
  return it != down_until_.end() && now < it->second;
}

std::string Router::SeedLocked(uint64_t salt, int attempt, absl::Time now) const {
  const uint64_t first = salt + static_cast<uint64_t>(attempt);
  for (size_t i = 0; i < seeds_.size(); ++i) {
    const std::string& seed = seeds_[(first + i) % seeds_.size()];
    if (!IsDown(seed, now)) return seed;
  }
  return seeds_[first % seeds_.size()];
}

std::string Router::Seed(uint64_t salt, int attempt, absl::Time now) const {
  absl::ReaderMutexLock lock(&mu_);
  return SeedLocked(salt, attempt, now);
}

Route Router::Pick(std::optional<uint64_t> key_hash, bool any_replica, uint64_t salt, int attempt,
                   absl::Time now) const {
  Route route;
  absl::ReaderMutexLock lock(&mu_);
  if (route_to_leader_ && key_hash.has_value() && topology_ != nullptr) {
    const PartitionInfo* partition = topology_->FindByHash(*key_hash);
    if (partition != nullptr) {
      route.partition_id = partition->partition_id;
      // A serializable read may be served by any replica; the first attempt
      // spreads them, retries go to the leader.
      if (any_replica && attempt == 0 && !partition->replica_ids.empty()) {
        const uint64_t member = partition->replica_ids[salt % partition->replica_ids.size()];
        const std::string* address = topology_->AddressOf(member);
        if (address != nullptr && !IsDown(*address, now)) {
          route.address = *address;
          return route;
        }
      }
      auto it = leaders_.find(partition->partition_id);
      if (it != leaders_.end() && !IsDown(it->second, now)) {
        route.address = it->second;
        route.to_leader = true;
        return route;
      }
    }
  }
  route.address = SeedLocked(salt, attempt, now);
  return route;
}

void Router::Update(Topology topology) {
  auto shared = std::make_shared<const Topology>(std::move(topology));
  absl::MutexLock lock(&mu_);
  leaders_.clear();
  for (const PartitionInfo& partition : shared->partitions()) {
    if (partition.leader_id == 0) continue;
    if (const std::string* address = shared->AddressOf(partition.leader_id)) {
      leaders_[partition.partition_id] = *address;
    }
  }
  topology_ = std::move(shared);
}

bool Router::OnFailure(const Route& route, const v1::ErrorDetail* detail, bool node_unreachable,
                       absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (node_unreachable) down_until_[route.address] = now + down_period_;
  const uint64_t partition_id = detail != nullptr && detail->partition_id() != 0
                                    ? detail->partition_id()
                                    : route.partition_id;
  if (detail != nullptr && detail->leader_id() != 0 && partition_id != 0) {
    // Prefer the member's client address from the topology; the hint's
    // address is the fallback for a member the topology does not know yet.
    const std::string* known =
        topology_ == nullptr ? nullptr : topology_->AddressOf(detail->leader_id());
    std::string address = known != nullptr ? *known : detail->leader_address();
    if (known == nullptr) refresh_wanted_ = true;
    if (!address.empty()) {
      const bool moved = address != route.address && !IsDown(address, now);
      leaders_[partition_id] = std::move(address);
      return moved;
    }
  }
  if (partition_id != 0) {
    auto it = leaders_.find(partition_id);
    if (it != leaders_.end() && it->second == route.address) leaders_.erase(it);
  }
  refresh_wanted_ = true;
  return false;
}

bool Router::OnAnswer(uint64_t partition_id, uint64_t leader_id) {
  if (!route_to_leader_ || partition_id == 0 || leader_id == 0) return false;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (topology_ == nullptr || leaders_.contains(partition_id)) return false;
  }
  absl::MutexLock lock(&mu_);
  const std::string* address = topology_->AddressOf(leader_id);
  return address != nullptr && leaders_.try_emplace(partition_id, *address).second;
}

void Router::WantRefresh() {
  absl::MutexLock lock(&mu_);
  refresh_wanted_ = true;
}

bool Router::MaybeBeginRefresh(absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (!refresh_wanted_ || refresh_in_flight_) return false;
  if (now - last_refresh_start_ < min_refresh_interval_) return false;
  refresh_wanted_ = false;
  refresh_in_flight_ = true;
  last_refresh_start_ = now;
  return true;
}

void Router::EndRefresh(bool ok) {
  absl::MutexLock lock(&mu_);
  refresh_in_flight_ = false;
  if (!ok) refresh_wanted_ = true;
}

std::shared_ptr<const Topology> Router::topology() const {
  absl::ReaderMutexLock lock(&mu_);
  return topology_;
}

std::optional<std::string> Router::CachedLeader(uint64_t partition_id) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = leaders_.find(partition_id);
  if (it == leaders_.end()) return std::nullopt;
  return it->second;
}

}  // namespace rkv::client
