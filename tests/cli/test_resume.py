"""A run continues in place and exactly: `seqnet-train resume=<run dir>` after a SIGKILL between two
checkpoints ends with the weights and metrics of the run that was never stopped; a run directory
is written by one run only; the same seed gives the same metrics."""

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from seqnet.cli.resume import run_arguments
from seqnet.errors import InputError
from tests.commands import run_cli

ROOT = Path(__file__).resolve().parents[2]
SHORT = (
    "trainer.max_epochs=3", "++trainer.limit_train_batches=6", "++trainer.limit_val_batches=2",
    "++trainer.limit_test_batches=1", "callbacks.step_checkpoint.every_n_train_steps=2",
    "callbacks.progress_bar=null",
)  # fmt: skip
MANY_TO_ONE = ("model.encoder.num_layers=2", "model.encoder.dropout=0.3")  # the default: JapaneseVowels
PER_STEP = ("experiment=sine_denoise", "model.dropout=0.3")
STATEFUL_TBPTT = (  # two chunks a batch, the streams' state carried from batch to batch
    "experiment=shakespeare_char", "data.stateful=true", "model.tbptt_steps=32", "data.source.seq_len=64",
    "data.batch_size=8", "model.encoder.hidden_size=32", "model.dropout=0.3",
    "trainer.val_check_interval=1.0",
)  # fmt: skip


def assert_ok(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stderr[-3000:]


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "task", [MANY_TO_ONE, PER_STEP, STATEFUL_TBPTT], ids=["many_to_one", "per_step", "stateful_tbptt"]
)
def test_a_run_killed_between_checkpoints_resumes_to_the_weights_and_metrics_of_an_unbroken_run(
    tmp_path, monkeypatch, task
):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the SlowSteps callback below imports from tests/
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    paced = [*SHORT, *task, "+callbacks.pacing._target_=tests.cli.faults.SlowSteps"]
    unbroken, killed = tmp_path / "unbroken", tmp_path / "killed"
    assert_ok(run_cli("seqnet-train", *paced, f"hydra.run.dir={unbroken}", cwd=tmp_path, process=True))

    executable = Path(sys.executable).parent / "seqnet-train"
    env = {**os.environ, "SEQNET_LOG_DIR": str(tmp_path / "logs"), "PYTHONWARNINGS": "ignore"}
    process = subprocess.Popen(
        [str(executable), *paced, f"hydra.run.dir={killed}"], cwd=tmp_path, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    first = killed / "checkpoints" / "step.ckpt"
    deadline = time.monotonic() + 120
    while not first.is_file() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    delay = random.uniform(0.0, 2.0)  # 18 steps of 0.2 s: the kill lands before step 14
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL, stderr[-3000:]
    assert not (killed / "metrics.json").exists(), f"the run ended before the kill ({delay:.2f} s)"

    resumed = run_cli("seqnet-train", f"resume={killed}", cwd=tmp_path, process=True)
    assert_ok(resumed)
    expected, found = weights(unbroken), weights(killed)
    assert expected.keys() == found.keys()
    worst = max((expected[k] - found[k]).abs().max().item() for k in expected)
    assert worst <= 1e-6, f"killed {delay:.2f} s after the first step checkpoint"
    metrics = [json.loads((run / "metrics.json").read_text()) for run in (unbroken, killed)]
    assert metrics[0] == metrics[1]
    assert "test/loss" in metrics[1]


def fake_run(run_dir: Path, overrides: list[str], steps: dict[str, int]) -> Path:
    """A run directory as seqnet-train leaves it: its overrides, and checkpoints at these steps."""
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    (run_dir / "checkpoints").mkdir()
    for name, step in steps.items():
        torch.save({"global_step": step}, run_dir / "checkpoints" / name)
        time.sleep(0.01)  # distinct modification times, oldest first
    return run_dir


def test_resume_brings_back_the_runs_overrides_and_its_newest_checkpoint_and_later_arguments_win(tmp_path):
    run = fake_run(
        tmp_path / "run",
        [
            "model/encoder=gru",
            "trainer.max_epochs=5",
            f"hydra.run.dir={tmp_path / 'run'}",
            "ckpt_path=x.ckpt",
        ],
        {"best.ckpt": 900, "step.ckpt": 500, "last.ckpt": 480, "step-v1.ckpt": 600},
    )
    (run / "checkpoints" / "step.ckpt.tmp").write_bytes(b"cut short by a kill")
    assert run_arguments([f"resume={run}", "trainer.max_epochs=9"]) == [
        "model/encoder=gru", "trainer.max_epochs=9", f"hydra.run.dir={run}",
        f"ckpt_path={run / 'checkpoints' / 'step-v1.ckpt'}", f"resume={run}",
    ]  # fmt: skip


def test_on_equal_steps_resume_takes_the_newest_file(tmp_path):
    run = fake_run(tmp_path / "run", [], {"step.ckpt": 500, "last.ckpt": 500})
    assert run_arguments([f"resume={run}"])[-2] == f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}"


@pytest.mark.parametrize(
    ("prepare", "message"),
    [
        (lambda run: run.mkdir(), "is not a seqnet-train run directory (it has no .hydra/overrides.yaml)"),
        (lambda run: fake_run(run, [], {}), "holds no readable checkpoint to continue from"),
    ],
)
def test_resume_refuses_a_directory_it_cannot_continue(tmp_path, prepare, message):
    prepare(tmp_path / "run")
    with pytest.raises(InputError, match=re.escape(message)):
        run_arguments([f"resume={tmp_path / 'run'}"])


def test_a_directory_that_holds_a_run_is_written_only_through_resume(tmp_path, cli):
    run = fake_run(tmp_path / "run", [], {"last.ckpt": 10})
    result = cli("seqnet-train", "debug=fast", f"hydra.run.dir={run}")
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"hydra.run.dir={run} already holds a run; continue it with `seqnet-train resume={run}`" in (
        result.stderr
    )
    assert sorted(p.name for p in run.iterdir()) == [".hydra", "checkpoints"]  # nothing written there
    failed = tmp_path / "failed"  # a run that failed before its first checkpoint leaves its place free
    (failed / ".hydra").mkdir(parents=True)
    (failed / "error.txt").write_text("seqnet-train: error: ...")
    assert run_arguments([f"hydra.run.dir={failed}"]) == [f"hydra.run.dir={failed}"]


def test_the_same_seed_and_config_give_the_same_metrics_twice(cli, tmp_path):
    overrides = ("debug=fast", "trainer.limit_train_batches=4", "model.encoder.dropout=0.3",
                 "model.encoder.num_layers=2")  # fmt: skip
    runs = [tmp_path / "first", tmp_path / "second"]
    for run in runs:
        assert_ok(cli("seqnet-train", *overrides, f"hydra.run.dir={run}"))
    first, second = (json.loads((run / "metrics.json").read_text()) for run in runs)
    assert first == second and "test/loss" in first


def test_a_run_continued_from_its_step_checkpoint_still_validates_the_epoch_it_was_stopped_in(cli, tmp_path):
    """No step checkpoint at an epoch's last batch: Lightning, continuing from one, would end that
    epoch without validating, and early stopping would fail for want of val/loss."""
    run = tmp_path / "run"
    steps = [o for o in SHORT if not o.startswith("trainer.max_epochs")]  # 6 steps, step.ckpt every 2
    assert_ok(cli("seqnet-train", "trainer.max_epochs=1", *steps, f"hydra.run.dir={run}"))
    step = torch.load(run / "checkpoints" / "step.ckpt", weights_only=True, map_location="cpu")
    assert step["global_step"] == 4  # of 6: the epoch's last step is in last.ckpt, after validation
    for written in ("last.ckpt", "best.ckpt", "metrics.json"):  # as if killed after step 4
        (run / "checkpoints" / written if written.endswith("ckpt") else run / written).unlink()
    assert_ok(cli("seqnet-train", f"resume={run}", "trainer.max_epochs=2"))
    assert "val/loss" in json.loads((run / "metrics.json").read_text())


# Where Ctrl-C lands (a Lightning hook, epoch, batch): each must continue to the unbroken run; the
# second set runs in the slow suite.
CTRL_C_POINTS = {
    "mid_epoch_training_step": ("on_train_batch_start", 1, 2),
    "during_validation": ("on_validation_batch_start", 1, 0),
    "while_testing": ("on_test_batch_start", 0, 0),
}
CTRL_C_POINTS_SLOW = {
    "before_the_first_validation": ("on_train_batch_end", 0, 1),
    "in_the_optimizer_step": ("on_before_optimizer_step", 1, 0),
    "epoch_last_step": ("on_train_batch_start", 1, 3),
    "validation_start": ("on_validation_start", 1, 0),
    "validation_end": ("on_validation_end", 1, 0),
    "epoch_end": ("on_train_epoch_end", 1, 0),
    "sanity_check": ("on_sanity_check_start", 0, 0),
}
# The default config with early stopping that matters (patience 1) and a step checkpoint per 2.
EARLY_STOPPING = (
    *(o for o in SHORT if not o.startswith("++trainer.limit_train_batches")),
    "++trainer.limit_train_batches=4", *MANY_TO_ONE, "callbacks.early_stopping.patience=1",
)  # fmt: skip


@pytest.fixture
def at_a_terminal():
    """SIGINT raising KeyboardInterrupt, as in a terminal (a job started in the background, the test
    suite's included, inherits it ignored, and seqnet then leaves it ignored)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.fixture(scope="module")
def unbroken_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("unbroken") / "run"
    assert_ok(run_cli("seqnet-train", *EARLY_STOPPING, f"hydra.run.dir={run}", cwd=run.parent))
    return run


def press_ctrl_c(run: Path, point: tuple[str, int, int], *extra: str) -> subprocess.CompletedProcess:
    """A run of EARLY_STOPPING (and `extra`) in `run` with Ctrl-C pressed once at `point` (hook,
    epoch, batch)."""
    hook, epoch, batch = point
    return run_cli(
        "seqnet-train", *EARLY_STOPPING, *extra, "+callbacks.ctrl_c._target_=tests.cli.faults.CtrlC",
        f"+callbacks.ctrl_c.hook={hook}", f"+callbacks.ctrl_c.epoch={epoch}",
        f"+callbacks.ctrl_c.batch={batch}",
        f"+callbacks.ctrl_c.marker={run.parent / 'pressed'}", f"hydra.run.dir={run}", cwd=run.parent,
    )  # fmt: skip


def ctrl_c_and_resume(run: Path, point: tuple[str, int, int], *extra: str) -> subprocess.CompletedProcess:
    """Press Ctrl-C at `point` of a run of EARLY_STOPPING in `run`, then `seqnet-train resume=run`."""
    pressed = press_ctrl_c(run, point, *extra)
    assert pressed.returncode == 130, pressed.stderr[-3000:]
    assert f"to continue from its checkpoint: seqnet-train resume={run}" in pressed.stderr
    return run_cli("seqnet-train", f"resume={run}", cwd=run.parent)


def assert_same_run(unbroken: Path, resumed: Path) -> None:
    expected, found = weights(unbroken), weights(resumed)
    assert max((expected[k] - found[k]).abs().max().item() for k in expected) <= 1e-6
    metrics = [json.loads((run / "metrics.json").read_text()) for run in (unbroken, resumed)]
    assert metrics[0] == metrics[1] and "test/loss" in metrics[1] and "val/loss" in metrics[1]


@pytest.mark.parametrize(
    "point",
    [
        *(pytest.param(point, id=name) for name, point in CTRL_C_POINTS.items()),
        *(pytest.param(point, id=name, marks=pytest.mark.slow) for name, point in CTRL_C_POINTS_SLOW.items()),
    ],
)
def test_ctrl_c_anywhere_resumes_to_the_unbroken_run_with_early_stopping_on(
    tmp_path, unbroken_run, point, at_a_terminal
):
    resumed = ctrl_c_and_resume(tmp_path / "run", point)
    assert_ok(resumed)
    assert_same_run(unbroken_run, tmp_path / "run")


def test_a_job_that_ignores_sigint_keeps_ignoring_it(tmp_path, unbroken_run):
    """nohup and background jobs start with SIGINT ignored: a Ctrl-C meant for the terminal's
    foreground does not stop them."""
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        result = press_ctrl_c(tmp_path / "run", CTRL_C_POINTS["mid_epoch_training_step"])
    finally:
        signal.signal(signal.SIGINT, before)
    assert_ok(result)
    assert (tmp_path / "pressed").is_file()  # it was pressed, and ignored
    assert_same_run(unbroken_run, tmp_path / "run")


@pytest.mark.slow
def test_ctrl_c_in_a_validation_inside_the_epoch_stops_at_the_next_training_step(tmp_path, at_a_terminal):
    """With validation twice an epoch, the first one is not the epoch's end: the run goes on to the
    next training step and stops there, and resumes to the unbroken run."""
    inside = "+trainer.val_check_interval=2"
    unbroken = tmp_path / "unbroken"
    assert_ok(run_cli("seqnet-train", *EARLY_STOPPING, inside, f"hydra.run.dir={unbroken}", cwd=tmp_path))
    pressed = press_ctrl_c(tmp_path / "run", ("on_validation_end", 1, 0), inside)
    assert "stopped by Ctrl-C at epoch 1, step 7" in pressed.stderr  # the step after, not the epoch's end (8)
    assert_ok(run_cli("seqnet-train", f"resume={tmp_path / 'run'}", cwd=tmp_path))
    assert_same_run(unbroken, tmp_path / "run")
