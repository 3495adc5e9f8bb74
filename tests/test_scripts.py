"""The baseline scripts print their figures and write into a folder only when given --out."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def test_a_baseline_script_writes_only_where_told(tmp_path):
    command = [sys.executable, str(SCRIPTS / "baselines.py"), "JapaneseVowels", "--no-dtw"]
    printed = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=True, timeout=300)
    assert json.loads(printed.stdout)["dataset"] == "JapaneseVowels"
    assert list(tmp_path.iterdir()) == []  # no benchmarks/ beside the caller, nor anything else
    subprocess.run([*command, "--out", "mine"], cwd=tmp_path, capture_output=True, check=True, timeout=300)
    assert json.loads((tmp_path / "mine" / "baselines_JapaneseVowels.json").read_text())["test_size"] == 370
