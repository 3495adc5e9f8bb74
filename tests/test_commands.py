"""The in-process command runner leaves the test process as it found it, so tests stay independent."""

import logging
import os
import signal
import sys

import torch

from tests.commands import run_cli


def test_a_command_run_in_this_process_leaves_it_as_it_found_it(tmp_path):
    before = (
        os.getcwd(), dict(os.environ), list(sys.path), list(logging.getLogger().handlers),
        signal.getsignal(signal.SIGTERM), torch.get_num_threads(), torch.get_rng_state(),
    )  # fmt: skip
    result = run_cli(
        "seqnet-train", "debug=fast", "process.num_threads=1", "seed=3", f"hydra.run.dir={tmp_path / 'run'}",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "run directory:" in result.stdout and (tmp_path / "run" / "metrics.json").is_file()
    after = (
        os.getcwd(), dict(os.environ), list(sys.path), list(logging.getLogger().handlers),
        signal.getsignal(signal.SIGTERM), torch.get_num_threads(), torch.get_rng_state(),
    )  # fmt: skip
    assert after[:-1] == before[:-1] and torch.equal(after[-1], before[-1])


def test_a_failing_command_reports_its_exit_status_and_message(tmp_path):
    result = run_cli("seqnet-train", "model.encoder.hiden_size=8", cwd=tmp_path)
    assert result.returncode == 2 and "unknown config key 'model.encoder.hiden_size'" in result.stderr
