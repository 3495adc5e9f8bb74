"""The benchmark suite runs at its smoke size and writes well-formed results (no speed is asserted)."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench.py"


def test_the_benchmark_suite_runs_tiny_and_writes_json_and_a_table(tmp_path):
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--tiny", "--reps", "1", "--out", str(tmp_path)],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    for case in ("encoder", "crossover", "generation", "training_step", "bucketing", "threads"):
        data = json.loads((tmp_path / f"bench_{case}.json").read_text())
        assert data["case"] == case and data["rows"] and data["environment"]["torch"]
        for row in data["rows"]:
            ratios = [v for v in row.values() if isinstance(v, dict) and "median" in v]
            assert ratios and all(r["min"] <= r["median"] <= r["max"] for r in ratios)
    startup = json.loads((tmp_path / "bench_startup.json").read_text())["rows"][0]
    for name in ("help", "config_error", "first_training_step"):
        assert 0 < startup[name]["seconds_median"] <= startup[name]["seconds_max"]
    table = (tmp_path / "README.md").read_text()
    assert "### encoder" in table and "| cell | hidden | layers |" in table


def test_an_unknown_case_is_refused():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "nope"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2 and "unknown case ['nope']" in result.stderr
