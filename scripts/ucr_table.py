"""Train `experiment=ucr` on UCR/UEA classification sets over several seeds; write the results table.

    python scripts/ucr_table.py                          # every classification set in the sktime wheel
    python scripts/ucr_table.py GunPoint ItalyPowerDemand --seeds 42 1 2

Per data set, `benchmarks/ucr/<name>.json` holds every seed's test accuracy and wall time, their
mean and standard deviation, the accuracy of the seeds' ensemble (`seqnet-eval` of all their
checkpoints, averaged probabilities), and our own 1-NN Euclidean and DTW on the same split with
the recipe's normalisation (`scripts/baselines.py --normalize auto`: each case z-normalised
for univariate sets, training statistics for multivariate ones; DTW only up to
`--dtw-max-length` steps, as it is slow). `benchmarks/ucr/README.md` is the table of all sets found
there, beside published accuracies on the same default split: ROCKET (Dempster et al. 2020, mean
of 10 runs: github.com/angus924/rocket, results/results_ucr.csv), and InceptionTime and HIVE-COTE 2
(the deep-learning and overall state of the art in the bake-off redux, Middlehurst, Schäfer and
Bagnall 2024; read from resample 0 of the results the aeon wheel ships as
`aeon/testing/example_results_files`), for the univariate sets they cover; and, given a copy of
the archive's DataSummary.csv (`--archive-summary`, no download here), its published 1-NN Euclidean
and DTW without a window. A set trained with `--override` has its overrides under the table.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from seqnet.data.sources import UCRSource
from seqnet.data.sources.ucr import _sktime_data_roots

ROCKET = {
    "ACSF1": 0.886,
    "ArrowHead": 0.814,
    "GunPoint": 1.000,
    "ItalyPowerDemand": 0.970,
    "OSULeaf": 0.941,
    "PLAID": 0.903,
}
PUBLISHED = {
    "nn1_euclidean": "1-NN Euclidean",
    "nn1_dtw": "1-NN DTW",
    "rocket": "ROCKET",
    "inceptiontime": "InceptionTime",
    "hc2": "HC2",
}
SUMMARY_URL = "https://www.cs.ucr.edu/~eamonn/time_series_data_2018/DataSummary.csv"
BIN = Path(sys.executable).parent


def archive_summary(path: Path) -> dict[str, dict[str, float]]:
    """The archive's published 1-NN accuracies from its DataSummary.csv (error rates in the columns
    `ED (w=0)` and `DTW (w=100)`, i.e. no warping window, as scripts/baselines.py computes them)."""
    try:
        rows = list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))
    except OSError as error:
        raise SystemExit(f"cannot read the archive summary {path}: {error.strerror}") from None
    rows = [{key.strip(): value.strip() for key, value in row.items() if key} for row in rows]
    columns = {"nn1_euclidean": "ED (w=0)", "nn1_dtw": "DTW (w=100)"}
    if not rows or any(column not in rows[0] for column in ("Name", *columns.values())):
        raise SystemExit(
            f"{path} is not the UCR archive's DataSummary.csv: it needs the columns Name, "
            f"{', '.join(columns.values())} (download it from {SUMMARY_URL})"
        )
    return {
        key: {row["Name"]: 1 - float(row[column]) for row in rows if row[column]}
        for key, column in columns.items()
    }


def published_accuracies(summary: Path | None) -> dict[str, dict[str, float]]:
    """{method: {data set: accuracy on the default split}}: 1-NN from the archive's DataSummary.csv
    where given, ROCKET from above, InceptionTime and HC2 from the aeon wheel's results files
    (resample 0); a method with no source here has no entry."""
    published = {**(archive_summary(summary) if summary else {}), "rocket": ROCKET}
    spec = importlib.util.find_spec("aeon")
    root = Path(spec.submodule_search_locations[0]) if spec and spec.submodule_search_locations else None
    for key, method in (("inceptiontime", "InceptionTime"), ("hc2", "HC2")):
        path = (
            root / f"testing/example_results_files/classification/accuracy/{method}_accuracy.csv"
            if root
            else None
        )
        rows = list(csv.reader(path.read_text().splitlines()))[1:] if path and path.exists() else []
        if rows:
            published[key] = {row[0]: float(row[1]) for row in rows}
    return published


def classification_sets() -> list[str]:
    """Names of the UCR/UEA classification sets shipped in the installed sktime wheel."""
    names = sorted(p.parent.name for root in _sktime_data_roots() for p in root.glob("*/*_TRAIN.ts"))
    return [name for name in names if UCRSource(name).load().target_kind == "classes"]


def run(command: list[str]) -> float:
    """Run a command; its wall time in seconds (a failure stops the script with its stderr)."""
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ})
    if result.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return time.perf_counter() - start


def evaluate(name: str, seeds: list[int], overrides: list[str], out: Path, dtw_max_length: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        runs, checkpoints = [], []
        for seed in seeds:
            run_dir = Path(tmp) / f"seed{seed}"
            seconds = run([
                str(BIN / "seqnet-train"), "experiment=ucr", f"data.source.name={name}", f"seed={seed}",
                f"hydra.run.dir={run_dir}", "callbacks.progress_bar.refresh_rate=0", *overrides,
            ])  # fmt: skip
            metrics = json.loads((run_dir / "metrics.json").read_text())
            runs.append({"seed": seed, "seconds": round(seconds, 1), "test/acc": metrics["test/acc"]})
            checkpoints.append(str(run_dir / "checkpoints" / "best.ckpt"))
            print(name, runs[-1], flush=True)
        ensemble_dir = Path(tmp) / "ensemble"
        run(
            [
                str(BIN / "seqnet-eval"),
                f"ckpt_path=[{','.join(checkpoints)}]",
                f"hydra.run.dir={ensemble_dir}",
            ]
        )
        ensemble = json.loads((ensemble_dir / "metrics.json").read_text())["ensemble/test/acc"]
    longest = max(len(e.values) for e in UCRSource(name).load().train)
    baseline_command = [
        sys.executable,
        "scripts/baselines.py",
        name,
        "--normalize",
        "auto",
        "--out",
        str(out),
    ]
    run(baseline_command + ([] if longest <= dtw_max_length else ["--no-dtw"]))
    baselines = json.loads((out / f"baselines_{name}.json").read_text())
    accuracies = [r["test/acc"] for r in runs]
    return {
        "dataset": name,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "date": time.strftime("%Y-%m-%d"),
        "overrides": overrides,
        "runs": runs,
        "test/acc_mean": statistics.mean(accuracies),
        "test/acc_std": statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0,
        "ensemble/test/acc": ensemble,
        "seconds_mean": statistics.mean(r["seconds"] for r in runs),
        "nn1_euclidean_acc": baselines["nn1_euclidean_acc"],
        "nn1_dtw_acc": baselines.get("nn1_dtw_acc"),
    }


def table(results: list[dict]) -> str:
    def cell(value: float | None) -> str:
        return "—" if value is None else f"{value:.3f}"

    shown = [key for key in PUBLISHED if any(key in r["published"] for r in results)]
    lines = [
        "| data set | seqnet `experiment=ucr`: mean ± std | ensemble | 1-NN Euclidean (ours) "
        "| 1-NN DTW (ours) " + "".join(f"| {PUBLISHED[key]} (published) " for key in shown) + "| s per run |",
        "|---|---|---|---|---" + "|---" * len(shown) + "|---|",
    ]
    notes = []
    for r in results:
        mark = " (below 1-NN)" if r["test/acc_mean"] < r["nn1_euclidean_acc"] - 1e-6 else ""
        published = "".join(f"| {cell(r['published'].get(key))} " for key in shown)
        lines.append(
            f"| {r['dataset']} | {r['test/acc_mean']:.3f} ± {r['test/acc_std']:.3f}{mark} "
            f"| {cell(r['ensemble/test/acc'])} | {cell(r['nn1_euclidean_acc'])} | {cell(r['nn1_dtw_acc'])} "
            f"{published}| {r['seconds_mean']:.0f} |"
        )
        if r["overrides"]:
            notes.append(f"- {r['dataset']}: `{' '.join(r['overrides'])}`")
    return (
        "\n".join(lines) + "\n" + ("\nTrained with overrides:\n\n" + "\n".join(notes) + "\n" if notes else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="data sets (default: every classification set found)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2])
    parser.add_argument("--out", default="benchmarks/ucr")
    parser.add_argument("--dtw-max-length", type=int, default=300)
    parser.add_argument("--override", action="append", default=[], help="extra seqnet-train override")
    parser.add_argument("--table-only", action="store_true", help="rewrite the table from the JSON files")
    parser.add_argument(
        "--archive-summary",
        type=Path,
        help=f"a local copy of the archive's DataSummary.csv ({SUMMARY_URL}): adds its published 1-NN",
    )
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in [] if args.table_only else args.names or classification_sets():
        result = evaluate(name, args.seeds, args.override, out, args.dtw_max_length)
        (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    results = [
        json.loads(p.read_text()) for p in sorted(out.glob("*.json")) if not p.name.startswith("baselines_")
    ]
    published = published_accuracies(args.archive_summary)
    for r in results:  # the newest baselines (scripts/baselines.py may have been rerun on its own)
        baselines = json.loads((out / f"baselines_{r['dataset']}.json").read_text())
        r["nn1_euclidean_acc"] = baselines["nn1_euclidean_acc"]
        r["nn1_dtw_acc"] = baselines.get("nn1_dtw_acc")
        r["published"] = {
            key: by_set[r["dataset"]] for key, by_set in published.items() if r["dataset"] in by_set
        }
    (out / "README.md").write_text(
        "# experiment=ucr against 1-NN and the published state of the art\n\nGenerated by "
        "`python scripts/ucr_table.py`: test accuracy on each set's official split over the seeds in "
        "each `<name>.json`; 1-NN on the same split as the recipe normalises it (each case "
        "z-normalised for univariate sets, training statistics for multivariate ones); published "
        "accuracies on the same split for the univariate sets they cover: 1-NN from the archive's "
        "DataSummary.csv where `--archive-summary` gave it, ROCKET (Dempster et al. "
        "2020, mean of 10 runs), InceptionTime and HIVE-COTE 2 (HC2) from the bake-off redux "
        "(Middlehurst, Schäfer and Bagnall 2024, as shipped in the aeon wheel); s per run: wall time "
        "of one `seqnet-train` on the machine and date in each JSON.\n\n" + table(results)
    )
    print(table(results))


if __name__ == "__main__":
    main()
