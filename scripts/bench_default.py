"""Train an experiment (the default one unless overrides say otherwise) over several seeds and record
its final validation and test metrics and wall time.

    python scripts/bench_default.py --seeds 1 2 3      # writes benchmarks/default_experiment.json

Each seed is one `seqnet-train` run through the real CLI, as a user would launch it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--out", default="benchmarks/default_experiment.json")
    parser.add_argument("overrides", nargs="*", help="extra seqnet-train overrides")
    args = parser.parse_args()

    runs = []
    for seed in args.seeds:
        runs.append(train_once(seed, args.overrides))
        print(runs[-1], flush=True)
    test_metrics = sorted({k for r in runs for k in r if k.startswith(("test/", "val/"))})
    result = {
        "experiment": " ".join(args.overrides) or "default (japanese_vowels)",
        "overrides": args.overrides,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "runs": runs,
        **{f"{k}_mean": statistics.mean(r[k] for r in runs) for k in test_metrics},
        **{f"{k}_min": min(r[k] for r in runs) for k in test_metrics},
        **{f"{k}_max": max(r[k] for r in runs) for k in test_metrics},
        **{f"{k}_std": statistics.stdev(r[k] for r in runs) for k in test_metrics if len(runs) > 1},
        "seconds_mean": statistics.mean(r["seconds"] for r in runs),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def train_once(seed: int, overrides: list[str]) -> dict:
    """One `seqnet-train` run through the real CLI: its seed, wall time and val/test metrics."""
    executable = Path(sys.executable).parent / "seqnet-train"
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / f"seed{seed}"
        command = [
            str(executable),
            f"seed={seed}",
            f"hydra.run.dir={run_dir}",
            "callbacks.progress_bar.refresh_rate=0",
            *overrides,
        ]
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env={**os.environ})
        seconds = time.perf_counter() - start
        metrics = json.loads((run_dir / "metrics.json").read_text())
    return {
        "seed": seed,
        "seconds": round(seconds, 1),
        **{k: v for k, v in metrics.items() if k.startswith(("test/", "val/"))},
    }


if __name__ == "__main__":
    main()
