#!/usr/bin/env bash
# The checks a lent GPU machine is for, as one script (issue 37; docs/speed.md):
#
#   bash scripts/gpu_check.sh [OUT]    # OUT: where the CUDA benchmark JSON goes (default: benchmarks)
#
# 1. every test marked `gpu` (skipped on machines without CUDA);
# 2. `scripts/bench.py --device cuda` for the cases that run on a GPU (encoder routes, the
#    padded-vs-packed crossover that CUDA's automatic route is set from, one generation step, the
#    scan cells against cuDNN), written as bench_<case>_cuda.json.
# Without CUDA it says so and exits 3, touching nothing (tests/test_scripts.py checks that).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-benchmarks}"
PYTHON="${PYTHON:-python}"
if ! "$PYTHON" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu_check: no CUDA device on this machine; run it where one is (the device tool)" >&2
    exit 3
fi
"$PYTHON" -c "import torch; print('gpu_check:', torch.cuda.get_device_name(), 'CUDA', torch.version.cuda)"
"$PYTHON" -m pytest -q -p no:cacheprovider -m gpu tests
"$PYTHON" scripts/bench.py --device cuda --out "$OUT" encoder crossover step scan
echo "gpu_check: done; the JSON files are in $OUT"
