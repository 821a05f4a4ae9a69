#include "cli/render.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace rkv::cli {
namespace {

std::string Expiry(uint64_t expiry_unix_ms) {
  if (expiry_unix_ms == 0) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ",
                          absl::FromUnixMillis(static_cast<int64_t>(expiry_unix_ms)),
                          absl::UTCTimeZone());
}

void WriteHeader(JsonWriter& json, const v1::ResponseHeader& header) {
  json.Key("header").BeginObject();
  json.Key("cluster_id").Uint(header.cluster_id());
  json.Key("member_id").Uint(header.member_id());
  json.Key("partition_id").Uint(header.partition_id());
  json.Key("raft_term").Uint(header.raft_term());
  json.Key("revision").Uint(header.revision());
  json.EndObject();
}

void WriteKeyValue(JsonWriter& json, const v1::KeyValue& kv, bool keys_only) {
  json.BeginObject();
  json.Bytes("key", kv.key());
  if (!keys_only) json.Bytes("value", kv.value());
  json.Key("create_revision").Uint(kv.create_revision());
  json.Key("mod_revision").Uint(kv.mod_revision());
  json.Key("version").Uint(kv.version());
  json.Key("expiry_unix_ms").Uint(kv.expiry_unix_ms());
  json.EndObject();
}

// A key-value table; keys_only drops the value column.
std::string KeyValueTable(const std::vector<const v1::KeyValue*>& kvs, bool keys_only) {
  std::vector<std::string> headers = {"KEY"};
  if (!keys_only) headers.push_back("VALUE");
  for (const char* h : {"VERSION", "CREATE_REV", "MOD_REV", "EXPIRES"}) headers.push_back(h);
  Table table(std::move(headers));
  for (const v1::KeyValue* kv : kvs) {
    std::vector<std::string> row = {EscapeForTerminal(kv->key())};
    if (!keys_only) row.push_back(EscapeForTerminal(kv->value()));
    row.push_back(absl::StrCat(kv->version()));
    row.push_back(absl::StrCat(kv->create_revision()));
    row.push_back(absl::StrCat(kv->mod_revision()));
    row.push_back(Expiry(kv->expiry_unix_ms()));
    table.AddRow(std::move(row));
  }
  return table.Render();
}

// The previous key-value of a put or delete, when the server sent one.
bool HasPrevKv(const v1::KeyValue& kv) { return !kv.key().empty(); }

const char* RoleName(v1::ReplicaStatus::Role role) {
  switch (role) {
    case v1::ReplicaStatus::FOLLOWER:
      return "follower";
    case v1::ReplicaStatus::CANDIDATE:
      return "candidate";
    case v1::ReplicaStatus::LEADER:
      return "leader";
    case v1::ReplicaStatus::LEARNER:
      return "learner";
    default:
      return "unknown";
  }
}

std::string ErrorText(const absl::Status& status) {
  return absl::StrCat(absl::StatusCodeToString(status.code()), ": ", status.message());
}

}  // namespace

std::string RenderPut(const v1::PutResponse& response, OutputFormat format) {
  if (format == OutputFormat::kJson) {
    JsonWriter json;
    json.BeginObject();
    WriteHeader(json, response.header());
    json.Key("revision").Uint(response.revision());
    if (HasPrevKv(response.prev_kv())) {
      json.Key("prev_kv");
      WriteKeyValue(json, response.prev_kv(), false);
    }
    json.EndObject();
    return json.Take();
  }
  std::string out = absl::StrCat("OK revision ", response.revision(), "\n");
  if (HasPrevKv(response.prev_kv())) {
    absl::StrAppend(&out, "previous:\n", KeyValueTable({&response.prev_kv()}, false));
  }
  return out;
}

std::string RenderGet(const v1::GetResponse& response, bool value_only, OutputFormat format) {
  if (format == OutputFormat::kJson) {
    JsonWriter json;
    json.BeginObject();
    WriteHeader(json, response.header());
    json.Key("found").Bool(response.found());
    if (response.found()) {
      json.Key("kv");
      WriteKeyValue(json, response.kv(), false);
    }
    json.EndObject();
    return json.Take();
  }
  if (!response.found()) return "";
  // --value-only prints the raw bytes for pipes; a newline ends them.
  if (value_only) return absl::StrCat(response.kv().value(), "\n");
  return KeyValueTable({&response.kv()}, false);
}

std::string RenderDelete(const v1::DeleteResponse& response, OutputFormat format) {
  if (format == OutputFormat::kJson) {
    JsonWriter json;
    json.BeginObject();
    WriteHeader(json, response.header());
    json.Key("deleted").Uint(response.deleted());
    json.Key("revision").Uint(response.revision());
    if (HasPrevKv(response.prev_kv())) {
      json.Key("prev_kv");
      WriteKeyValue(json, response.prev_kv(), false);
    }
    json.EndObject();
    return json.Take();
  }
  std::string out =
      absl::StrCat("deleted ", response.deleted(), " revision ", response.revision(), "\n");
  if (HasPrevKv(response.prev_kv())) {
    absl::StrAppend(&out, "previous:\n", KeyValueTable({&response.prev_kv()}, false));
  }
  return out;
}

std::string RenderRange(const v1::RangeResponse& response, bool keys_only, bool count_only,
                        OutputFormat format) {
  if (format == OutputFormat::kJson) {
    JsonWriter json;
    json.BeginObject();
    WriteHeader(json, response.header());
    json.Key("count").Uint(response.count());
    if (!count_only) {
      json.Key("kvs").BeginArray();
      for (const v1::KeyValue& kv : response.kvs()) WriteKeyValue(json, kv, keys_only);
      json.EndArray();
    }
    json.Key("more").Bool(response.more());
    if (response.more()) json.Bytes("next_key", response.next_key());
    json.EndObject();
    return json.Take();
  }
  if (count_only) return absl::StrCat(response.count(), "\n");
  std::vector<const v1::KeyValue*> kvs;
  for (const v1::KeyValue& kv : response.kvs()) kvs.push_back(&kv);
  std::string out = KeyValueTable(kvs, keys_only);
  absl::StrAppend(&out, "(", kvs.size(), " of ", response.count(), " keys");
  if (response.more()) {
    absl::StrAppend(&out, "; more from \"", EscapeForTerminal(response.next_key()),
                    "\", or pass --all");
  }
  absl::StrAppend(&out, ")\n");
  return out;
}

std::string RenderKeyValues(const std::vector<v1::KeyValue>& kvs, bool keys_only,
                            OutputFormat format) {
  if (format == OutputFormat::kJson) {
    JsonWriter json;
    json.BeginObject();
    json.Key("count").Uint(kvs.size());
    json.Key("kvs").BeginArray();
    for (const v1::KeyValue& kv : kvs) WriteKeyValue(json, kv, keys_only);
    json.EndArray();
    json.EndObject();
    return json.Take();
  }
  std::vector<const v1::KeyValue*> pointers;
  for (const v1::KeyValue& kv : kvs) pointers.push_back(&kv);
  return absl::StrCat(KeyValueTable(pointers, keys_only), "(", kvs.size(), " keys)\n");
}

std::string RenderTxn(const v1::TxnResponse& response, OutputFormat format) {
  if (format == OutputFormat::kJson) {
    JsonWriter json;
    json.BeginObject();
    WriteHeader(json, response.header());
    json.Key("succeeded").Bool(response.succeeded());
    json.Key("revision").Uint(response.revision());
    json.Key("responses").BeginArray();
    for (const v1::ResponseOp& op : response.responses()) {
      json.BeginObject();
      switch (op.response_case()) {
        case v1::ResponseOp::kPut:
          json.Key("op").String("put");
          json.Key("revision").Uint(op.put().revision());
          break;
        case v1::ResponseOp::kDelete:
          json.Key("op").String("del");
          json.Key("deleted").Uint(op.delete_().deleted());
          break;
        case v1::ResponseOp::kRange:
          json.Key("op").String("get");
          json.Key("kvs").BeginArray();
          for (const v1::KeyValue& kv : op.range().kvs()) WriteKeyValue(json, kv, false);
          json.EndArray();
          break;
        case v1::ResponseOp::RESPONSE_NOT_SET:
          json.Key("op").Null();
          break;
      }
      json.EndObject();
    }
    json.EndArray();
    json.EndObject();
    return json.Take();
  }
  std::string out = absl::StrCat(response.succeeded() ? "SUCCEEDED" : "FAILED", " (the ",
                                 response.succeeded() ? "then" : "else", " branch ran) revision ",
                                 response.revision(), "\n");
  for (const v1::ResponseOp& op : response.responses()) {
    switch (op.response_case()) {
      case v1::ResponseOp::kPut:
        absl::StrAppend(&out, "put: OK\n");
        break;
      case v1::ResponseOp::kDelete:
        absl::StrAppend(&out, "del: deleted ", op.delete_().deleted(), "\n");
        break;
      case v1::ResponseOp::kRange: {
        if (op.range().kvs_size() == 0) {
          absl::StrAppend(&out, "get: not found\n");
          break;
        }
        std::vector<const v1::KeyValue*> kvs;
        for (const v1::KeyValue& kv : op.range().kvs()) kvs.push_back(&kv);
        absl::StrAppend(&out, "get:\n", KeyValueTable(kvs, false));
        break;
      }
      case v1::ResponseOp::RESPONSE_NOT_SET:
        absl::StrAppend(&out, "(empty response)\n");
        break;
    }
  }
  return out;
}

std::string RenderMembers(const v1::MemberListResponse& response, OutputFormat format) {
  std::vector<const v1::Member*> members;
  for (const v1::Member& m : response.members()) members.push_back(&m);
  std::sort(members.begin(), members.end(),
            [](const v1::Member* a, const v1::Member* b) { return a->id() < b->id(); });
  if (format == OutputFormat::kJson) {
    JsonWriter json;
    json.BeginObject();
    WriteHeader(json, response.header());
    json.Key("members").BeginArray();
    for (const v1::Member* m : members) {
      json.BeginObject();
      json.Key("id").Uint(m->id());
      json.Key("client_address").String(m->client_address());
      json.Key("peer_address").String(m->peer_address());
      json.Key("metrics_address").String(m->metrics_address());
      json.EndObject();
    }
    json.EndArray();
    json.EndObject();
    return json.Take();
  }
  Table table({"ID", "CLIENT_ADDRESS", "PEER_ADDRESS", "METRICS_ADDRESS"});
  for (const v1::Member* m : members) {
    table.AddRow({absl::StrCat(m->id()), EscapeForTerminal(m->client_address()),
                  EscapeForTerminal(m->peer_address()), EscapeForTerminal(m->metrics_address())});
  }
  return table.Render();
}

uint64_t ReplicaLag(const v1::Partition& partition, const v1::ReplicaStatus& replica) {
  uint64_t reference = 0;
  bool leader_known = false;
  for (const v1::ReplicaStatus& r : partition.replicas()) {
    if (partition.leader_id() != 0 && r.member_id() == partition.leader_id()) {
      reference = r.commit_index();
      leader_known = true;
    }
  }
  if (!leader_known) {
    for (const v1::ReplicaStatus& r : partition.replicas()) {
      reference = std::max(reference, r.commit_index());
    }
  }
  return reference > replica.applied_index() ? reference - replica.applied_index() : 0;
}

std::string RenderClusterStatus(const v1::PartitionListResponse& response, OutputFormat format) {
  std::vector<const v1::Partition*> partitions;
  for (const v1::Partition& p : response.partitions()) partitions.push_back(&p);
  std::sort(partitions.begin(), partitions.end(),
            [](const v1::Partition* a, const v1::Partition* b) { return a->id() < b->id(); });
  auto sorted_replicas = [](const v1::Partition& p) {
    std::vector<const v1::ReplicaStatus*> replicas;
    for (const v1::ReplicaStatus& r : p.replicas()) replicas.push_back(&r);
    std::sort(replicas.begin(), replicas.end(),
              [](const v1::ReplicaStatus* a, const v1::ReplicaStatus* b) {
                return a->member_id() < b->member_id();
              });
    return replicas;
  };
  if (format == OutputFormat::kJson) {
    JsonWriter json;
    json.BeginObject();
    WriteHeader(json, response.header());
    json.Key("partitions").BeginArray();
    for (const v1::Partition* p : partitions) {
      json.BeginObject();
      json.Key("id").Uint(p->id());
      json.Key("hash_start").Uint(p->hash_start());
      json.Key("hash_end").Uint(p->hash_end());
      json.Key("leader_id").Uint(p->leader_id());
      json.Key("replicas").BeginArray();
      for (const v1::ReplicaStatus* r : sorted_replicas(*p)) {
        json.BeginObject();
        json.Key("member_id").Uint(r->member_id());
        json.Key("role").String(RoleName(r->role()));
        json.Key("term").Uint(r->term());
        json.Key("commit_index").Uint(r->commit_index());
        json.Key("applied_index").Uint(r->applied_index());
        json.Key("match_index").Uint(r->match_index());
        json.Key("lag").Uint(ReplicaLag(*p, *r));
        json.EndObject();
      }
      json.EndArray();
      json.EndObject();
    }
    json.EndArray();
    json.EndObject();
    return json.Take();
  }
  Table table(
      {"PARTITION", "HASH_RANGE", "MEMBER", "ROLE", "TERM", "COMMIT", "APPLIED", "MATCH", "LAG"});
  for (const v1::Partition* p : partitions) {
    const std::string range = p->id() == 0
                                  ? std::string("meta")
                                  : absl::StrFormat("%016x-%016x", p->hash_start(), p->hash_end());
    const std::string id =
        p->leader_id() == 0 ? absl::StrCat(p->id(), " (no leader)") : absl::StrCat(p->id());
    bool first = true;
    for (const v1::ReplicaStatus* r : sorted_replicas(*p)) {
      const bool is_leader = r->member_id() == p->leader_id();
      table.AddRow({first ? id : "", first ? range : "", absl::StrCat(r->member_id()),
                    is_leader ? "leader" : RoleName(r->role()), absl::StrCat(r->term()),
                    absl::StrCat(r->commit_index()), absl::StrCat(r->applied_index()),
                    r->match_index() == 0 ? "-" : absl::StrCat(r->match_index()),
                    absl::StrCat(ReplicaLag(*p, *r))});
      first = false;
    }
    if (first) table.AddRow({id, range, "-", "-", "-", "-", "-", "-", "-"});
  }
  return table.Render();
}

std::string RenderLogLevel(const std::vector<EndpointLogLevel>& rows, const std::string& level,
                           OutputFormat format) {
  if (format == OutputFormat::kJson) {
    JsonWriter json;
    json.BeginArray();
    for (const EndpointLogLevel& row : rows) {
      json.BeginObject();
      json.Key("endpoint").String(row.endpoint);
      if (row.answer.ok()) {
        json.Key("level").String(level);
        json.Key("previous_level").String(row.answer->previous_level());
      } else {
        json.Key("error").String(ErrorText(row.answer.status()));
      }
      json.EndObject();
    }
    json.EndArray();
    return json.Take();
  }
  Table table({"ENDPOINT", "LEVEL", "PREVIOUS", "ERROR"});
  for (const EndpointLogLevel& row : rows) {
    if (row.answer.ok()) {
      table.AddRow({row.endpoint, EscapeForTerminal(level),
                    EscapeForTerminal(row.answer->previous_level()), ""});
    } else {
      table.AddRow({row.endpoint, "-", "-", EscapeForTerminal(ErrorText(row.answer.status()))});
    }
  }
  return table.Render();
}

std::string RenderHashes(const std::vector<EndpointHash>& rows, uint64_t partition_id,
                         OutputFormat format) {
  if (format == OutputFormat::kJson) {
    JsonWriter json;
    json.BeginObject();
    json.Key("partition_id").Uint(partition_id);
    json.Key("replicas").BeginArray();
    for (const EndpointHash& row : rows) {
      json.BeginObject();
      json.Key("endpoint").String(row.endpoint);
      if (row.answer.ok()) {
        json.Key("member_id").Uint(row.answer->header().member_id());
        json.Key("applied_index").Uint(row.answer->applied_index());
        json.Key("applied_term").Uint(row.answer->applied_term());
        json.Key("hash").String(absl::StrFormat("%016x", row.answer->hash()));
      } else {
        json.Key("error").String(ErrorText(row.answer.status()));
      }
      json.EndObject();
    }
    json.EndArray();
    const std::string mismatch = HashMismatch(rows);
    json.Key("consistent").Bool(mismatch.empty());
    json.EndObject();
    return json.Take();
  }
  Table table({"ENDPOINT", "MEMBER", "APPLIED", "TERM", "HASH", "ERROR"});
  for (const EndpointHash& row : rows) {
    if (row.answer.ok()) {
      const v1::PartitionHashResponse& a = *row.answer;
      table.AddRow({row.endpoint, absl::StrCat(a.header().member_id()),
                    absl::StrCat(a.applied_index()), absl::StrCat(a.applied_term()),
                    absl::StrFormat("%016x", a.hash()), ""});
    } else {
      table.AddRow(
          {row.endpoint, "-", "-", "-", "-", EscapeForTerminal(ErrorText(row.answer.status()))});
    }
  }
  return table.Render();
}

std::string HashMismatch(const std::vector<EndpointHash>& rows) {
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t j = i + 1; j < rows.size(); ++j) {
      if (!rows[i].answer.ok() || !rows[j].answer.ok()) continue;
      const v1::PartitionHashResponse& a = *rows[i].answer;
      const v1::PartitionHashResponse& b = *rows[j].answer;
      if (a.applied_index() == b.applied_index() && a.hash() != b.hash()) {
        return absl::StrFormat(
            "members %d and %d hold different state at applied index %d (%016x vs %016x)",
            a.header().member_id(), b.header().member_id(), a.applied_index(), a.hash(), b.hash());
      }
    }
  }
  return "";
}

std::string RenderEndpointHealth(const std::vector<EndpointHealth>& rows, OutputFormat format) {
  if (format == OutputFormat::kJson) {
    JsonWriter json;
    json.BeginArray();
    for (const EndpointHealth& row : rows) {
      json.BeginObject();
      json.Key("endpoint").String(row.endpoint);
      json.Key("healthy").Bool(row.health.ok() && row.health->healthy());
      if (!row.health.ok()) {
        json.Key("error").String(ErrorText(row.health.status()));
      } else if (!row.health->healthy()) {
        json.Key("reason").String(row.health->reason());
      }
      json.EndObject();
    }
    json.EndArray();
    return json.Take();
  }
  Table table({"ENDPOINT", "HEALTHY", "REASON"});
  for (const EndpointHealth& row : rows) {
    if (!row.health.ok()) {
      table.AddRow({row.endpoint, "false", EscapeForTerminal(ErrorText(row.health.status()))});
    } else {
      table.AddRow({row.endpoint, row.health->healthy() ? "true" : "false",
                    EscapeForTerminal(row.health->reason())});
    }
  }
  return table.Render();
}

std::string RenderEndpointStatus(const std::vector<EndpointStatus>& rows, OutputFormat format) {
  if (format == OutputFormat::kJson) {
    JsonWriter json;
    json.BeginArray();
    for (const EndpointStatus& row : rows) {
      json.BeginObject();
      json.Key("endpoint").String(row.endpoint);
      if (!row.status.ok()) {
        json.Key("error").String(ErrorText(row.status.status()));
      } else {
        const v1::StatusResponse& s = *row.status;
        json.Key("member_id").Uint(s.header().member_id());
        json.Key("version").String(s.version());
        json.Key("partitions_hosted").Uint(s.partitions_hosted());
        json.Key("partitions_led").Uint(s.partitions_led());
        json.Key("db_size_bytes").Uint(s.db_size_bytes());
      }
      json.EndObject();
    }
    json.EndArray();
    return json.Take();
  }
  Table table({"ENDPOINT", "MEMBER", "VERSION", "HOSTED", "LEADS", "DB_SIZE", "ERROR"});
  for (const EndpointStatus& row : rows) {
    if (!row.status.ok()) {
      table.AddRow({row.endpoint, "-", "-", "-", "-", "-",
                    EscapeForTerminal(ErrorText(row.status.status()))});
      continue;
    }
    const v1::StatusResponse& s = *row.status;
    table.AddRow({row.endpoint, absl::StrCat(s.header().member_id()),
                  EscapeForTerminal(s.version()), absl::StrCat(s.partitions_hosted()),
                  absl::StrCat(s.partitions_led()), absl::StrCat(s.db_size_bytes()), ""});
  }
  return table.Render();
}

}  // namespace rkv::cli
