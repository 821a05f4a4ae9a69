#!/usr/bin/env bash
# Measures a fresh 3-node cluster of the optimized build on this machine with
# rkvctl bench: the echo ceiling (one unary call per operation, carrying the
# value size each way), then writes, linearizable reads and serializable
# reads, each at every concurrency given. 32-byte keys, 256-byte values, a
# 100k-key space, fsync on. Prints one line per run and, with the servers'
# PIDs, their CPU per op.
# Before each run it waits (up to RKV_BENCH_SETTLE seconds, default 60) until
# the servers are idle, so a run's CPU per op does not carry the flushes and
# compactions that the runs before it left behind.
#   deploy/bench-cluster.sh [SECONDS] [CLIENTS...]     (defaults: 10 s; 1 16 256 512)
# rkvd settings go in its RKV_* environment variables (for example
# RKV_METRICS=false to measure what metrics cost). RKV_BENCH_WORKLOADS picks
# some of: echo write read serializable (default: all four).
# RKV_BENCH_WARMUP (default 2s) is each run's unmeasured start; a long one
# (30s) lets point reads fill the row cache first, as on a node that has run
# for a while.
# RKV_BENCH_THREADS=1 adds, under each run, the servers' CPU time and context
# switches per op by thread name (gRPC's pollers, the driver, the apply
# worker, RocksDB's flush and compaction threads): where an op's CPU goes.
# Uses ports 7001-7003, 7101-7103 and 9101-9103 and a temporary data dir; it
# stops the nodes it started, also when interrupted.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/build/bin
seconds=${1:-10}
shift || true
clients=("$@")
[ ${#clients[@]} -gt 0 ] || clients=(1 16 256 512)
data=$(mktemp -d /tmp/rkv-bench.XXXXXX)
endpoints=127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003
cleanup() { RKV_DATA=$data bash "$root/deploy/local-cluster.sh" stop >/dev/null 2>&1 || true; rm -rf "$data"; }
trap cleanup EXIT INT TERM

RKV_DATA=$data bash "$root/deploy/local-cluster.sh" start >/dev/null
pids=$(cat "$data"/node*.pid | paste -sd, -)
common=(--endpoints "$endpoints" bench --duration "${seconds}s" --warmup "${RKV_BENCH_WARMUP:-2s}"
        --key-size 32 --value-size 256 --key-space 100000 --server-pids "$pids" --no-progress)

# The servers' CPU time so far, in clock ticks.
server_ticks() {
  local pid total=0
  for pid in ${pids//,/ }; do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$total"
}

# Waits until the servers together used under 5% of a core over a second.
settle() {
  local hz before after
  hz=$(getconf CLK_TCK)
  for _ in $(seq 1 "${RKV_BENCH_SETTLE:-60}"); do
    before=$(server_ticks)
    sleep 1
    after=$(server_ticks)
    [ $(((after - before) * 20)) -lt "$hz" ] && return 0
  done
  echo "the servers were still busy after ${RKV_BENCH_SETTLE:-60} s; measuring anyway" >&2
}

# One line per server thread: "name cpu_ticks context_switches".
thread_counters() {
  local pid task
  for pid in ${pids//,/ }; do
    for task in /proc/"$pid"/task/*; do
      # The fields after the thread's name, which is in parentheses.
      awk -v name="$(tr ' ' _ 2>/dev/null <"$task/comm")" \
        'FNR == NR {sub(/.*\) /, ""); ticks = $12 + $13; next}
         /ctxt_switches/ {switches += $2}
         END {print name, ticks, switches}' "$task/stat" "$task/status" 2>/dev/null || true
    done
  done
}

# CPU time and context switches per op by thread name, from two
# thread_counters snapshots taken `wall` seconds apart: the run's warmup is
# included, counted at the run's measured rate.
thread_breakdown() {
  local before=$1 after=$2 wall=$3 ops=$4
  awk -v wall="$wall" -v ops="$ops" -v hz="$(getconf CLK_TCK)" '
    FNR == NR {ticks[$1] -= $2; switches[$1] -= $3; next}
    {ticks[$1] += $2; switches[$1] += $3}
    END {
      for (name in ticks) {
        us = ticks[name] / hz * 1e6 / (wall * ops)
        if (us >= 0.5) printf "  %-18s %8.1f us/op %6.2f switches/op\n", name, us, switches[name] / (wall * ops)
      }
    }' <(echo "$before") <(echo "$after") | sort -k2 -nr
}

run() {
  local label=$1 n=$2
  shift 2
  local out before started
  settle
  [ "${RKV_BENCH_THREADS:-0}" = 1 ] && before=$(thread_counters)
  started=$(date +%s%N)
  out=$("$bin/rkvctl" "${common[@]}" --clients "$n" "$@" 2>&1) || true
  local ops p99 cpu failed
  ops=$(sed -n 's/^throughput *\([0-9]*\) ops\/s.*/\1/p' <<<"$out")
  p99=$(sed -n 's/.* p99 \([0-9.]*\) .*/\1/p' <<<"$out")
  cpu=$(sed -n 's/^server cpu.* = \([0-9.]*\) us\/op.*/\1/p' <<<"$out")
  failed=$(sed -n 's/^operations.* \([0-9]*\) failed.*/\1/p' <<<"$out")
  printf '%-14s %7s %10s %10s %12s %8s\n' "$label" "$n" "${ops:-?}" "${p99:-?}" "${cpu:-?}" "${failed:-?}"
  if [ "${RKV_BENCH_THREADS:-0}" = 1 ] && [ -n "$ops" ] && [ "$ops" -gt 0 ]; then
    thread_breakdown "$before" "$(thread_counters)" "$((($(date +%s%N) - started) / 1000000))e-3" "$ops"
  fi
}

printf '%-14s %7s %10s %10s %12s %8s\n' workload clients "ops/s" "p99 ms" "server us/op" failed
"$bin/rkvctl" --endpoints "$endpoints" bench write --clients 256 --total 1000 --key-size 32 \
  --value-size 256 --key-space 100000 --prefill --no-progress >/dev/null 2>&1 || true
for workload in ${RKV_BENCH_WORKLOADS:-echo write read serializable}; do
  for n in "${clients[@]}"; do
    case $workload in
      echo | write | read) run "$workload" "$n" "$workload" ;;
      serializable) run serializable "$n" read --serializable ;;
      *) echo "unknown workload $workload (echo, write, read, serializable)" >&2; exit 2 ;;
    esac
  done
done
