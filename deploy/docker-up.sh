#!/usr/bin/env bash
# Starts the compose cluster (deploy/docker-compose.yml) on a Debian 12
# machine that may have no Docker and no reachable image registry:
#   1. installs docker.io and docker-compose from Debian if missing;
#   2. starts dockerd if no engine answers (log: /var/log/rkv-dockerd.log);
#   3. makes the base image (deploy/base-image.sh: pull, or debootstrap);
#   4. builds rkv:latest and rkv-prometheus:latest and runs the cluster.
#
#   deploy/docker-up.sh          # start (or update) the cluster
#   deploy/docker-up.sh down     # stop it, keep the volumes
#   deploy/docker-up.sh purge    # stop it and delete the volumes
#
# COMPOSE_PROJECT_NAME (default rkv), BASE_IMAGE, RKV1_PORT..RKV3_PORT,
# PROMETHEUS_PORT and RKV_NOFILE (the nodes' open-files limit, default 65536,
# lowered to what the engine can grant) are passed on to docker-compose.
# rkv:latest is built from the working tree, or from a commit with
# RKV_BUILD_FROM=HEAD (for example).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-rkv}
export BASE_IMAGE=${BASE_IMAGE:-debian:bookworm-slim}
log() { echo "docker-up: $*"; }

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "docker-up: need root or sudo" >&2; exit 1; }
  sudo="sudo"
fi
as_root() { if [ -n "$sudo" ]; then sudo -E "$@"; else "$@"; fi; }

# 1. Debian's packages: the engine (docker.io) and compose v1 (docker-compose).
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker >/dev/null || missing+=(docker.io)
if ! command -v docker-compose >/dev/null && ! docker compose version >/dev/null 2>&1; then
  missing+=(docker-compose)
fi
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
fi

# Debian's docker-compose (v1) if present, else the v2 plugin.
if command -v docker-compose >/dev/null; then
  compose=(docker-compose)
else
  compose=(docker compose)
fi
compose+=(-p "$COMPOSE_PROJECT_NAME" -f "$here/docker-compose.yml")

# 2. An engine: use the running one, else start dockerd (no systemd needed).
if ! as_root docker info >/dev/null 2>&1; then
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    log "starting docker.service"
    as_root systemctl start docker
  else
    log "starting dockerd (log: /var/log/rkv-dockerd.log)"
    as_root sh -c 'nohup dockerd >>/var/log/rkv-dockerd.log 2>&1 & echo $! >/run/rkv-dockerd.pid'
  fi
  for _ in $(seq 1 60); do
    as_root docker info >/dev/null 2>&1 && break
    sleep 1
  done
  as_root docker info >/dev/null 2>&1 || {
    echo "docker-up: dockerd did not answer within 60 s; see /var/log/rkv-dockerd.log" >&2
    exit 1
  }
fi

case "${1:-up}" in
  down) as_root "${compose[@]}" down; exit 0 ;;
  purge) as_root "${compose[@]}" down -v; exit 0 ;;
  up) ;;
  *) echo "usage: $0 [up|down|purge]" >&2; exit 2 ;;
esac

# 3. The base image, 4. the images and the cluster.
as_root bash "$here/base-image.sh"
# rkv:latest once, from the working tree (the three nodes share it; building
# it per service would recompile if a file changed in between).
log "building rkv:latest (compiles rkv when the sources changed: minutes) and rkv-prometheus:latest"
# RKV_BUILD_FROM=<git revision> builds that commit instead (git archive).
build_args=(-f deploy/Dockerfile --build-arg BASE_IMAGE="$BASE_IMAGE" --build-arg JOBS="$(nproc)" -t rkv:latest)
if [ -n "${RKV_BUILD_FROM:-}" ]; then
  log "building rkv:latest from git revision $RKV_BUILD_FROM"
  git -C "$here/.." archive --format=tar "$RKV_BUILD_FROM" | as_root docker build "${build_args[@]}" -
else
  (cd "$here/.." && as_root docker build "${build_args[@]}" .)
fi
as_root "${compose[@]}" build -q prometheus

# The nodes' open-files limit (the compose file's ulimits: RKV_NOFILE, default
# 65536). Raising a container's hard limit above the engine's own needs
# CAP_SYS_RESOURCE; an engine without it (a dockerd started in a sandbox
# whose bounding set lacks it) refuses to start the container ("error setting
# rlimit type 7: operation not permitted"). Ask the engine whether it can
# grant the limit; if not, use the highest it can: its own hard limit.
nofile=${RKV_NOFILE:-65536}
if ! as_root docker run --rm --network none --ulimit "nofile=$nofile" --entrypoint true rkv:latest \
     >/dev/null 2>&1; then
  max=$(as_root docker run --rm --network none --entrypoint sh rkv:latest -c 'ulimit -Hn' 2>/dev/null || true)
  if [[ "$max" =~ ^[0-9]+$ ]] && [ "$max" -lt "$nofile" ]; then
    log "the engine cannot raise a container's open-files limit to $nofile (no CAP_SYS_RESOURCE?);" \
        "the nodes get its own hard limit, $max"
    [ "$max" -ge 8192 ] || log "warning: $max open files is tight for rkvd (RocksDB alone may keep 4096 open)"
    nofile=$max
  fi
fi
export RKV_NOFILE=$nofile
as_root "${compose[@]}" up -d --no-build

# Ready when every node's Docker health check (/healthz) passes and one
# node answers for a leader of every partition.
for _ in $(seq 1 90); do
  healthy=0
  for s in rkv1 rkv2 rkv3; do
    id=$(as_root "${compose[@]}" ps -q "$s")
    [ -n "$id" ] && [ "$(as_root docker inspect -f '{{.State.Health.Status}}' "$id" 2>/dev/null)" = healthy ] \
      && healthy=$((healthy + 1))
  done
  if [ "$healthy" -eq 3 ] && id=$(as_root "${compose[@]}" ps -q rkv1) \
      && as_root docker exec "$id" rkvctl --endpoints rkv1:7001,rkv2:7001,rkv3:7001 cluster status >/dev/null 2>&1; then
    cat <<TXT
docker-up: rkv is running: 3 nodes, clients on 127.0.0.1:${RKV1_PORT:-7001},${RKV2_PORT:-7002},${RKV3_PORT:-7003}
           Prometheus on http://127.0.0.1:${PROMETHEUS_PORT:-9090} (targets, alerts).
  E=127.0.0.1:${RKV1_PORT:-7001},127.0.0.1:${RKV2_PORT:-7002},127.0.0.1:${RKV3_PORT:-7003}
  build/bin/rkvctl --endpoints \$E put hello world        # from the host (after make build)
  ${compose[*]} exec rkv1 rkvctl --endpoints rkv1:7001 get hello
  ${compose[*]} stop rkv2 ; ${compose[*]} start rkv2
Stop: $0 down (keeps the data) or $0 purge (deletes the volumes).
TXT
    exit 0
  fi
  sleep 2
done
echo "docker-up: the cluster was not healthy within 180 s; logs:" >&2
as_root "${compose[@]}" logs --tail 20 >&2
exit 1
