#!/usr/bin/env bash
# Starts, stops or shows a 3-node rkv cluster on 127.0.0.1: clients on
# 7001-7003, peers on 7101-7103, metrics on 9101-9103, data and logs under
# ./data (RKV_DATA overrides). Used by `make cluster` and `make stop`.
# RKV_PORT_BASE=B (default 7000) moves the ports to B+1.., B+101.. and
# B+2101.., so a second cluster can run beside the first (deploy/bench-ab.sh).
# Stops only the processes it started (by the PIDs it recorded).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${RKV_BIN:-$root/build/bin}
data=${RKV_DATA:-$root/data}
base=${RKV_PORT_BASE:-7000}
nodes=3
endpoints=127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2)),127.0.0.1:$((base + 3))
initial=1=127.0.0.1:$((base + 101)),2=127.0.0.1:$((base + 102)),3=127.0.0.1:$((base + 103))

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
  mkdir -p "$data"
  for i in $(seq 1 $nodes); do
    pid_file=$data/node$i.pid
    if alive "$pid_file"; then
      echo "node $i is already running (pid $(cat "$pid_file"))"
      continue
    fi
    nohup "$bin/rkvd" --node-id="$i" \
      --client-address="127.0.0.1:$((base + i))" --peer-address="127.0.0.1:$((base + 100 + i))" \
      --metrics-address="127.0.0.1:$((base + 2100 + i))" --data-dir="$data/node$i" \
      --initial-cluster="$initial" >>"$data/node$i.log" 2>&1 &
    echo $! >"$pid_file"
  done
  # Ready once every node reports a leader for every partition it hosts.
  for _ in $(seq 1 150); do
    for i in $(seq 1 $nodes); do
      if ! alive "$data/node$i.pid"; then
        echo "node $i exited; the end of its log ($data/node$i.log):" >&2
        tail -n 20 "$data/node$i.log" >&2
        exit 1
      fi
    done
    if "$bin/rkvctl" --endpoints "$endpoints" endpoint health >/dev/null 2>&1; then
      cat <<TXT
rkv is running: 3 nodes, clients on 127.0.0.1:$((base + 1))-$((base + 3)), metrics on 127.0.0.1:$((base + 2101))-$((base + 2103)).
Data and logs are in $data. Try:
  $bin/rkvctl --endpoints $endpoints put hello world
  $bin/rkvctl --endpoints $endpoints get hello
  $bin/rkvctl --endpoints $endpoints range --prefix h
  $bin/rkvctl --endpoints $endpoints cluster status
  $bin/rkvctl --endpoints $endpoints bench --workload write --clients 64 --duration 10s
Stop it with: make stop
TXT
      return 0
    fi
    sleep 0.2
  done
  echo "the cluster did not elect every partition's leader within 30 s; logs are in $data" >&2
  exit 1
}

stop() {
  for i in $(seq 1 $nodes); do
    pid_file=$data/node$i.pid
    if ! alive "$pid_file"; then
      rm -f "$pid_file"
      continue
    fi
    pid=$(cat "$pid_file")
    kill -TERM "$pid"
    # SIGTERM stops gracefully; give it 10 s before SIGKILL.
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    rm -f "$pid_file"
    echo "stopped node $i (pid $pid)"
  done
}

status() {
  for i in $(seq 1 $nodes); do
    if alive "$data/node$i.pid"; then echo "node $i: running (pid $(cat "$data/node$i.pid"))"; else echo "node $i: stopped"; fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
