"""The benchmark suite runs at its smoke size and writes well-formed results (no speed is asserted)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench.py"


def bench(*args: str) -> subprocess.CompletedProcess:
    """Run scripts/bench.py with `args`; its exit status and output."""
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False, timeout=300
    )


def test_the_benchmark_suite_runs_tiny_and_writes_json_and_a_table(tmp_path):
    result = bench("--tiny", "--reps", "1", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    for case in (
        "encoder",
        "crossover",
        "segments",
        "final_state",
        "kernel_isa",
        "lstm_kernel",
        "lstm_lengths",
        "step",
        "generation",
        "seq2seq_step",
        "training_step",
        "bucketing",
        "remedies",
        "threads",
        "encoder_threads",
        "scan",
    ):
        data = json.loads((tmp_path / f"bench_{case}.json").read_text())
        assert data["case"] == case and data["rows"] and data["environment"]["torch"]
        for row in data["rows"]:
            ratios = [v for v in row.values() if isinstance(v, dict) and "median" in v]
            assert ratios or "note" in row, row  # kernel_isa on a CPU without AVX2: one build, a note
            assert all(r["min"] <= r["median"] <= r["max"] for r in ratios)
    for case, routes in (
        ("encoder", ("raw_padded", "seqnet", "seqnet_packed", "seqnet_torch_kernels", "seqnet_fused")),
        ("crossover", ("padded", "packed")),
    ):
        for row in json.loads((tmp_path / f"bench_{case}.json").read_text())["rows"]:
            assert set(row["kernel"]) == set(routes)
            assert set(row["kernel"].values()) <= {"onednn", "aten", "seqnet_fused"}
            if case == "encoder":  # seqnet's kernel for GRU and Elman; oneDNN for an LSTM, equal lengths
                assert row["kernel"]["seqnet"] == ("onednn" if row["cell"] == "lstm" else "seqnet_fused"), row
                assert row["kernel"]["seqnet_torch_kernels"] == row["kernel"]["raw_padded"], row
                assert row["kernel"]["seqnet_fused"] == "seqnet_fused", row
    for row in json.loads((tmp_path / "bench_final_state.json").read_text())["rows"]:
        assert row["kernel"]["seqnet"] == "seqnet_fused", row  # every cell's exact state in one pass
    for row in json.loads((tmp_path / "bench_lstm_kernel.json").read_text())["rows"]:
        assert row["auto"] == "onednn", row  # an LSTM's outputs: oneDNN, even at the tiny size
        for mode in ("", "_inference", "_frozen"):  # training, no_grad, a frozen encoder
            assert row[f"fused_vs_onednn{mode}"]["median"] > 0, row
    for row in json.loads((tmp_path / "bench_lstm_lengths.json").read_text())["rows"]:
        on_kernel = row["padding_share"] >= 0.15  # the tiny size is a small layer
        assert row["auto"] == ("seqnet_fused" if on_kernel else "onednn"), row
    startup = json.loads((tmp_path / "bench_startup.json").read_text())["rows"][0]
    for name in ("help", "config_error", "first_training_step", "fused_kernel_build", "fused_kernel_load"):
        assert 0 < startup[name]["seconds_median"] <= startup[name]["seconds_max"]
    table = (tmp_path / "README.md").read_text()
    assert "### encoder" in table and "| cell | hidden | layers |" in table


def test_an_unknown_case_is_refused():
    result = bench("nope")
    assert result.returncode == 2 and "unknown case ['nope']" in result.stderr


def test_the_ucr_table_trains_seeds_evaluates_their_ensemble_and_writes_the_table(tmp_path):
    script = SCRIPT.parent / "ucr_table.py"
    result = subprocess.run(
        [sys.executable, str(script), "UnitTest", "--seeds", "1", "2", "--out", str(tmp_path),
         "--override", "debug=fast", "--override", "trainer.limit_test_batches=1.0"],
        capture_output=True, text=True, check=False, timeout=600, cwd=SCRIPT.parents[1],
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads((tmp_path / "UnitTest.json").read_text())
    accuracies = [run["test/acc"] for run in data["runs"]]
    assert [run["seed"] for run in data["runs"]] == [1, 2] and data["overrides"][0] == "debug=fast"
    assert data["test/acc_mean"] == sum(accuracies) / 2 and 0 <= data["ensemble/test/acc"] <= 1
    assert 0 <= data["nn1_euclidean_acc"] <= 1 and 0 <= data["nn1_dtw_acc"] <= 1
    assert "| UnitTest |" in (tmp_path / "README.md").read_text()


def ucr_table_only(out, *extra):
    return subprocess.run(
        [sys.executable, str(SCRIPT.parent / "ucr_table.py"), "--table-only", "--out", str(out), *extra],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


def test_the_ucr_table_sets_published_figures_and_overrides_beside_a_result(tmp_path):
    result = {
        "dataset": "ArrowHead", "overrides": ["model.frontend.stride=8"], "runs": [],
        "test/acc_mean": 0.79, "test/acc_std": 0.01, "ensemble/test/acc": 0.8, "seconds_mean": 10.0,
    }  # fmt: skip
    (tmp_path / "ArrowHead.json").write_text(json.dumps(result))
    (tmp_path / "baselines_ArrowHead.json").write_text(json.dumps({"nn1_euclidean_acc": 0.8}))
    summary = tmp_path / "DataSummary.csv"  # the archive's layout, header spaces included
    summary.write_text(
        "ID,Type,Name,Train ,Test ,Class,Length,ED (w=0),DTW (learned_w) ,DTW (w=100),Default rate\n"
        "1,IMAGE,ArrowHead,36,175,3,251,0.2,0.2,0.2971,0.6\n"
    )
    completed = ucr_table_only(tmp_path, "--archive-summary", str(summary))
    assert completed.returncode == 0, completed.stderr[-3000:]
    table = (tmp_path / "README.md").read_text()
    header, _, row = [line for line in table.splitlines() if line.startswith("|")][:3]
    cells = dict(zip(header.strip("|").split("|"), row.strip("|").split("|"), strict=True))
    cells = {key.strip(): value.strip() for key, value in cells.items()}
    assert cells["seqnet `experiment=ucr`: mean ± std"] == "0.790 ± 0.010 (below 1-NN)"
    assert cells["1-NN DTW (ours)"] == "—" and cells["ROCKET (published)"] == "0.814"
    assert cells["1-NN Euclidean (published)"] == "0.800" and cells["1-NN DTW (published)"] == "0.703"
    assert "- ArrowHead: `model.frontend.stride=8`" in table
    assert "1-NN Euclidean (published)" not in ucr_table_only(tmp_path).stdout


def test_the_ucr_table_refuses_a_file_that_is_not_the_archive_summary(tmp_path):
    (tmp_path / "other.csv").write_text("Name,accuracy\nArrowHead,0.8\n")
    completed = ucr_table_only(tmp_path, "--archive-summary", str(tmp_path / "other.csv"))
    assert completed.returncode == 1
    assert "is not the UCR archive's DataSummary.csv: it needs the columns Name, ED (w=0)" in completed.stderr


def test_only_the_encoder_cases_run_on_a_gpu():
    result = bench("--device", "cuda", "training_step")
    assert result.returncode == 2 and "--device cuda runs encoder, crossover, step" in result.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_cuda_is_refused_where_torch_sees_no_gpu():
    result = bench("--device", "cuda")
    assert result.returncode == 2 and "torch sees no CUDA device here" in result.stderr


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_the_encoder_cases_run_on_a_gpu_and_name_their_kernels(tmp_path):
    result = bench("--device", "cuda", "--tiny", "--reps", "1", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    for case in ("encoder", "crossover"):
        data = json.loads((tmp_path / f"bench_{case}_cuda.json").read_text())
        assert data["environment"]["gpu"] and data["rows"]
        assert all(row["kernel"] for row in data["rows"])
    assert json.loads((tmp_path / "bench_step_cuda.json").read_text())["rows"]
    packed = [
        row["kernel"]["packed"]
        for row in json.loads((tmp_path / "bench_crossover_cuda.json").read_text())["rows"]
    ]
    assert set(packed) <= {"cudnn", "aten"}
