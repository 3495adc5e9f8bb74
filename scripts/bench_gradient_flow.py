"""What the gradient-flow diagnostics cost a default run, end to end.

    python scripts/bench_gradient_flow.py [--reps 3] [--out benchmarks/bench_gradient_flow.json] [overrides]

`seqnet-train` (the default experiment unless overrides say otherwise) with the diagnostics
(`callbacks.gradient_flow`, the default) and without (`callbacks.gradient_flow=null`), in turn
(A B A B ...), the same seed; wall seconds of each whole run, median over `--reps`, and their
ratio. `scripts/bench_shapes.py` measures the same on short runs of three other shapes.
"""

from __future__ import annotations

import argparse
import statistics

from bench_default import train_once
from benchmark_file import write_benchmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/bench_gradient_flow.json")
    parser.add_argument("overrides", nargs="*", help="extra seqnet-train overrides")
    args = parser.parse_args()
    seconds: dict[str, list[float]] = {"without": [], "with": []}
    for _ in range(args.reps):
        seconds["without"].append(
            train_once(42, [*args.overrides, "callbacks.gradient_flow=null"])["seconds"]
        )
        seconds["with"].append(train_once(42, args.overrides)["seconds"])
        print(seconds, flush=True)
    ratios = [w / o for w, o in zip(seconds["with"], seconds["without"], strict=True)]
    row = {
        "experiment": " ".join(args.overrides) or "default (japanese_vowels)",
        "seconds": {k: statistics.median(v) for k, v in seconds.items()},
        "with_vs_without": {"median": round(statistics.median(ratios), 3), "min": round(min(ratios), 3),
                            "max": round(max(ratios), 3)},
    }  # fmt: skip
    write_benchmark(args.out, "gradient_flow_default_run", [row], runs=seconds)
    print(row)


if __name__ == "__main__":
    main()
