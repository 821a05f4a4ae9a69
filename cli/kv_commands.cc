#include "cli/kv_commands.h"

#include <cstdio>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "cli/render.h"
#include "cli/txn_parser.h"

namespace rkv::cli {
namespace {

// Values read from stdin or a file are bounded well above the server's limit
// so the server, not rkvctl, names the limit.
constexpr size_t kMaxInputBytes = 64 << 20;
// `range --all` collects at most this many keys.
constexpr uint64_t kMaxAllKeys = 1'000'000;

void Print(const std::string& text) { std::fwrite(text.data(), 1, text.size(), stdout); }

struct PutFlags {
  std::string key;
  std::string value;
  std::string value_file;
  std::string ttl;
  bool prev_kv = false;
};

int RunPut(const PutFlags& flags, const Globals& globals) {
  v1::PutRequest request;
  request.set_key(flags.key);
  request.set_prev_kv(flags.prev_kv);
  if (!flags.value_file.empty()) {
    if (!flags.value.empty()) return ReportUsage("put", "give a value or --value-file, not both");
    absl::StatusOr<std::string> value = ReadInput(flags.value_file, kMaxInputBytes);
    if (!value.ok()) return ReportUsage("put", value.status().message());
    request.set_value(*std::move(value));
  } else {
    request.set_value(flags.value);
  }
  if (!flags.ttl.empty()) {
    absl::StatusOr<absl::Duration> ttl = ParsePositiveDuration("--ttl", flags.ttl);
    if (!ttl.ok()) return ReportUsage("put", ttl.status().message());
    request.set_ttl_ms(static_cast<uint64_t>(absl::ToInt64Milliseconds(*ttl)));
  }
  absl::StatusOr<std::unique_ptr<client::Client>> client = globals.Connect(false);
  if (!client.ok()) return ReportError("put", client.status());
  absl::StatusOr<v1::PutResponse> response = (*client)->Put(request, globals.Deadline());
  if (!response.ok()) return ReportError("put", response.status());
  Print(RenderPut(*response, globals.format));
  return kExitOk;
}

struct GetFlags {
  std::string key;
  bool serializable = false;
  bool value_only = false;
};

int RunGet(const GetFlags& flags, const Globals& globals) {
  v1::GetRequest request;
  request.set_key(flags.key);
  request.set_serializable(flags.serializable);
  absl::StatusOr<std::unique_ptr<client::Client>> client = globals.Connect(false);
  if (!client.ok()) return ReportError("get", client.status());
  absl::StatusOr<v1::GetResponse> response = (*client)->Get(request, globals.Deadline());
  if (!response.ok()) return ReportError("get", response.status());
  Print(RenderGet(*response, flags.value_only, globals.format));
  if (!response->found()) {
    if (globals.format == OutputFormat::kTable) {
      std::fprintf(stderr, "rkvctl get: key \"%s\" not found\n",
                   EscapeForTerminal(flags.key).c_str());
    }
    return kExitNotFound;
  }
  return kExitOk;
}

struct DelFlags {
  std::string key;
  bool prev_kv = false;
};

int RunDel(const DelFlags& flags, const Globals& globals) {
  v1::DeleteRequest request;
  request.set_key(flags.key);
  request.set_prev_kv(flags.prev_kv);
  absl::StatusOr<std::unique_ptr<client::Client>> client = globals.Connect(false);
  if (!client.ok()) return ReportError("del", client.status());
  absl::StatusOr<v1::DeleteResponse> response = (*client)->Delete(request, globals.Deadline());
  if (!response.ok()) return ReportError("del", response.status());
  Print(RenderDelete(*response, globals.format));
  return kExitOk;
}

struct RangeFlags {
  std::string key;
  std::string range_end;
  bool prefix = false;
  bool from_key = false;
  uint64_t limit = 0;
  bool keys_only = false;
  bool count_only = false;
  bool serializable = false;
  bool all = false;
};

int RunRange(const RangeFlags& flags, const Globals& globals) {
  if (flags.prefix + flags.from_key + !flags.range_end.empty() > 1) {
    return ReportUsage("range", "give at most one of RANGE_END, --prefix and --from-key");
  }
  if (flags.all && flags.count_only) {
    return ReportUsage("range", "--all and --count-only do not go together");
  }
  v1::RangeRequest request;
  request.set_key(flags.key);
  request.set_range_end(flags.from_key ? std::string(1, '\0') : flags.range_end);
  request.set_prefix(flags.prefix);
  request.set_limit(flags.limit);
  request.set_keys_only(flags.keys_only);
  request.set_count_only(flags.count_only);
  request.set_serializable(flags.serializable);
  absl::StatusOr<std::unique_ptr<client::Client>> client = globals.Connect(false);
  if (!client.ok()) return ReportError("range", client.status());
  if (flags.all) {
    absl::StatusOr<std::vector<v1::KeyValue>> kvs =
        (*client)->RangeAll(request, kMaxAllKeys, globals.Deadline());
    if (!kvs.ok()) return ReportError("range", kvs.status());
    Print(RenderKeyValues(*kvs, flags.keys_only, globals.format));
    return kExitOk;
  }
  absl::StatusOr<v1::RangeResponse> response = (*client)->Range(request, globals.Deadline());
  if (!response.ok()) return ReportError("range", response.status());
  Print(RenderRange(*response, flags.keys_only, flags.count_only, globals.format));
  return kExitOk;
}

struct TxnFlags {
  std::string text;
  std::string file;
};

int RunTxn(const TxnFlags& flags, const Globals& globals) {
  std::string text = flags.text;
  if (!flags.file.empty() || text.empty()) {
    if (!flags.file.empty() && !text.empty()) {
      return ReportUsage("txn", "give the txn as an argument or with --file, not both");
    }
    absl::StatusOr<std::string> read =
        ReadInput(flags.file.empty() ? "-" : flags.file, kMaxTxnTextBytes);
    if (!read.ok()) return ReportUsage("txn", read.status().message());
    text = *std::move(read);
  }
  absl::StatusOr<v1::TxnRequest> request = ParseTxn(text);
  if (!request.ok()) return ReportUsage("txn", request.status().message());
  absl::StatusOr<std::unique_ptr<client::Client>> client = globals.Connect(false);
  if (!client.ok()) return ReportError("txn", client.status());
  absl::StatusOr<v1::TxnResponse> response = (*client)->Txn(*request, globals.Deadline());
  if (!response.ok()) return ReportError("txn", response.status());
  Print(RenderTxn(*response, globals.format));
  return response->succeeded() ? kExitOk : kExitTxnFailed;
}

}  // namespace

void AddKvCommands(CLI::App& app, CommandSet& commands) {
  {
    auto flags = std::make_shared<PutFlags>();
    CLI::App* put = app.add_subcommand("put", "Set a key's value");
    put->add_option("key", flags->key, "The key")->required();
    put->add_option("value", flags->value, "The value (or use --value-file)");
    put->add_option("--value-file", flags->value_file, "Read the value from a file (- for stdin)");
    put->add_option("--ttl", flags->ttl, "Expire the key after this long (e.g. 30s, 24h)");
    put->add_flag("--prev-kv", flags->prev_kv, "Print the previous key-value");
    commands.Add(put, [flags](const Globals& g) { return RunPut(*flags, g); });
  }
  {
    auto flags = std::make_shared<GetFlags>();
    CLI::App* get = app.add_subcommand("get", "Read a key (exit code 3 when it does not exist)");
    get->add_option("key", flags->key, "The key")->required();
    get->add_flag("--serializable", flags->serializable,
                  "Read from any replica without confirming leadership (faster, may be stale)");
    get->add_flag("--value-only", flags->value_only, "Print only the raw value");
    commands.Add(get, [flags](const Globals& g) { return RunGet(*flags, g); });
  }
  {
    auto flags = std::make_shared<DelFlags>();
    CLI::App* del = app.add_subcommand("del", "Delete a key");
    del->add_option("key", flags->key, "The key")->required();
    del->add_flag("--prev-kv", flags->prev_kv, "Print the deleted key-value");
    commands.Add(del, [flags](const Globals& g) { return RunDel(*flags, g); });
  }
  {
    auto flags = std::make_shared<RangeFlags>();
    CLI::App* range = app.add_subcommand(
        "range", "Read keys in [KEY, RANGE_END), with a prefix, or from a key on");
    range->alias("scan");
    range->add_option("key", flags->key, "The first key (or the prefix)")->required();
    range->add_option("range_end", flags->range_end, "The end of the range (exclusive)");
    range->add_flag("--prefix", flags->prefix, "Read every key starting with KEY");
    range->add_flag("--from-key", flags->from_key, "Read every key >= KEY");
    range->add_option("--limit", flags->limit, "At most this many keys (0: the server's page)");
    range->add_flag("--keys-only", flags->keys_only, "Print keys without values");
    range->add_flag("--count-only", flags->count_only, "Print only the number of keys");
    range->add_flag("--serializable", flags->serializable, "Read from any replica (may be stale)");
    range->add_flag("--all", flags->all, "Follow pages until the end or --limit");
    commands.Add(range, [flags](const Globals& g) { return RunRange(*flags, g); });
  }
  {
    auto flags = std::make_shared<TxnFlags>();
    CLI::App* txn = app.add_subcommand(
        "txn",
        "Run a compare-and-swap transaction (exit code 4 when the compares fail).\n"
        "Syntax: [if COMPARE [and COMPARE]...] then OP... [else OP...]\n"
        "  COMPARE: value(K) == \"v\" | version(K) > 3 | create(K) == 0 | mod(K) < 9\n"
        "           | exists(K) | missing(K) | !exists(K)   (==, !=, >, <)\n"
        "  OP: put K V [ttl=30s] | del K | get K\n"
        "Quote words with \"...\"; # starts a comment. Keys must share one partition\n"
        "(use {hash tags}). Example:\n"
        "  rkvctl txn 'if value({a}:x) == 1 then put {a}:x 2 else get {a}:x'");
    txn->add_option("txn", flags->text, "The transaction text (default: read stdin)");
    txn->add_option("-f,--file", flags->file, "Read the transaction from a file");
    commands.Add(txn, [flags](const Globals& g) { return RunTxn(*flags, g); });
  }
}

}  // namespace rkv::cli
