#include "cli/render.h"

#include <string>
#include <vector>

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace rkv::cli {
namespace {

template <typename Message>
Message Parse(const std::string& text) {
  Message message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message)) << text;
  return message;
}

TEST(RenderTest, GetAsTableValueOnlyAndJson) {
  const auto found = Parse<v1::GetResponse>(
      "header { member_id: 2 partition_id: 5 raft_term: 3 revision: 40 } found: true "
      "kv { key: 'k' value: 'v\\001' create_revision: 10 mod_revision: 12 version: 2 }");
  EXPECT_EQ(RenderGet(found, false, OutputFormat::kTable),
            "KEY  VALUE  VERSION  CREATE_REV  MOD_REV  EXPIRES\n"
            "k    v\\x01  2        10          12       -\n");
  EXPECT_EQ(RenderGet(found, true, OutputFormat::kTable), "v\x01\n");
  EXPECT_EQ(RenderGet(found, false, OutputFormat::kJson),
            "{\"header\":{\"cluster_id\":0,\"member_id\":2,\"partition_id\":5,\"raft_term\":3,"
            "\"revision\":40},\"found\":true,\"kv\":{\"key\":\"k\",\"value\":\"v\\u0001\","
            "\"create_revision\":10,\"mod_revision\":12,\"version\":2,\"expiry_unix_ms\":0}}\n");
  const auto missing = Parse<v1::GetResponse>("found: false");
  EXPECT_EQ(RenderGet(missing, false, OutputFormat::kTable), "");
  EXPECT_NE(RenderGet(missing, false, OutputFormat::kJson).find("\"found\":false"),
            std::string::npos);
}

TEST(RenderTest, RangeShowsPagingAndCount) {
  const auto page = Parse<v1::RangeResponse>(
      "kvs { key: 'a' value: '1' version: 1 expiry_unix_ms: 1700000000123 } "
      "kvs { key: 'b' value: '2' version: 1 } count: 5 more: true next_key: 'c'");
  EXPECT_EQ(RenderRange(page, true, false, OutputFormat::kTable),
            "KEY  VERSION  CREATE_REV  MOD_REV  EXPIRES\n"
            "a    1        0           0        2023-11-14T22:13:20.123Z\n"
            "b    1        0           0        -\n"
            "(2 of 5 keys; more from \"c\", or pass --all)\n");
  EXPECT_EQ(RenderRange(page, false, true, OutputFormat::kTable), "5\n");
  const std::string json = RenderRange(page, true, false, OutputFormat::kJson);
  EXPECT_NE(json.find("\"count\":5"), std::string::npos);
  EXPECT_NE(json.find("\"more\":true,\"next_key\":\"c\""), std::string::npos);
  EXPECT_EQ(json.find("\"value\""), std::string::npos);
}

TEST(RenderTest, TxnSaysWhichBranchRan) {
  const auto txn = Parse<v1::TxnResponse>(
      "succeeded: false revision: 9 responses { range { kvs { key: 'k' value: 'v' } } } "
      "responses { put { revision: 9 } } responses { delete { deleted: 1 } } "
      "responses { range { } }");
  EXPECT_EQ(RenderTxn(txn, OutputFormat::kTable),
            "FAILED (the else branch ran) revision 9\n"
            "get:\n"
            "KEY  VALUE  VERSION  CREATE_REV  MOD_REV  EXPIRES\n"
            "k    v      0        0           0        -\n"
            "put: OK\n"
            "del: deleted 1\n"
            "get: not found\n");
  const std::string json = RenderTxn(txn, OutputFormat::kJson);
  EXPECT_NE(json.find("\"succeeded\":false"), std::string::npos);
  EXPECT_NE(json.find("{\"op\":\"put\",\"revision\":9}"), std::string::npos);
  EXPECT_NE(json.find("{\"op\":\"del\",\"deleted\":1}"), std::string::npos);
}

// Lag = the leader's commit index - the replica's applied index; without a
// leader, the highest commit index any replica reports.
TEST(RenderTest, ReplicaLag) {
  const auto led = Parse<v1::Partition>(
      "id: 1 leader_id: 2 replicas { member_id: 1 commit_index: 90 applied_index: 80 } "
      "replicas { member_id: 2 commit_index: 100 applied_index: 100 } "
      "replicas { member_id: 3 commit_index: 100 applied_index: 120 }");
  EXPECT_EQ(ReplicaLag(led, led.replicas(0)), 20u);
  EXPECT_EQ(ReplicaLag(led, led.replicas(1)), 0u);
  EXPECT_EQ(ReplicaLag(led, led.replicas(2)), 0u);
  const auto leaderless = Parse<v1::Partition>(
      "id: 1 replicas { member_id: 1 commit_index: 90 applied_index: 85 } "
      "replicas { member_id: 2 commit_index: 95 applied_index: 95 }");
  EXPECT_EQ(ReplicaLag(leaderless, leaderless.replicas(0)), 10u);
}

TEST(RenderTest, ClusterStatusTable) {
  const auto partitions = Parse<v1::PartitionListResponse>(
      "partitions { id: 1 hash_start: 0 hash_end: 0x7fffffffffffffff leader_id: 2 "
      "  replicas { member_id: 2 role: LEADER term: 4 commit_index: 100 applied_index: 100 "
      "             match_index: 100 } "
      "  replicas { member_id: 1 role: FOLLOWER term: 4 commit_index: 100 applied_index: 97 "
      "             match_index: 100 } } "
      "partitions { id: 0 leader_id: 0 "
      "  replicas { member_id: 1 role: CANDIDATE term: 7 commit_index: 5 applied_index: 5 } }");
  EXPECT_EQ(RenderClusterStatus(partitions, OutputFormat::kTable),
            "PARTITION      HASH_RANGE                         MEMBER  ROLE       TERM  COMMIT  "
            "APPLIED  MATCH  LAG\n"
            "0 (no leader)  meta                               1       candidate  7     5       "
            "5        -      0\n"
            "1              0000000000000000-7fffffffffffffff  1       follower   4     100     "
            "97       100    3\n"
            "                                                  2       leader     4     100     "
            "100      100    0\n");
  const std::string json = RenderClusterStatus(partitions, OutputFormat::kJson);
  EXPECT_NE(json.find("\"role\":\"follower\",\"term\":4,\"commit_index\":100,"
                      "\"applied_index\":97,\"match_index\":100,\"lag\":3"),
            std::string::npos)
      << json;
}

TEST(RenderTest, MembersSortedById) {
  const auto members = Parse<v1::MemberListResponse>(
      "members { id: 3 client_address: 'h3:7003' peer_address: 'h3:7103' } "
      "members { id: 1 client_address: 'h1:7001' peer_address: 'h1:7101' "
      "          metrics_address: 'h1:9101' }");
  EXPECT_EQ(RenderMembers(members, OutputFormat::kTable),
            "ID  CLIENT_ADDRESS  PEER_ADDRESS  METRICS_ADDRESS\n"
            "1   h1:7001         h1:7101       h1:9101\n"
            "3   h3:7003         h3:7103\n");
}

TEST(RenderTest, EndpointHealthShowsErrors) {
  std::vector<EndpointHealth> rows;
  rows.push_back({"a:1", Parse<v1::HealthResponse>("healthy: true")});
  rows.push_back({"b:2", absl::UnavailableError("connection refused")});
  EXPECT_EQ(RenderEndpointHealth(rows, OutputFormat::kTable),
            "ENDPOINT  HEALTHY  REASON\n"
            "a:1       true\n"
            "b:2       false    UNAVAILABLE: connection refused\n");
  EXPECT_EQ(RenderEndpointHealth(rows, OutputFormat::kJson),
            "[{\"endpoint\":\"a:1\",\"healthy\":true},{\"endpoint\":\"b:2\",\"healthy\":false,"
            "\"error\":\"UNAVAILABLE: connection refused\"}]\n");
}

// Replicas at one applied index must hash alike; different indexes may differ.
TEST(RenderTest, HashesAndMismatches) {
  std::vector<EndpointHash> rows;
  rows.push_back(
      {"a:1", Parse<v1::PartitionHashResponse>(
                  "header { member_id: 1 } applied_index: 50 applied_term: 2 hash: 255")});
  rows.push_back({"b:2", Parse<v1::PartitionHashResponse>(
                             "header { member_id: 2 } applied_index: 49 applied_term: 2 hash: 7")});
  rows.push_back({"c:3", absl::NotFoundError("partition 4 is not hosted on node 3")});
  EXPECT_EQ(HashMismatch(rows), "");
  EXPECT_EQ(RenderHashes(rows, 4, OutputFormat::kTable),
            "ENDPOINT  MEMBER  APPLIED  TERM  HASH              ERROR\n"
            "a:1       1       50       2     00000000000000ff\n"
            "b:2       2       49       2     0000000000000007\n"
            "c:3       -       -        -     -                 NOT_FOUND: partition 4 is not "
            "hosted on node 3\n");
  rows.push_back({"d:4", Parse<v1::PartitionHashResponse>(
                             "header { member_id: 4 } applied_index: 50 applied_term: 2 hash: 1")});
  EXPECT_EQ(HashMismatch(rows),
            "members 1 and 4 hold different state at applied index 50 "
            "(00000000000000ff vs 0000000000000001)");
  EXPECT_NE(RenderHashes(rows, 4, OutputFormat::kJson).find("\"consistent\":false"),
            std::string::npos);
}

TEST(RenderTest, LogLevelPerEndpoint) {
  std::vector<EndpointLogLevel> rows;
  rows.push_back({"a:1", Parse<v1::SetLogLevelResponse>("previous_level: 'info'")});
  rows.push_back({"b:2", absl::InvalidArgumentError("level \"loud\" is unknown")});
  EXPECT_EQ(
      RenderLogLevel(rows, "debug", OutputFormat::kJson),
      "[{\"endpoint\":\"a:1\",\"level\":\"debug\",\"previous_level\":\"info\"},"
      "{\"endpoint\":\"b:2\",\"error\":\"INVALID_ARGUMENT: level \\\"loud\\\" is unknown\"}]\n");
}

}  // namespace
}  // namespace rkv::cli
