#!/usr/bin/env bash
# Time `make train` from a fresh clone of this repository, environment install included.
#   bash scripts/bench_fresh_clone.sh        # writes benchmarks/fresh_clone_make_train.txt
# pip's download cache (~/.cache/pip) is used if present; clear it to time a cold install.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "$work/seqnet"
start=$(date +%s)
make -C "$work/seqnet" train ARGS="callbacks.progress_bar.refresh_rate=0" > "$work/train.log" 2>&1
seconds=$(( $(date +%s) - start ))
{
  echo "make train from a fresh clone of $(git -C "$repo" rev-parse --short HEAD): ${seconds} s"
  grep -E "^  test/" "$work/train.log"
} | tee "$repo/benchmarks/fresh_clone_make_train.txt"
