#!/usr/bin/env bash
# ctest's jepsen_smoke: a ~60 s run of the register workload under partitions
# and kill -9 on 3 nodes. Exits 77 (ctest: skipped) with the reason when the
# machine cannot run it: not root, no network namespaces, no nftables, or
# Debian's python3 without grpc.
set -uo pipefail
rkvd=${1:?usage: smoke.sh RKVD RESULTS_DIR}
results=${2:?usage: smoke.sh RKVD RESULTS_DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
skip() { echo "SKIPPED jepsen_smoke: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
command -v nft >/dev/null || skip "nftables is not installed (apt-get install nftables)"
/usr/bin/python3 -c 'import grpc, google.protobuf' 2>/dev/null || skip "/usr/bin/python3 lacks grpc/protobuf (python3-grpcio python3-protobuf)"
probe=rkvjprobe$$
ip netns add "$probe" 2>/dev/null || skip "cannot create network namespaces here"
ip netns del "$probe"
exec "$here/run" --workload register --nemesis partition,kill --time 60 --nodes 3 --rate 60 \
  --seed "${RKV_JEPSEN_SEED:-7}" --rkvd "$rkvd" --results "$results" --interval 4
