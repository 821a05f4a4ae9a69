#!/usr/bin/env bash
# Compares two rkvd builds on this machine by running them side by side: two
# fresh 3-node clusters at once, each under its own rkvctl bench, so both see
# the same machine. On a shared or virtual machine the speed of the same
# binary drifts by 20-40% from one minute to the next, which hides a 10%
# change between runs taken one after the other; side by side, the drift hits
# both alike. Compare the servers' CPU per operation. How the clusters split
# the cores also depends on their latencies and thread counts (Linux shares
# the CPU between threads), so confirm a throughput gain with
# deploy/bench-cluster.sh runs of each build in turn.
#   deploy/bench-ab.sh DIR_A DIR_B [WORKLOAD] [ROUNDS]
# DIR_A and DIR_B each hold an rkvd and rkvctl (for example a copy of build/bin). WORKLOAD
# is write, read, serializable or echo (default write); ROUNDS defaults to 3,
# and the clusters swap ports every round. RKV_BENCH_SECONDS (default 8) and
# RKV_BENCH_CLIENTS (default 128 per cluster) tune each run.
# Uses ports 7201-7203, 7301-7303, 9301-9303 and 7401-7403, 7501-7503,
# 9501-9503; stops the nodes it started, also when interrupted.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rkvctl=$root/build/bin/rkvctl
[ $# -ge 2 ] || { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
dir_a=$(cd "$1" && pwd)
dir_b=$(cd "$2" && pwd)
workload=${3:-write}
rounds=${4:-3}
seconds=${RKV_BENCH_SECONDS:-8}
clients=${RKV_BENCH_CLIENTS:-128}
for dir in "$dir_a" "$dir_b"; do
  if [ ! -x "$dir/rkvd" ] || [ ! -x "$dir/rkvctl" ]; then
    echo "no rkvd and rkvctl in $dir" >&2
    exit 2
  fi
done
case $workload in
  write | read | echo) bench_args=("$workload") ;;
  serializable) bench_args=(read --serializable) ;;
  *) echo "unknown workload $workload (write, read, serializable, echo)" >&2; exit 2 ;;
esac

work=$(mktemp -d /tmp/rkv-ab.XXXXXX)
# Each cluster is deploy/local-cluster.sh on its own ports and data dir.
stop_all() {
  local side
  for side in a b; do
    RKV_DATA=$work/$side bash "$root/deploy/local-cluster.sh" stop >/dev/null 2>&1 || true
  done
}
trap 'stop_all; rm -rf "$work"' EXIT INT TERM

endpoints_of() { echo "127.0.0.1:$(($1 + 1)),127.0.0.1:$(($1 + 2)),127.0.0.1:$(($1 + 3))"; }

start_cluster() {  # DIR BASE DATA, then the same prefill as bench-cluster.sh
  RKV_BIN=$1 RKV_PORT_BASE=$2 RKV_DATA=$3 bash "$root/deploy/local-cluster.sh" start >/dev/null
  "$rkvctl" --endpoints "$(endpoints_of "$2")" bench write --clients "$clients" --total 1000 \
    --key-size 32 --value-size 256 --key-space 100000 --prefill --no-progress >/dev/null
}

run_bench() {  # BASE DATA OUT
  "$rkvctl" --endpoints "$(endpoints_of "$1")" bench "${bench_args[@]}" --clients "$clients" \
    --duration "${seconds}s" --warmup 2s --key-size 32 --value-size 256 --key-space 100000 \
    --no-progress --server-pids "$(cat "$2"/node*.pid | paste -sd, -)" >"$3" 2>&1
}

summary() {  # OUT
  local ops cpu p99
  ops=$(sed -n 's/^throughput *\([0-9]*\) ops\/s.*/\1/p' "$1")
  cpu=$(sed -n 's/^server cpu.* = \([0-9.]*\) us\/op.*/\1/p' "$1")
  p99=$(sed -n 's/.* p99 \([0-9.]*\) .*/\1/p' "$1")
  printf '%8s ops/s %8s us/op  p99 %s ms' "${ops:-?}" "${cpu:-?}" "${p99:-?}"
}

echo "$workload, $clients clients per cluster, ${seconds} s per round; A=$dir_a B=$dir_b"
for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) = 1 ]; then base_a=7200 base_b=7400; else base_a=7400 base_b=7200; fi
  start_cluster "$dir_a" $base_a "$work/a"
  start_cluster "$dir_b" $base_b "$work/b"
  run_bench $base_a "$work/a" "$work/a.out" &
  bench_a=$!
  run_bench $base_b "$work/b" "$work/b.out" &
  bench_b=$!
  wait $bench_a $bench_b || true
  echo "round $round  A: $(summary "$work/a.out")   B: $(summary "$work/b.out")"
  stop_all
  rm -rf "$work/a" "$work/b"
done
