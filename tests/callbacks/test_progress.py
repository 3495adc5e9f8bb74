"""Progress without a terminal is a line per epoch, not redrawn bars; `callbacks.progress_bar=null`
prints none."""

import io

import pytest
from lightning.pytorch.callbacks import TQDMProgressBar

from seqnet.callbacks import EpochLines, progress_bar
from tests.commands import run_cli

SHORT = ("trainer.max_epochs=2", "+trainer.limit_train_batches=2", "+trainer.limit_val_batches=1",
         "+trainer.limit_test_batches=1")  # fmt: skip


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_at_a_terminal_and_lines_elsewhere(monkeypatch):
    monkeypatch.setattr("sys.stderr", Terminal())
    assert isinstance(progress_bar(), TQDMProgressBar)
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert isinstance(progress_bar(), EpochLines)


@pytest.mark.parametrize("switch", [(), ("callbacks.progress_bar=null",)], ids=["default", "null"])
def test_a_redirected_run_prints_a_line_per_epoch_or_nothing_when_switched_off(tmp_path, switch):
    result = run_cli("seqnet-train", *SHORT, *switch, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    printed = result.stdout + result.stderr
    assert "\r" not in printed and "it/s]" not in printed
    lines = [line for line in printed.splitlines() if line.startswith("epoch ")]
    if switch:
        assert lines == []
    else:
        assert [line.split("  ")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
        assert all("val/loss" in line for line in lines)
        assert "train/acc" in lines[-1]  # two-batch epochs pool their training metrics to the end
