#!/usr/bin/env bash
# Runs clang-tidy's use-after-move check, which GCC has no warning for, over
# every rkv source file in a build's compile database. It would have caught
# the driver reading a message's recipient beside std::move(message) in one
# call, which sent every snapshot to node 0.
#   tests/lint/clang_tidy.sh CLANG_TIDY BUILD_DIR SOURCE_DIR
set -euo pipefail
tidy=$1
build=$2
src=$3
cd "$src"
mapfile -t files < <(find raft storage server client cli -name '*.cc' | sort)
echo "clang-tidy bugprone-use-after-move over ${#files[@]} files"
# GCC-only warning flags in the compile commands are not errors for clang.
printf '%s\n' "${files[@]}" |
  xargs -P "$(nproc)" -n 4 "$tidy" -p "$build" --quiet --checks='-*,bugprone-use-after-move' \
    --warnings-as-errors='*' --extra-arg=-Wno-unknown-warning-option
