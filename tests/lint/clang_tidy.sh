#!/usr/bin/env bash
# Static checks GCC does not make, over every rkv source file in a build's
# compile database:
# - clang-tidy's use-after-move check. It would have caught the driver reading
#   a message's recipient beside std::move(message) in one call, which sent
#   every snapshot to node 0.
# - clang's thread-safety analysis (-Wthread-safety), which checks every
#   ABSL_GUARDED_BY / ABSL_EXCLUSIVE_LOCKS_REQUIRED annotation: a guarded
#   field read or written without its mutex fails the test.
#   tests/lint/clang_tidy.sh CLANG_TIDY BUILD_DIR SOURCE_DIR
set -euo pipefail
tidy=$1
build=$2
src=$3
cd "$src"
mapfile -t files < <(find raft storage server client cli -name '*.cc' | sort)
echo "clang-tidy use-after-move and thread-safety analysis over ${#files[@]} files"
# GCC-only warning flags in the compile commands are not errors for clang.
printf '%s\n' "${files[@]}" |
  xargs -P "$(nproc)" -n 4 "$tidy" -p "$build" --quiet --header-filter="$src/(raft|storage|server|client|cli)/" \
    --checks='-*,bugprone-use-after-move,clang-diagnostic-thread-safety*' --warnings-as-errors='*' \
    --extra-arg=-Wthread-safety --extra-arg=-Wno-unknown-warning-option
