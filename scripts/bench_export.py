"""The default experiment exported and quantized: file sizes and test accuracy, float against int8.

    python scripts/bench_export.py [--seed 42] [--out benchmarks/export_default.json] [overrides ...]

Trains `seqnet-train` (the default experiment unless overrides say otherwise) once, then runs
`seqnet-export ... quantize=dynamic` on its best checkpoint, as a user would, and records what
the export wrote to its run record (export.json): the largest difference from the checkpoint,
both files' sizes, and the test split's accuracy with the float and the int8 graph.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmark_file import write_benchmark


def run(program: str, *args: str) -> str:
    executable = Path(sys.executable).parent / program
    done = subprocess.run([str(executable), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{program} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", default="benchmarks/export_default.json")
    parser.add_argument("overrides", nargs="*", help="extra seqnet-train overrides")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_dir, export_dir = Path(tmp) / "run", Path(tmp) / "export"
        run("seqnet-train", f"seed={args.seed}", f"hydra.run.dir={run_dir}", *args.overrides)
        print(run(
            "seqnet-export", f"ckpt_path={run_dir / 'checkpoints' / 'best.ckpt'}",
            f"output={Path(tmp) / 'model.onnx'}", "quantize=dynamic", f"hydra.run.dir={export_dir}",
        ))  # fmt: skip
        info = json.loads((export_dir / "export.json").read_text())
    quantized = info["quantized"]
    row = {
        "experiment": " ".join(args.overrides) or "default (japanese_vowels)", "seed": args.seed,
        "largest_difference": info["largest_difference"], "float_bytes": quantized["float_bytes"],
        "int8_bytes": quantized["bytes"], **quantized["test"],
    }  # fmt: skip
    write_benchmark(args.out, "export_quantized", [row])


if __name__ == "__main__":
    main()
