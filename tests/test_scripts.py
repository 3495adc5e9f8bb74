"""The baseline scripts print their figures and write into a folder only when given --out."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def test_a_baseline_script_writes_only_where_told(tmp_path):
    command = [sys.executable, str(SCRIPTS / "baselines.py"), "JapaneseVowels", "--no-dtw"]
    printed = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=True, timeout=300)
    assert json.loads(printed.stdout)["dataset"] == "JapaneseVowels"
    assert list(tmp_path.iterdir()) == []  # no benchmarks/ beside the caller, nor anything else
    subprocess.run([*command, "--out", "mine"], cwd=tmp_path, capture_output=True, check=True, timeout=300)
    assert json.loads((tmp_path / "mine" / "baselines_JapaneseVowels.json").read_text())["test_size"] == 370


def test_the_per_shape_benchmark_runs_every_shape_and_writes_its_table(tmp_path):
    out = tmp_path / "shapes.json"
    command = [
        sys.executable,
        str(SCRIPTS / "bench_shapes.py"),
        "--reps",
        "1",
        "--steps",
        "1",
        "--out",
        str(out),
    ]
    subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=True, timeout=300)
    rows = json.loads(out.read_text())["rows"]
    assert [row["shape"] for row in rows] == [
        "forecaster",
        "tagger",
        "language_model",
        "seq2seq",
        "autoencoder",
    ]
    assert all(
        row["ms_per_step"]["seqnet"] > 0 and row["seqnet_vs_hand_written"]["median"] > 0 for row in rows
    )
    assert all(row["plain_lightning_vs_hand_written"]["median"] > 0 for row in rows)
    assert all(row["gradient_flow_vs_logged"]["median"] > 0 for row in rows)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_the_gpu_check_refuses_without_cuda_and_writes_nothing(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable}
    done = subprocess.run(
        ["bash", str(SCRIPTS / "gpu_check.sh"), str(tmp_path / "out")],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 3 and "no CUDA device" in done.stderr
    assert not (tmp_path / "out").exists()


def test_the_serving_benchmark_steps_both_models_through_onnxruntime_and_eager(tmp_path):
    pytest.importorskip("onnxruntime")
    out = tmp_path / "serve.json"
    command = [
        sys.executable,
        str(SCRIPTS / "bench_serve.py"),
        "--reps",
        "1",
        "--steps",
        "2",
        "--out",
        str(out),
    ]
    subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=True, timeout=300)
    rows = json.loads(out.read_text())["rows"]
    shapes = [(r["model"], r["batch"]) for r in rows]
    assert shapes == [(m, b) for m in ("language_model_lstm256", "many_to_one_gru64") for b in (1, 64)]
    assert all(r["ms_per_step"]["onnxruntime"] > 0 and r["ms_per_step"]["eager"] > 0 for r in rows)
