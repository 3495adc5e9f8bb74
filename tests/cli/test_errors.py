"""Bad input through the installed commands: one message naming the problem and the fix, exit
status 2, no traceback (SEQNET_DEBUG=1 shows it), and a failed run directory that says why; a run
stopped from outside keeps a checkpoint and says how to continue. tests/test_bad_input.py holds the
catalogue of bad inputs and their messages."""

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from seqnet.cli.resume import newest_checkpoint
from tests.commands import run_cli


def conll_run(tmp_path, *overrides: str):
    (tmp_path / "train.conll").write_text("Empire\tB-facility\nState\tI-facility\nEmpireB-facility\n")
    return (
        "seqnet-train", "data=conll", "data.source.train_path=train.conll",
        "data.source.test_path=train.conll", "model=many_to_many", f"hydra.run.dir={tmp_path / 'run'}",
        *overrides,
    )  # fmt: skip


def test_a_malformed_data_file_is_one_message_with_exit_status_2_and_a_failed_run_directory(cli, tmp_path):
    result = cli(*conll_run(tmp_path))
    assert result.returncode == 2, result.stderr[-2000:]
    message = "seqnet-train: error: train.conll:3: 1 column(s) where line 1 has 2: 'EmpireB-facility'"
    assert message in result.stderr.replace(str(tmp_path) + os.sep, "")
    assert "Traceback" not in result.stderr
    assert "EmpireB-facility" in (tmp_path / "run" / "error.txt").read_text()
    assert not list((tmp_path / "run").rglob("*.ckpt"))


@pytest.mark.parametrize("debug", ["SEQNET_DEBUG=1", "hydra.verbose=true"])
def test_seqnet_debug_or_hydra_verbose_shows_the_traceback(tmp_path, monkeypatch, debug):
    if debug == "SEQNET_DEBUG=1":
        monkeypatch.setenv("SEQNET_DEBUG", "1")
    overrides = [debug] if debug.startswith("hydra.") else []
    result = run_cli(*conll_run(tmp_path, *overrides), cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" in result.stderr
    assert "1 column(s) where line 1 has 2" in result.stderr


def test_sigterm_saves_a_checkpoint_exits_143_and_prints_the_command_that_continues(tmp_path):
    """What a scheduler's preemption does: the run stops with a checkpoint, a non-zero exit and
    the command to continue; that command resumes the same run directory from the saved step."""
    run_dir = tmp_path / "run"
    overrides = [
        "debug=fast", "trainer.max_epochs=1000", "trainer.limit_train_batches=5",
        "callbacks.progress_bar=null", f"hydra.run.dir={run_dir}",
    ]  # fmt: skip
    env = {**os.environ, "SEQNET_LOG_DIR": str(tmp_path / "logs"), "PYTHONWARNINGS": "ignore"}
    executable = Path(sys.executable).parent / "seqnet-train"
    process = subprocess.Popen(
        [str(executable), *overrides], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True
    )
    last = run_dir / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 120
    while not last.is_file() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr[-3000:]
    # interrupted.ckpt after the step the signal came in, or last.ckpt when it came in an epoch's
    # last step or its validation (the run then ends that epoch first)
    stopped_at = torch.load(newest_checkpoint(run_dir), weights_only=True, map_location="cpu")["global_step"]
    assert "stopped by SIGTERM" in stderr and (run_dir / "metrics.json").is_file()
    (command,) = [
        line for line in stderr.splitlines() if line.startswith("to continue from its checkpoint: ")
    ]
    arguments = shlex.split(command.partition(": ")[2])
    assert arguments == ["seqnet-train", f"resume={run_dir}"]
    end = stopped_at // 5 + 2  # two more epochs: the run's own overrides come back, this one wins
    resumed = run_cli(*arguments, f"trainer.max_epochs={end}", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert torch.load(last, weights_only=True, map_location="cpu")["global_step"] == 5 * end


def test_a_run_that_fails_before_its_first_checkpoint_is_set_aside_under_failed(cli, tmp_path):
    """Runs are named after their data and file (logs/conll_tweets), and one that failed before
    holding any result leaves the run list: its error.txt is under logs/<name>/failed/."""
    result = cli("seqnet-train", "data=conll", "model=many_to_many", "data.source.train_path=tweets.conll")
    assert result.returncode == 2 and "CoNLL file tweets.conll does not exist" in result.stderr
    name = tmp_path / "logs" / "conll_tweets"
    assert not list((name / "runs").glob("*"))
    (failed,) = (name / "failed").iterdir()
    assert "tweets.conll does not exist" in (failed / "error.txt").read_text()
    assert "Traceback" in (failed / "error.txt").read_text()  # the details stay on disk
    assert f"(the traceback is in {failed / 'error.txt'})" in result.stderr
