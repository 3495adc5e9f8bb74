"""Does the condition help? Train a one-to-many experiment as configured and again with the
condition withheld (`model.withhold_condition=true`: the same architecture, unconditioned), and record
both validation NLLs per token.

    python scripts/conditioning_gain.py experiment=names_by_gender
    # -> benchmarks/conditioning_names_by_gender.json
    python scripts/conditioning_gain.py experiment=bach_chorales --seeds 42 1 2 3  # paired, per seed

The slow test of each one-to-many experiment asserts the conditioned NLL is the lower one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
from pathlib import Path

from bench_default import train_once


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42])
    parser.add_argument("--out", default=None, help="default: benchmarks/conditioning_<experiment>.json")
    parser.add_argument(
        "overrides", nargs="+", help="seqnet-train overrides, e.g. experiment=names_by_gender"
    )
    args = parser.parse_args()
    runs = [
        {
            "seed": seed,
            "conditioned": train_once(seed, args.overrides),
            "withheld": train_once(seed, [*args.overrides, "model.withhold_condition=true"]),
        }
        for seed in args.seeds
    ]
    gains = [run["withheld"]["val/nll"] - run["conditioned"]["val/nll"] for run in runs]
    result = {
        "overrides": args.overrides,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "seeds": args.seeds,
        "val/nll": {side: [run[side]["val/nll"] for run in runs] for side in ("conditioned", "withheld")},
        "gain": gains,  # withheld - conditioned, nats per token: > 0 when the condition helps
        "gain_mean": statistics.fmean(gains),
        "gain_min": min(gains),
        "gain_max": max(gains),
        "runs": runs,
    }
    experiment = next((o.split("=", 1)[1] for o in args.overrides if o.startswith("experiment=")), "run")
    out = Path(args.out or f"benchmarks/conditioning_{experiment}.json")
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
