#!/usr/bin/env bash
# End-to-end test of the compose cluster (not part of `make test`: it builds
# images and runs containers). Needs root or sudo; installs Docker from
# Debian and starts dockerd if needed (through deploy/docker-up.sh).
#
#   deploy/test-compose.sh
#
# 1. brings the cluster up (project rkvtest, host ports 17001-17003 and 19090,
#    so it does not collide with `make cluster` or a user's compose cluster)
#    and waits until every node is healthy;
# 2. writes 1,000 keys through each node with rkvctl, then reads all of them
#    back through each node;
# 3. stops rkv3 and keeps writing 1,000 keys through rkv1 and rkv2;
# 4. starts rkv3 again and waits until its own replicas (serializable reads)
#    hold every key;
# 5. checks Prometheus reports up == 1 for all three nodes and loaded the
#    alerting rules;
# 6. tears everything down and removes the volumes (also on failure).
#
# The image is built from the working tree; RKV_BUILD_FROM=HEAD builds the
# last commit instead (see deploy/docker-up.sh).
# rkvctl: $RKVCTL, else build/bin/rkvctl, else the one inside the image
# (copied out; the host needs the runtime libraries, which deploy/install-deps.sh installs).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-rkvtest}
export RKV1_PORT=${RKV1_PORT:-17001} RKV2_PORT=${RKV2_PORT:-17002} RKV3_PORT=${RKV3_PORT:-17003}
export PROMETHEUS_PORT=${PROMETHEUS_PORT:-19090}
keys=${KEYS:-1000}
ports=("$RKV1_PORT" "$RKV2_PORT" "$RKV3_PORT")
all=127.0.0.1:$RKV1_PORT,127.0.0.1:$RKV2_PORT,127.0.0.1:$RKV3_PORT
started=$(date +%s)
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
as_root() { if [ -n "$sudo" ]; then sudo -E "$@"; else "$@"; fi; }

say() { printf '[%4ds] %s\n' $(($(date +%s) - started)) "$*"; }
fail() { say "FAIL: $*"; exit 1; }

if command -v docker-compose >/dev/null; then compose=(docker-compose); else compose=(docker compose); fi
compose+=(-p "$COMPOSE_PROJECT_NAME" -f "$here/docker-compose.yml")
dc() { as_root "${compose[@]}" "$@"; }

tmp=$(mktemp -d /tmp/rkv-test-compose.XXXXXX)
teardown() {
  local rc=$?
  if [ $rc -ne 0 ] && command -v docker >/dev/null && as_root docker info >/dev/null 2>&1; then
    say "logs of the failed run (last 30 lines per service):"
    dc logs --no-color --tail 30 2>&1 | sed 's/^/  /' || true
  fi
  say "tearing down (containers, network, volumes)"
  dc down -v --remove-orphans >/dev/null 2>&1 || true
  rm -rf "$tmp"
  if [ $rc -eq 0 ]; then say "PASS"; else say "FAILED (exit $rc)"; fi
  exit $rc
}

for p in "${ports[@]}" "$PROMETHEUS_PORT"; do
  if ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then
    fail "port $p on the host is taken; set RKV1_PORT..RKV3_PORT / PROMETHEUS_PORT"
  fi
done

# 1. Up (installs, starts dockerd, builds the base and the images).
say "bringing the cluster up (deploy/docker-up.sh)"
trap teardown EXIT
trap 'exit 143' INT TERM
# stderr too, line-buffered: a failure's message lands next to what failed.
bash "$here/docker-up.sh" up 2>&1 | sed -u 's/^/  /'
for s in rkv1 rkv2 rkv3 prometheus; do
  id=$(dc ps -q "$s")
  [ -n "$id" ] || fail "no container for $s"
done
say "3 nodes healthy; images: $(as_root docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' \
  | grep -E '^(rkv|rkv-prometheus|debian):' | tr '\n' ',' | sed 's/,$//; s/,/, /g')"

# rkvctl on the host.
rkvctl=${RKVCTL:-}
if [ -z "$rkvctl" ] && [ -x "$root/build/bin/rkvctl" ]; then rkvctl=$root/build/bin/rkvctl; fi
if [ -z "$rkvctl" ]; then
  cid=$(as_root docker create rkv:latest)
  as_root docker cp "$cid:/usr/local/bin/rkvctl" "$tmp/rkvctl" >/dev/null
  as_root docker rm -v "$cid" >/dev/null  # -v: the image declares a VOLUME
  rkvctl=$tmp/rkvctl
fi
"$rkvctl" --help >/dev/null || fail "$rkvctl does not run on this host"
say "rkvctl: $rkvctl"

# A put, retried (bounded) while a partition elects a new leader: exit 5 is
# "not applied, retry later"; exit 6 "outcome unknown" is safe to retry here
# because the write is idempotent (same key, same value).
retries=0
put() {
  local endpoint=$1 key=$2 value=$3 rc
  for _ in $(seq 1 50); do
    rc=0
    "$rkvctl" --endpoints "$endpoint" put "$key" "$value" >/dev/null 2>"$tmp/err" || rc=$?
    [ $rc -eq 0 ] && return 0
    case $rc in 5|6) retries=$((retries + 1)); sleep 0.2 ;; *) cat "$tmp/err" >&2; return $rc ;; esac
  done
  cat "$tmp/err" >&2
  return 1
}

# Every expected key=value, sorted, against what a range through one node says.
check_all() {
  local endpoint=$1 expected=$2
  shift 2
  "$rkvctl" --endpoints "$endpoint" -o json range t/ --prefix --all "$@" >"$tmp/range.json" \
    || return 1
  /usr/bin/python3 - "$tmp/range.json" >"$tmp/got" <<'PY'
import json, sys
# One JSON document per page (--all may print several).
text, pos, dec = open(sys.argv[1]).read(), 0, json.JSONDecoder()
while True:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if pos == len(text):
        break
    doc, pos = dec.raw_decode(text, pos)
    for kv in doc.get("kvs", []):
        print(f"{kv['key']}={kv['value']}")
PY
  sort -o "$tmp/got" "$tmp/got"
  cmp -s "$tmp/got" "$expected"
}

# 2. 1,000 keys through each node, then every key read through each node.
: >"$tmp/expected"
t0=$(date +%s)
for n in 1 2 3; do
  for k in $(seq 1 "$keys"); do
    put "127.0.0.1:${ports[$((n - 1))]}" "t/n$n/$k" "v$n-$k" || fail "put t/n$n/$k through rkv$n"
    echo "t/n$n/$k=v$n-$k" >>"$tmp/expected"
  done
done
sort -o "$tmp/expected" "$tmp/expected"
say "wrote $((3 * keys)) keys, $keys through each node, in $(($(date +%s) - t0)) s ($retries retries)"
for n in 1 2 3; do
  ep=127.0.0.1:${ports[$((n - 1))]}
  check_all "$ep" "$tmp/expected" || fail "a range through rkv$n does not return exactly the $((3 * keys)) keys"
  for k in 1 $((keys / 2)) "$keys"; do
    for m in 1 2 3; do
      v=$("$rkvctl" --endpoints "$ep" get --value-only "t/n$m/$k") || fail "get t/n$m/$k through rkv$n"
      [ "$v" = "v$m-$k" ] || fail "get t/n$m/$k through rkv$n gave '$v'"
    done
  done
done
say "read all $((3 * keys)) keys back through each node (range + gets): identical"

# 3. Stop rkv3, keep writing through rkv1 and rkv2.
dc stop rkv3 >/dev/null 2>&1
say "stopped rkv3"
retries=0
t0=$(date +%s)
for k in $(seq 1 "$keys"); do
  n=$((k % 2 + 1))
  put "127.0.0.1:${ports[$((n - 1))]}" "t/down/$k" "d$k" || fail "put t/down/$k through rkv$n with rkv3 down"
  echo "t/down/$k=d$k" >>"$tmp/expected"
done
sort -o "$tmp/expected" "$tmp/expected"
say "with rkv3 down: wrote $keys more keys through rkv1 and rkv2 in $(($(date +%s) - t0)) s ($retries retries)"
check_all "127.0.0.1:$RKV1_PORT" "$tmp/expected" || fail "rkv1 does not return all $((4 * keys)) keys"

# 4. Start rkv3; it must catch up: its own replicas (serializable reads,
# served from its applied state) end up holding every key.
dc start rkv3 >/dev/null 2>&1
say "started rkv3"
id3=$(dc ps -q rkv3)
caught_up=""
for i in $(seq 1 120); do
  if [ "$(as_root docker inspect -f '{{.State.Health.Status}}' "$id3")" = healthy ] \
      && check_all "127.0.0.1:$RKV3_PORT" "$tmp/expected" --serializable 2>/dev/null; then
    caught_up=$i
    break
  fi
  sleep 1
done
[ -n "$caught_up" ] || fail "rkv3 did not catch up within 120 s"
say "rkv3 caught up: its local replicas hold all $((4 * keys)) keys (after ~${caught_up} s)"
check_all "127.0.0.1:$RKV3_PORT" "$tmp/expected" || fail "a linearizable range through rkv3 differs"
"$rkvctl" --endpoints "$all" cluster status >"$tmp/status" || fail "cluster status: $(cat "$tmp/status")"
"$rkvctl" --endpoints "$all" endpoint health >"$tmp/health" || fail "endpoint health: $(cat "$tmp/health")"
say "cluster status: every partition has a leader; endpoint health: all healthy"

# 5. Prometheus: up == 1 for the three nodes (discovered through /sd), rules loaded.
prom=http://127.0.0.1:$PROMETHEUS_PORT
up=""
for _ in $(seq 1 90); do
  up=$(curl -fsS --get "$prom/api/v1/query" --data-urlencode 'query=up{job="rkv"}' 2>/dev/null \
       | /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(" ".join(sorted(x["metric"]["instance"] + "=" + x["value"][1] for x in r)))' 2>/dev/null || true)
  [ "$(echo "$up" | grep -o '=1' | wc -l)" -eq 3 ] && [ "$(echo "$up" | wc -w)" -eq 3 ] && break
  sleep 2
done
[ "$(echo "$up" | grep -o '=1' | wc -l)" -eq 3 ] || fail "Prometheus up{job=\"rkv\"}: '$up'"
say "Prometheus: up{job=\"rkv\"}: $up"
rules=$(curl -fsS "$prom/api/v1/rules" | /usr/bin/python3 -c 'import json,sys; print(sum(len(g["rules"]) for g in json.load(sys.stdin)["data"]["groups"]))')
[ "$rules" -gt 0 ] || fail "Prometheus loaded no alerting rules"
say "Prometheus: $rules alerting rules loaded"
# 6. teardown (trap)
